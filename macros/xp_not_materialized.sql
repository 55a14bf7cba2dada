{#- The hint that lets a CTE read more than once be inlined at each reference: DuckDB
    otherwise holds its whole result. Postgres plans better with the CTE held, and Spark
    inlines CTEs anyway: no hint on either. -#}
{% macro xp_not_materialized() -%}
    {{ return(adapter.dispatch('xp_not_materialized', 'experiment_analysis')()) }}
{%- endmacro %}

{% macro default__xp_not_materialized() -%}
{%- endmacro %}

{% macro duckdb__xp_not_materialized() -%}
    not materialized
{%- endmacro %}
