{#- The engine's type of each result-table column type (analysis_py/result_tables.py), from
    dbt's cross-database type macros and xp_type_double. Computed once per write. -#}
{% macro xp_write_results_types() -%}
    {{ return({
        'text': dbt.type_string(),
        'bigint': dbt.type_bigint(),
        'double': experiment_analysis.xp_type_double(),
        'boolean': dbt.type_boolean(),
        'timestamp': dbt.type_timestamp(),
        'date': 'date',
    }) }}
{%- endmacro %}
