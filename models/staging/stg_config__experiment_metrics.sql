{{ config(enabled=xp_enabled()) }}
{#- The metrics of every configured experiment, with their windows and the experiment's
    pre-exposure lookback, from the experiment config (var xp_config). -#}
{%- set config = xp_config() %}
{%- set metrics = {} %}
{%- for metric in config['metrics'] %}
    {%- do metrics.update({metric['id']: metric}) %}
{%- endfor %}
with

experiment_metrics as (
    {%- for experiment in config['experiments'] %}
    {%- set outer_loop = loop %}
    {%- for metric_id in experiment['metrics'] %}
    {%- set metric = metrics[metric_id] %}
    select
        cast({{ xp_string_literal(experiment['id']) }} as {{ dbt.type_string() }}) as experiment_id,
        cast({{ xp_string_literal(metric['id']) }} as {{ dbt.type_string() }}) as metric_id,
        cast({{ xp_string_literal(metric['event_name']) }} as {{ dbt.type_string() }}) as event_name,
        cast({{ xp_string_literal(metric['aggregation']) }} as {{ dbt.type_string() }}) as aggregation,
        cast({{ metric['window_start_seconds'] | int }} as {{ dbt.type_bigint() }})
            as window_start_seconds,
        cast({{ metric['window_end_seconds'] | int }} as {{ dbt.type_bigint() }})
            as window_end_seconds,
        cast({{ xp_string_literal(metric['threshold_of']) if metric.get('threshold_of') else 'null' }}
            as {{ dbt.type_string() }}) as threshold_of,
        cast({{ metric['threshold_at_least'] | float if metric.get('threshold_at_least') is not none else 'null' }}
            as {{ xp_type_double() }}) as threshold_at_least,
        cast({{ experiment['lookback_days'] | int }} as {{ dbt.type_int() }}) as lookback_days
    {%- if not (loop.last and outer_loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
)

select * from experiment_metrics
