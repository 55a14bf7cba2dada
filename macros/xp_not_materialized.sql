{#- The hint that lets a CTE referenced more than once be inlined at each reference, where
    the engine would otherwise hold its whole result:
    - DuckDB materialises such a CTE: fct_variant_metric_daily_statistics reads the subject
      facts three times, and holding them took 50M rows and ~5 GB at 50M events (build
      40 s, 15.7 GB peak; inlined: 25 s, 10.7 GB).
    - Postgres materialises them too, and should: inlining the subject-facts view at each
      reference gave plans that took 140 s on the demo instead of under one. No hint.
    - Spark has no such syntax, and inlines CTEs anyway. -#}
{% macro xp_not_materialized() -%}
    {{ return(adapter.dispatch('xp_not_materialized', 'experiment_analysis')()) }}
{%- endmacro %}

{% macro default__xp_not_materialized() -%}
{%- endmacro %}

{% macro duckdb__xp_not_materialized() -%}
    not materialized
{%- endmacro %}
