{#- The value of a group of a subject's events of one metric (one day, in
    int_subject_metric_days), by the metric's aggregation: sum of values (nulls ignored),
    number of events (value ignored), 1 for conversion, retention and distinct_days (the day counts
    once), and for threshold the count or sum it is judged on (`threshold_of`). -#}
{% macro xp_metric_value(aggregation, value, condition, threshold_of='threshold_of') -%}
    case
        when {{ aggregation }} = 'sum'
            or ({{ aggregation }} = 'threshold' and {{ threshold_of }} = 'sum')
            then coalesce(sum(case when {{ condition }} then {{ value }} end), 0)
        when {{ aggregation }} in ('count', 'threshold')
            then sum(case when {{ condition }} then 1 else 0 end)
        else max(case when {{ condition }} then 1 else 0 end)
    end
{%- endmacro %}
