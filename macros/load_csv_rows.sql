{#- dbt's seed loader, rendered once per batch rather than once per cell. dbt's own versions
    (dbt-adapters' default, used by Postgres; dbt-spark's) call get_binding_char() (and on
    Spark adapter.convert_type()) for every cell of every row: on the demo's 46,000 events
    that is 370,000 macro calls, 30 s of Jinja on Postgres for a 2 MB file. These write the
    same statements with the same bindings, building the row's placeholders once.
    dbt searches the root project's macros first, under each of the adapter's prefixes, then
    its own: a `default__` version here would replace DuckDB's, Snowflake's and BigQuery's own
    loaders, hence one per adapter. Redshift takes the Postgres one (its parent; it has no
    loader of its own). Only where this project is the one being run, not as a package. -#}

{% macro postgres__load_csv_rows(model, agate_table) %}
    {%- set placeholders = [] -%}
    {%- for column_name in agate_table.column_names -%}
        {%- do placeholders.append(get_binding_char()) -%}
    {%- endfor -%}
    {{ return(xp_insert_csv_rows(model, agate_table, placeholders, with_columns=true)) }}
{% endmacro %}

{#- Spark casts each placeholder to the seed column's type (as dbt-spark does). Databricks
    would take this version before its adapter's own, which overwrites the table with its
    first batch: it is handed back to that. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- if adapter.type() == 'databricks' -%}
        {{ return(dbt.databricks__load_csv_rows(model, agate_table)) }}
    {%- endif -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set placeholders = [] -%}
    {%- for column_name in agate_table.column_names -%}
        {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
        {%- set type = column_override.get(column_name, inferred_type) -%}
        {%- do placeholders.append('cast(' ~ get_binding_char() ~ ' as ' ~ type ~ ')') -%}
    {%- endfor -%}
    {{ return(xp_insert_csv_rows(model, agate_table, placeholders, with_columns=false)) }}
{% endmacro %}

{#- One insert per batch of rows, each row's placeholders as given; returns the first
    statement, which dbt writes to the compiled files. -#}
{% macro xp_insert_csv_rows(model, agate_table, placeholders, with_columns) %}
    {%- set row_sql = '(' ~ placeholders | join(',') ~ ')' -%}
    {%- set columns_sql = get_seed_column_quoted_csv(model, agate_table.column_names) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set bindings = [] -%}
        {%- for row in chunk -%}
            {%- do bindings.extend(row) -%}
        {%- endfor -%}
        {%- set sql -%}
            insert into {{ this.render() }} {% if with_columns %}({{ columns_sql }}) {% endif -%}
            values {{ ([row_sql] * (chunk | length)) | join(',') }}
        {%- endset -%}
        {%- do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
