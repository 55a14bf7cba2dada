{#- The plan `xp plan` asks for, passed as the var xp_plan (analysis_py/planning.py,
    plan_dbt_vars): per proposed experiment its metrics, population and the literal time
    bounds of its pseudo-exposures and of the events they read. Kept apart from xp_config,
    so that planning changes neither the config hash nor what `xp run` builds. -#}
{% macro xp_plan() -%}
    {%- set plan = var('xp_plan', none) -%}
    {%- if plan is string -%}
        {%- set plan = fromjson(plan) -%}
    {%- endif -%}
    {{ return(plan or {'experiments': []}) }}
{%- endmacro %}

{#- The planning models build only for `xp plan` (with both vars). -#}
{% macro xp_plan_enabled() -%}
    {{ return(xp_enabled() and var('xp_plan', none) is not none) }}
{%- endmacro %}

{#- A timestamp literal from a validated 'YYYY-MM-DD HH:MM:SS' text. -#}
{% macro xp_plan_timestamp(text) -%}
    cast({{ xp_string_literal(text) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The event sources the planned experiments' metrics read, as xp_event_sources_in_use
    describes them. -#}
{% macro xp_plan_event_sources() -%}
    {%- set used = [] -%}
    {%- for experiment in xp_plan()['experiments'] -%}
        {%- for metric in experiment['metrics'] if metric['source'] not in used -%}
            {%- do used.append(metric['source']) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(xp_event_sources_in_use() | selectattr('id', 'in', used) | list) }}
{%- endmacro %}

{#- The rows of one event source in the columns of stg_experimentation__events (subject_id,
    event_name where the source has one, event_at, value, filter columns), between two
    literal times, so that an engine can prune partitions by them. -#}
{% macro xp_plan_event_rows(event_source, events_from, events_to) -%}
    {%- if event_source['id'] == 'events' -%}
    select * from {{ ref('stg_experimentation__events') }}
    where
        event_at >= {{ xp_plan_timestamp(events_from) }}
        and event_at < {{ xp_plan_timestamp(events_to) }}
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
    from {{ relation }}
    where
        {{ event_at }} >= {{ xp_plan_timestamp(events_from) }}
        and {{ event_at }} < {{ xp_plan_timestamp(events_to) }}
    {%- endif -%}
{%- endmacro %}
