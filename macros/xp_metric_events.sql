{#- How a metric's events meet its subjects, shared by the analysis
    (int_metric_events_joined_to_exposures) and the plan (fct_plan_metric_statistics), so
    that a plan reads the history exactly as the analysis will read the experiment. -#}

{#- The rows of one event source in the columns of stg_experimentation__events (subject_id,
    event_name where the source has one, event_at, value, filter columns), where the
    caller's time condition holds. The call block gets the expression of the event's UTC
    time: `{% call(event_at) xp_event_source_rows(event_source) %}...{% endcall %}`.
    `scanned` names what a declared source is read from (an import CTE of it), by default
    the source itself. -#}
{% macro xp_event_source_rows(event_source, scanned=none) -%}
    {%- if event_source['id'] == 'events' -%}
    select * from {{ ref('stg_experimentation__events') }}
    where {{ caller('event_at') }}
    {%- else -%}
    {%- set relation = source(event_source['source_name'], event_source['table_name']) -%}
    {%- set event_at = xp_utc_timestamp(relation, event_source['timestamp_column']) -%}
    select
        cast({{ adapter.quote(event_source['subject_id_column']) }} as {{ dbt.type_string() }})
            as subject_id,
        {%- if event_source['event_name_column'] %}
        cast({{ adapter.quote(event_source['event_name_column']) }} as {{ dbt.type_string() }})
            as event_name,
        {%- endif %}
        {{ event_at }} as event_at,
        {%- if event_source['value_column'] %}
        cast({{ adapter.quote(event_source['value_column']) }} as {{ xp_type_double() }})
            as value
        {%- else %}
        cast(null as {{ xp_type_double() }}) as value
        {%- endif %}
        {%- for column in xp_event_filter_columns(event_source['id']) %},
        {{ adapter.quote(column) }} as {{ column }}{% endfor %}
    from {{ scanned or relation }}
    where
        {{ caller(event_at) }}
    {%- endif -%}
{%- endmacro %}

{#- One event source's events (the relation `events`, shaped by xp_event_source_rows)
    joined to the exposures of the metrics that read them: each event to its subject's
    exposures, then to each metric of the exposure's experiment that reads this source (and
    the event's name) and whose filters the event passes, with the whole seconds from
    `exposures`.`exposed_at` to the event (macros/xp_seconds_between.sql). The exposure's `exposure_columns` come first. -#}
{% macro xp_events_joined_to_exposures(
        event_source, events, exposures, exposed_at, exposure_columns, metrics) -%}
    select
        {%- for column in exposure_columns %}
        {{ exposures }}.{{ column }},
        {%- endfor %}
        {{ metrics }}.metric_id,
        {{ metrics }}.window_start_seconds,
        {{ metrics }}.window_end_seconds,
        {{ metrics }}.lookback_days,
        events.event_at,
        events.value,
        {{ xp_seconds_between(exposures ~ '.' ~ exposed_at, 'events.event_at') }}
            as seconds_since_exposure
    from {{ events }} as events
    inner join {{ exposures }}
        on events.subject_id = {{ exposures }}.subject_id
    inner join {{ metrics }}
        on {{ exposures }}.experiment_id = {{ metrics }}.experiment_id
        and {{ metrics }}.source_id = {{ xp_string_literal(event_source['id']) }}
        {%- if event_source['id'] == 'events' or event_source['event_name_column'] %}
        and events.event_name = {{ metrics }}.event_name
        {%- endif %}
    where {{ xp_metric_filter_condition(metrics ~ '.metric_id', 'events',
                                        event_source['id']) }}
{%- endmacro %}
