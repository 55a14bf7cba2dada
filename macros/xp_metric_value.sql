{#- A subject's value of a metric, aggregated over the rows where `condition` holds, by the
    metric's aggregation (a column, constant within the group):
    sum = sum of value (nulls ignored, 0 without events), count = number of events (value
    ignored), conversion = 1 if any event, else 0. -#}
{% macro xp_metric_value(aggregation, value, condition) -%}
    case {{ aggregation }}
        when 'sum' then coalesce(sum(case when {{ condition }} then {{ value }} end), 0)
        when 'count' then sum(case when {{ condition }} then 1 else 0 end)
        when 'conversion' then max(case when {{ condition }} then 1 else 0 end)
    end
{%- endmacro %}
