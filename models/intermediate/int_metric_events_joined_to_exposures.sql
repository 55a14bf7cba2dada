{{ config(enabled=xp_enabled()) }}
{#- Each event source (the input contract's events table, and each declared event source
    that a metric reads, renamed to the same columns) is scanned once for all its metrics. -#}
{%- set event_sources = xp_event_sources_in_use() %}
{%- for event_source in event_sources
        if var('xp_demo_data') and event_source.get('source_name') == 'experimentation' %}
{#- A demo source is a seed, demo_<table>: load it first. #}
-- depends_on: {{ ref('demo_' ~ event_source['table_name']) }}
{%- endfor %}
with

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
    where is_analysed
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),
{%- for event_source in event_sources %}
{%- set suffix = event_source['id'] %}

{%- if event_source['id'] == 'events' %}

events_{{ suffix }} as (
    select * from {{ ref('stg_experimentation__events') }}
    where {{ xp_before_analysis_at('event_at') }}
),
{%- else %}

source_{{ suffix }} as (
    select * from {{ source(event_source['source_name'], event_source['table_name']) }}
    where
        {{ xp_event_partition_condition(event_source.get('partition_date_column'),
                                        event_source['id']) }}
),

events_{{ suffix }} as (
    select
        cast({{ adapter.quote(event_source['subject_id_column']) }} as {{ dbt.type_string() }})
            as subject_id,
        {%- if event_source['event_name_column'] %}
        cast({{ adapter.quote(event_source['event_name_column']) }} as {{ dbt.type_string() }})
            as event_name,
        {%- endif %}
        {{ xp_utc_timestamp(source(event_source['source_name'], event_source['table_name']),
                            event_source['timestamp_column']) }} as event_at,
        {%- if event_source['value_column'] %}
        cast({{ adapter.quote(event_source['value_column']) }} as {{ xp_type_double() }})
            as value
        {%- else %}
        cast(null as {{ xp_type_double() }}) as value
        {%- endif %}
        {%- for column in xp_event_filter_columns(event_source['id']) %},
        {{ adapter.quote(column) }} as {{ column }}{% endfor %}
    from source_{{ suffix }}
    where
        {{ xp_before_analysis_at(xp_utc_timestamp(
            source(event_source['source_name'], event_source['table_name']),
            event_source['timestamp_column'])) }}
        and {{ xp_event_time_condition(xp_utc_timestamp(
            source(event_source['source_name'], event_source['table_name']),
            event_source['timestamp_column']), event_source['id']) }}
),
{%- endif %}

joined_{{ suffix }} as (
    select
        exposures.experiment_id,
        exposures.subject_id,
        exposures.subject_key,
        exposures.first_exposed_at,
        experiment_metrics.metric_id,
        experiment_metrics.window_start_seconds,
        experiment_metrics.window_end_seconds,
        experiment_metrics.lookback_days,
        events.event_at,
        events.value,
        {{ dbt.datediff('exposures.first_exposed_at', 'events.event_at', 'second') }}
            as seconds_since_exposure
    from events_{{ suffix }} as events
    inner join exposures
        on events.subject_id = exposures.subject_id
    inner join experiment_metrics
        on exposures.experiment_id = experiment_metrics.experiment_id
        and experiment_metrics.source_id = {{ xp_string_literal(event_source['id']) }}
        {%- if event_source['id'] == 'events' or event_source['event_name_column'] %}
        and events.event_name = experiment_metrics.event_name
        {%- endif %}
    where {{ xp_metric_filter_condition('experiment_metrics.metric_id', 'events',
                                        event_source['id']) }}
),
{%- endfor %}

events_joined as (
    {%- for event_source in event_sources %}
    select * from joined_{{ event_source['id'] }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        experiment_id,
        subject_id,
        subject_key,
        first_exposed_at,
        metric_id,
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
