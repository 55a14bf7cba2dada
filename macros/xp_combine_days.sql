{#- A subject's metric value from its day values (int_subject_metric_days) in the rows where
    `condition` holds: days add up for sum, count and distinct_days; conversion and retention
    are 1 if any day has it; threshold is 1 when the added-up count or sum reaches
    `threshold_at_least`.
    0 without such days. -#}
{% macro xp_combine_days(aggregation, condition, threshold='threshold_at_least') -%}
    case
        when {{ aggregation }} in ('conversion', 'retention')
            then coalesce(max(case when {{ condition }} then day_value end), 0)
        when {{ aggregation }} = 'threshold' then case
            when coalesce(sum(case when {{ condition }} then day_value end), 0)
                >= max({{ threshold }}) then 1 else 0 end
        else coalesce(sum(case when {{ condition }} then day_value end), 0)
    end
{%- endmacro %}

{#- A subject's metric value from the running sum of its day values up to a day (the daily
    statistics' replay): what xp_combine_days gives for those days. Conversion and
    retention days are worth 1 each, so the value is 1 once the sum is positive; threshold
    is 1 once the sum reaches `threshold_at_least`; the others are the sum. -#}
{% macro xp_value_of_running_sum(aggregation, running_sum, threshold) -%}
    case
        when {{ aggregation }} in ('conversion', 'retention')
            then case when {{ running_sum }} > 0 then 1 else 0 end
        when {{ aggregation }} = 'threshold'
            then case when {{ running_sum }} >= {{ threshold }} then 1 else 0 end
        else {{ running_sum }}
    end
{%- endmacro %}
