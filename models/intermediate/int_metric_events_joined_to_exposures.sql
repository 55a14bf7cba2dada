{{ config(enabled=xp_enabled()) }}
{#- One row per event, experiment exposure and metric that reads the event: every event of an
    analysed subject (single known variant) whose name a metric of the experiment selects, in
    the pre-exposure lookback or the metric's window. The events are scanned once for all
    metrics. A day is a 24-hour block from first exposure:
    window_start_seconds <= event_at - first_exposed_at < window_end_seconds (the config gives
    windows in 24-hour days or in hours). Events at or after the analysis time (var
    xp_analysis_at) are left out; ratio metrics read no events (their components do). -#}
with

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
    where is_analysed
),

events as (
    select * from {{ ref('stg_experimentation__events') }}
    where {{ xp_before_analysis_at('event_at') }}
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

events_joined as (
    select
        exposures.experiment_id,
        exposures.subject_id,
        experiment_metrics.metric_id,
        experiment_metrics.aggregation,
        experiment_metrics.threshold_of,
        experiment_metrics.window_start_seconds,
        experiment_metrics.window_end_seconds,
        experiment_metrics.lookback_days,
        events.event_at,
        events.value,
        {{ dbt.datediff('exposures.first_exposed_at', 'events.event_at', 'second') }}
            as seconds_since_exposure
    from events
    inner join exposures
        on events.subject_id = exposures.subject_id
    inner join experiment_metrics
        on exposures.experiment_id = experiment_metrics.experiment_id
        and events.event_name = experiment_metrics.event_name
    where {{ xp_metric_filter_condition('experiment_metrics.metric_id', 'events') }}
),

final as (
    select
        experiment_id,
        subject_id,
        metric_id,
        aggregation,
        threshold_of,
        event_at,
        value,
        seconds_since_exposure >= window_start_seconds
        and seconds_since_exposure < window_end_seconds as is_in_window,
        seconds_since_exposure < 0 as is_in_lookback
    from events_joined
    where
        seconds_since_exposure >= -lookback_days * 86400
        and seconds_since_exposure < window_end_seconds
)

select * from final
