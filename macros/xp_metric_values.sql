{#- A metric's value in two steps, so that the subject values, the recent days and the daily
    statistics build it alike: xp_day_value, a subject's value over some of its events, and
    xp_value_of_day_sum, its value from the sum of such values.

    xp_day_value is additive over days: the value of a whole period is the sum of its days'
    values, for every aggregation but distinct_days (1 for each day with events), whose
    period value is summed from its days. Conversion and retention count the events, as
    only whether the sum is positive matters. -#}
{% macro xp_day_value(aggregation, threshold_of, sum_of_values, n_events) -%}
    case
        when {{ aggregation }} = 'sum'
            or ({{ aggregation }} = 'threshold' and {{ threshold_of }} = 'sum')
            then coalesce({{ sum_of_values }}, 0)
        when {{ aggregation }} in ('count', 'threshold', 'conversion', 'retention')
            then {{ n_events }}
        when {{ n_events }} > 0
            then 1
        else 0
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

{#- The condition (SQL) that `metric_id` is a distinct_days metric, from the config's ids
    (a metric id means one definition in every experiment); none when the config has none,
    so that the subject sums skip the day grain. -#}
{% macro xp_is_distinct_days_metric(metric_id) -%}
    {%- set ids = [] -%}
    {%- for metric in xp_config()['metrics'] if metric['aggregation'] == 'distinct_days' -%}
        {%- do ids.append(xp_string_literal(metric['id'])) -%}
    {%- endfor -%}
    {{ return(metric_id ~ ' in (' ~ (ids | join(', ')) ~ ')' if ids else none) }}
{%- endmacro %}
