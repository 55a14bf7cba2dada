{#- A metric's value in two steps, so that the subject values and the daily statistics build
    it alike: xp_day_value, a subject's value on one day (int_subject_metric_days), and
    xp_value_of_day_sum, its value from the sum of some of those days' values. -#}
{% macro xp_day_value(aggregation, threshold_of, sum_of_values, n_events) -%}
    case
        when {{ aggregation }} = 'sum'
            or ({{ aggregation }} = 'threshold' and {{ threshold_of }} = 'sum')
            then coalesce({{ sum_of_values }}, 0)
        when {{ aggregation }} in ('count', 'threshold')
            then {{ n_events }}
        else 1
    end
{%- endmacro %}

{% macro xp_value_of_day_sum(aggregation, day_sum, threshold) -%}
    case
        when {{ aggregation }} in ('conversion', 'retention')
            then case when {{ day_sum }} > 0 then 1 else 0 end
        when {{ aggregation }} = 'threshold'
            then case when {{ day_sum }} >= {{ threshold }} then 1 else 0 end
        else {{ day_sum }}
    end
{%- endmacro %}
