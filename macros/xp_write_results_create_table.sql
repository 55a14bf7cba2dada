{#- A result table, created if it does not exist, with the contract's columns. -#}
{% macro xp_write_results_create_table(relation, columns, types, partition_by=none) -%}
    {{ return(adapter.dispatch('xp_write_results_create_table', 'experiment_analysis')(
        relation, columns, types, partition_by)) }}
{%- endmacro %}

{% macro default__xp_write_results_create_table(relation, columns, types, partition_by) -%}
    create table if not exists {{ relation }} (
        {%- for column in columns %}
        {{ adapter.quote(column.name) }} {{ types[column.type] }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- Spark: Parquet named, as an older Spark would make a Hive text table otherwise; a history
    table is partitioned by date, as its snapshots are replaced by partition. -#}
{% macro spark__xp_write_results_create_table(relation, columns, types, partition_by) -%}
    {{ experiment_analysis.default__xp_write_results_create_table(relation, columns, types, partition_by) }} using parquet
    {%- if partition_by %} partitioned by ({{ adapter.quote(partition_by) }}){% endif %}
{%- endmacro %}
