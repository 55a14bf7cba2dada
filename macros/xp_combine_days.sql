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
