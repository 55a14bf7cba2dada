{{ config(enabled=xp_enabled()) }}
{#- The metrics every configured experiment computes (its listed metrics, plus the
    numerators and denominators of its ratio metrics), with their definitions and the
    experiment's pre-exposure lookback, from the experiment config (var xp_config).
    Ratio metrics have no event name or window: they divide two other rows' metrics.
    events_metric_id: metrics of an experiment that read the same events (source, event
    name, filters, window; distinct_days apart, as it sums by day) share one metric's event
    rows, joined and summed once, and each takes its own value from those sums. -#}
{%- set config = xp_config() %}
{%- set metrics = {} %}
{%- for metric in config['metrics'] %}
{%- do metrics.update({metric['id']: metric}) %}
{%- endfor %}
with

experiment_metrics as (
    {%- for experiment in config['experiments'] %}
    {%- set outer_loop = loop %}
    {%- set events_metric_ids = {} %}
    {%- for metric_id in experiment['metrics'] %}
    {%- set metric = metrics[metric_id] %}
    {%- set events_read = tojson([metric.get('source', 'events'), metric.get('event_name'),
                                  metric.get('filters', []), metric.get('window_start_seconds'),
                                  metric.get('window_end_seconds'),
                                  metric['aggregation'] == 'distinct_days']) %}
    {%- if metric['aggregation'] != 'ratio' and events_read not in events_metric_ids %}
    {%- do events_metric_ids.update({events_read: metric_id}) %}
    {%- endif %}
    select
        {{ xp_config_literal(experiment['id'], dbt.type_string()) }} as experiment_id,
        {{ xp_config_literal(metric['id'], dbt.type_string()) }} as metric_id,
        {{ xp_config_literal(events_metric_ids.get(events_read, metric['id']), dbt.type_string()) }}
            as events_metric_id,
        {{ xp_config_literal(metric.get('source'), dbt.type_string()) }} as source_id,
        {{ xp_config_literal(metric.get('event_name') or none, dbt.type_string()) }}
            as event_name,
        {{ xp_config_literal(metric['aggregation'], dbt.type_string()) }} as aggregation,
        {{ xp_config_literal(metric.get('window_start_seconds'), dbt.type_bigint()) }}
            as window_start_seconds,
        {{ xp_config_literal(metric.get('window_end_seconds'), dbt.type_bigint()) }}
            as window_end_seconds,
        {{ xp_config_literal(metric.get('threshold_of'), dbt.type_string()) }} as threshold_of,
        {{ xp_config_literal(metric.get('threshold_at_least'), xp_type_double()) }}
            as threshold_at_least,
        {{ xp_config_literal(metric.get('winsorize_upper'), xp_type_double()) }}
            as winsorize_upper,
        {{ xp_config_literal(metric.get('winsorize_lower'), xp_type_double()) }}
            as winsorize_lower,
        {{ xp_config_literal(metric.get('matured_subjects_only', false), 'boolean') }}
            as is_matured_subjects_only,
        {{ xp_config_literal(metric.get('numerator'), dbt.type_string()) }}
            as numerator_metric_id,
        {{ xp_config_literal(metric.get('denominator'), dbt.type_string()) }}
            as denominator_metric_id,
        cast({{ experiment['lookback_days'] | int }} as {{ dbt.type_int() }}) as lookback_days,
        {{ xp_config_literal(xp_metric_definition_hash(experiment, metric_id, metrics,
                                                       config['event_sources']),
                             dbt.type_string()) }} as definition_hash
    {%- if not (loop.last and outer_loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
)

select * from experiment_metrics
