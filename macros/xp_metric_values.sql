{#- How a metric's value is built from its events, in two steps (the metric's row of
    stg_config__experiment_metrics supplies aggregation, threshold_of and
    threshold_at_least):

    1. xp_day_value: a subject's value on one day, from the day's sum of event values and
       number of events: the sum (sum, and threshold on a sum), the count (count, and
       threshold on a count), or 1 (conversion, retention, distinct_days: the day counts
       once). int_subject_metric_days stores it.
    2. xp_value_of_day_sum: the subject's value over some of its days, from the sum of
       those days' values: 1 once the sum is positive for conversion and retention (each
       day is worth 1), 1 once it reaches threshold_at_least for threshold, else the sum.
       int_subject_metric_values applies it to all the window's days (and the lookback's,
       for the covariate); the daily statistics to the running sum up to each day. -#}
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
