{#- A subject's metric value from its day values (int_subject_metric_days) in the rows where
    `condition` holds: days add up for sum and count, conversion is 1 if any day has it;
    0 without such days. -#}
{% macro xp_combine_days(aggregation, condition) -%}
    case {{ aggregation }}
        when 'conversion' then coalesce(max(case when {{ condition }} then day_value end), 0)
        else coalesce(sum(case when {{ condition }} then day_value end), 0)
    end
{%- endmacro %}
