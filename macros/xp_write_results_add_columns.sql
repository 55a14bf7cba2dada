{#- The statements that add columns to an existing result table (an earlier version's). -#}
{% macro xp_write_results_add_columns(relation, columns, types) -%}
    {{ return(adapter.dispatch('xp_write_results_add_columns', 'experiment_analysis')(
        relation, columns, types)) }}
{%- endmacro %}

{% macro default__xp_write_results_add_columns(relation, columns, types) -%}
    {%- set statements = [] -%}
    {%- for column in columns -%}
        {%- do statements.append('alter table ' ~ relation ~ ' add column '
                                 ~ adapter.quote(column.name) ~ ' ' ~ types[column.type]) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{#- Spark adds columns in one statement, with its own syntax. -#}
{% macro spark__xp_write_results_add_columns(relation, columns, types) -%}
    {%- set definitions = [] -%}
    {%- for column in columns -%}
        {%- do definitions.append(adapter.quote(column.name) ~ ' ' ~ types[column.type]) -%}
    {%- endfor -%}
    {{ return(['alter table ' ~ relation ~ ' add columns (' ~ definitions | join(', ') ~ ')']) }}
{%- endmacro %}
