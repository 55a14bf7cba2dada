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

{#- One metric of each set that reads the same events (events_metric_id): each event is
    joined once per set, not once per metric. #}
events_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
    where metric_id = events_metric_id
),
{%- for event_source in event_sources %}
{%- set suffix = event_source['id'] %}
{%- if event_source['id'] != 'events' %}

source_{{ suffix }} as (
    select * from {{ source(event_source['source_name'], event_source['table_name']) }}
    where
        {{ xp_event_partition_condition(event_source.get('partition_date_column'),
                                        event_source['id']) }}
),
{%- endif %}

events_{{ suffix }} as (
    {% call(event_at) xp_event_source_rows(event_source, scanned='source_' ~ suffix) -%}
        {{ xp_before_analysis_at(event_at) }}
        {%- if event_source['id'] != 'events' %}
        {#- The contract's events are bounded in stg_experimentation__events. #}
        and {{ xp_event_time_condition(event_at, event_source['id']) }}
        {%- endif %}
    {%- endcall %}
),

joined_{{ suffix }} as (
    {{ xp_events_joined_to_exposures(
        event_source, 'events_' ~ suffix, 'exposures', 'first_exposed_at',
        ['experiment_id', 'subject_id', 'subject_key', 'variant_id', 'first_exposed_at',
         'last_exposed_at'],
        'events_metrics') }}
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
        variant_id,
        first_exposed_at,
        last_exposed_at,
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
