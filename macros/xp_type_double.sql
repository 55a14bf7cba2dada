{#- A 64-bit float. dbt.type_float() is a 32-bit REAL on DuckDB and Spark, too coarse for
    sums of squares; Postgres has no type named "double", Spark none named
    "double precision". Snowflake and Redshift read "double precision" (the default);
    Databricks takes Spark's. -#}
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

{#- BigQuery names its only 64-bit float FLOAT64. -#}
{% macro bigquery__xp_type_double() -%}
    float64
{%- endmacro %}
