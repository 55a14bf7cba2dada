{#- Post-hook for every model: on Postgres, gather planner statistics on a table as soon as
    it is built. Without them the planner takes a fresh table for a tiny one and chooses
    nested loops (the demo's cross-products mart took 9 s instead of well under one).
    Nothing on other engines, and nothing for views. -#}
{% macro xp_analyze_table() -%}
    {{ return(adapter.dispatch('xp_analyze_table', 'experiment_analysis')()) }}
{%- endmacro %}

{% macro default__xp_analyze_table() -%}
{%- endmacro %}

{% macro postgres__xp_analyze_table() -%}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
