{{ config(
    enabled=xp_enabled(),
    materialized=xp_incremental_materialization(),
    incremental_strategy="delete+insert",
    unique_key=["experiment_id", "subject_key", "metric_id", "period", "event_on"],
    on_schema_change="fail",
    pre_hook="{{ xp_avoid_nested_loops() }}",
    post_hook="{{ xp_record_incremental_state() }}",
) }}
{#- The only model that reads the events, so that a run scans them once. Incremental
    (macros/xp_incremental.sql): a night rewrites only the day rows that are new or changed,
    and loaded_at marks them for int_subject_metric_values. -#}
{%- do xp_rebuild_stale_state() %}
{%- set incremental_window = xp_incremental_window(this, ref('int_exposures_deduplicated')) %}
{%- if incremental_window %}
    {%- set reprocess_from = "cast(" ~ xp_string_literal(incremental_window['reprocess_from'])
                             ~ " as " ~ dbt.type_timestamp() ~ ")" %}
    {%- set read_from = "cast(" ~ xp_string_literal(incremental_window['read_from'])
                        ~ " as " ~ dbt.type_timestamp() ~ ")" %}
{%- endif %}
with

metric_events as (
    select * from {{ ref('int_metric_events_joined_to_exposures') }}
    where
        (is_in_window or is_in_lookback){% if incremental_window %}
        and event_at >= {{ read_from }}
        and (
            event_at >= {{ reprocess_from }} or first_exposed_at >= {{ reprocess_from }}
        ){% endif %}
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

day_sums as (
    select
        experiment_id,
        subject_key,
        metric_id,
        case when is_in_window then 'window' else 'lookback' end as period,
        cast(event_at as date) as event_on,
        sum(value) as sum_of_values,
        count(*) as n_events
    from metric_events
    group by
        experiment_id,
        subject_key,
        metric_id,
        case when is_in_window then 'window' else 'lookback' end,
        cast(event_at as date)
),

{# The metric's definition is joined after grouping: fewer group keys, and the table keeps
    only what varies by row. -#}
day_rows as (
    select
        day_sums.experiment_id,
        day_sums.subject_key,
        day_sums.metric_id,
        day_sums.period,
        day_sums.event_on,
        {{ xp_day_value('experiment_metrics.aggregation', 'experiment_metrics.threshold_of',
                        'day_sums.sum_of_values', 'day_sums.n_events') }} as day_value,
        day_sums.n_events,
        cast(
            {{ xp_string_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }}
            as {{ dbt.type_timestamp() }}
        ) as loaded_at
    from day_sums
    inner join experiment_metrics
        on day_sums.experiment_id = experiment_metrics.experiment_id
        and day_sums.metric_id = experiment_metrics.metric_id
),
{%- if incremental_window %}

{# A night re-reads the last days to catch late events, but writes only the day rows that
    are new or changed: loaded_at then marks the subjects whose values can have changed,
    and int_subject_metric_values recomputes those alone (a row with the same day value
    and event count is left as it was). -#}
previous_day_rows as (
    select * from {{ this }}
    where event_on >= cast({{ read_from }} as date)
),

final as (
    select day_rows.*
    from day_rows
    left join previous_day_rows
        on day_rows.experiment_id = previous_day_rows.experiment_id
        and day_rows.subject_key = previous_day_rows.subject_key
        and day_rows.metric_id = previous_day_rows.metric_id
        and day_rows.period = previous_day_rows.period
        and day_rows.event_on = previous_day_rows.event_on
        and day_rows.day_value = previous_day_rows.day_value
        and day_rows.n_events = previous_day_rows.n_events
    where previous_day_rows.subject_key is null
)
{%- else %}

final as (
    select * from day_rows
)
{%- endif %}

select * from final
