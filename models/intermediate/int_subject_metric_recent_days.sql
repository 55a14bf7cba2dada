{{ config(
    enabled=xp_enabled(),
    materialized=xp_incremental_materialization(),
    incremental_strategy="delete+insert",
    unique_key=["experiment_id", "subject_key", "metric_id", "period", "event_on"],
    on_schema_change="fail",
    pre_hook="{{ xp_avoid_nested_loops() }}",
    post_hook=[
        "{{ xp_forget_settled_days() }}",
        "{{ xp_record_incremental_state(settled_rows='events') }}",
    ],
) }}
{#- The subjects' day rows of the last days only, those late events can still change
    (docs/decisions/0016-subject-sums-by-deltas.md): from the analysis date less
    xp_late_data_days. A night reads the events again from the first day the stored rows
    kept, and writes only the day rows that are new or changed, with the values they had
    before: int_subject_metric_values adds the difference to each subject's sums. -#}
{#- A night checks that the events before the days it reads again did not change
    (macros/xp_settled_rows.sql), reading the event sources themselves: #}
-- depends_on: {{ ref('stg_experimentation__events') }}
{%- for event_source in xp_event_sources_in_use() if event_source['id'] != 'events' %}
-- depends_on: {{ source(event_source['source_name'], event_source['table_name']) }}
{%- endfor %}
{%- do xp_rebuild_stale_state(read_by='int_subject_metric_values', settled_rows='events') %}
{%- set stored_from = xp_recent_days_from(of_stored_rows=true) %}
{%- set read_from = stored_from or xp_recent_days_from() %}
with

metric_events as (
    select * from {{ ref('int_metric_events_joined_to_exposures') }}
    where
        (is_in_window or is_in_lookback)
        and event_at >= cast({{ xp_string_literal(read_from) }} as {{ dbt.type_timestamp() }})
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
    only what varies by row. Each metric of the set that reads the events takes its own
    value from the set's sums (events_metric_id). -#}
day_rows as (
    select
        day_sums.experiment_id,
        day_sums.subject_key,
        experiment_metrics.metric_id,
        day_sums.period,
        day_sums.event_on,
        cast(
            {{ xp_day_value('experiment_metrics.aggregation', 'experiment_metrics.threshold_of',
                            'day_sums.sum_of_values', 'day_sums.n_events') }}
            as {{ xp_type_double() }}
        ) as day_value,
        cast(day_sums.n_events as {{ dbt.type_bigint() }}) as n_events
    from day_sums
    inner join experiment_metrics
        on day_sums.experiment_id = experiment_metrics.experiment_id
        and day_sums.metric_id = experiment_metrics.events_metric_id
),
{%- if stored_from %}

previous_day_rows as (
    select * from {{ this }}
    where event_on >= cast({{ xp_string_literal(stored_from) }} as date)
),

{# A row with the same day value and event count is left as it was. -#}
final as (
    select
        day_rows.*,
        cast(coalesce(previous_day_rows.day_value, 0) as {{ xp_type_double() }})
            as previous_day_value,
        cast(coalesce(previous_day_rows.n_events, 0) as {{ dbt.type_bigint() }})
            as previous_n_events,
        {{ xp_run_started_at_sql() }} as loaded_at
    from day_rows
    left join previous_day_rows
        on day_rows.experiment_id = previous_day_rows.experiment_id
        and day_rows.subject_key = previous_day_rows.subject_key
        and day_rows.metric_id = previous_day_rows.metric_id
        and day_rows.period = previous_day_rows.period
        and day_rows.event_on = previous_day_rows.event_on
    where
        previous_day_rows.subject_key is null
        or day_rows.day_value <> previous_day_rows.day_value
        or day_rows.n_events <> previous_day_rows.n_events
)
{%- else %}

final as (
    select
        day_rows.*,
        cast(0 as {{ xp_type_double() }}) as previous_day_value,
        cast(0 as {{ dbt.type_bigint() }}) as previous_n_events,
        {{ xp_run_started_at_sql() }} as loaded_at
    from day_rows
)
{%- endif %}

select * from final
