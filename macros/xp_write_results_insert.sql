{#- Insert one result table's rows, by column name: from its Parquet file where the engine
    reads one (xp_write_results_file), else in batches of bound values, each cast to the
    column's type (as dbt's seeds load rows). -#}
{% macro xp_write_results_insert(relation, table, types) -%}
    {%- set names = experiment_analysis.xp_write_results_names(table.columns) -%}
    {%- if table.file -%}
        {%- do experiment_analysis.xp_write_results_run('insert into ' ~ relation ~ ' (' ~ names ~ ') select ' ~ names ~ ' from '
                         ~ experiment_analysis.xp_write_results_file(table.file)) -%}
    {%- else -%}
        {%- set values = [] -%}
        {%- for column in table.columns -%}
            {%- do values.append('cast(' ~ get_binding_char() ~ ' as ' ~ types[column.type] ~ ')') -%}
        {%- endfor -%}
        {%- set row = '(' ~ values | join(', ') ~ ')' -%}
        {%- for batch in table.batches -%}
            {%- do adapter.add_query('insert into ' ~ relation ~ ' (' ~ names ~ ') values '
                                     ~ ([row] * batch.rows) | join(', '),
                                     bindings=batch.bindings, auto_begin=False,
                                     abridge_sql_log=True) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- A local Parquet file as a relation to select from. -#}
{% macro xp_write_results_file(path) -%}
    {{ return(adapter.dispatch('xp_write_results_file', 'experiment_analysis')(path)) }}
{%- endmacro %}

{% macro default__xp_write_results_file(path) -%}
    {{ exceptions.raise_compiler_error(
        'xp: ' ~ target.type ~ ' reads no local files (xp_write_results_options)') }}
{%- endmacro %}

{% macro duckdb__xp_write_results_file(path) -%}
    read_parquet({{ experiment_analysis.xp_string_literal(path) }})
{%- endmacro %}

{% macro spark__xp_write_results_file(path) -%}
    parquet.`{{ path }}`
{%- endmacro %}
