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
