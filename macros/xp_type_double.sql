{#- A 64-bit float. dbt.type_float() is a 32-bit REAL on DuckDB and Spark, too coarse for
    sums of squares; Postgres has no type named "double", Spark none named
    "double precision". -#}
{% macro xp_type_double() -%}
    {{ return(adapter.dispatch('xp_type_double', 'experiment_analysis')()) }}
{%- endmacro %}

{% macro default__xp_type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__xp_type_double() -%}
    double
{%- endmacro %}

{% macro spark__xp_type_double() -%}
    double
{%- endmacro %}
