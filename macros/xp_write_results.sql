{#- The analysis step's write of the result tables, run through dbt's adapter by
    analysis_py/warehouse/bridge.py, between its begin and its commit (docs/decisions/0013).
    `tables` lists, per latest table: `name`, `columns` ([{name, type}], the contract of
    analysis_py/result_tables.py), `history` (its history table's name, or none), `dates`
    (the analysis dates of its rows), and its rows as `file` (a local Parquet file) or as
    `batches` ([{rows, bindings}]), as xp_write_results_options asks. -#}
{% macro xp_write_results(database, schema, tables) -%}
    {{ return(adapter.dispatch('xp_write_results', 'experiment_analysis')(database, schema, tables)) }}
{%- endmacro %}

{#- Engines whose DDL is transactional (DuckDB, Postgres): every table in place, inside the
    caller's transaction. Readers see the previous rows until the commit, and a host's view
    over a table keeps working, as the table is kept and only its rows are replaced. -#}
{% macro default__xp_write_results(database, schema, tables) -%}
    {%- do create_schema(api.Relation.create(database=database, schema=schema)) -%}
    {%- set types = experiment_analysis.xp_write_results_types() -%}
    {%- set names = [] -%}
    {%- for table in tables -%}
        {%- do names.append(table.name) -%}
        {%- if table.history -%}{%- do names.append(table.history) -%}{%- endif -%}
    {%- endfor -%}
    {%- set existing = experiment_analysis.xp_write_results_columns(database, schema, names) -%}
    {%- for table in tables -%}
        {%- set relation = api.Relation.create(database=database, schema=schema,
                                               identifier=table.name, type='table') -%}
        {%- do experiment_analysis.xp_write_results_prepare(
                relation, table.columns, types, existing.get(table.name | lower)) -%}
        {%- do experiment_analysis.xp_write_results_run('delete from ' ~ relation) -%}
        {%- do experiment_analysis.xp_write_results_insert(relation, table, types) -%}
        {%- if table.history -%}
            {%- set history = relation.incorporate(path={'identifier': table.history}) -%}
            {%- do experiment_analysis.xp_write_results_prepare(
                    history, table.columns, types, existing.get(table.history | lower)) -%}
            {%- set names = experiment_analysis.xp_write_results_names(table.columns) -%}
            {%- if table.dates -%}
                {%- set dates = [] -%}
                {%- for day in table.dates -%}
                    {%- do dates.append('cast(' ~ experiment_analysis.xp_string_literal(day) ~ ' as date)') -%}
                {%- endfor -%}
                {%- do experiment_analysis.xp_write_results_run('delete from ' ~ history ~ ' where analysis_date in ('
                                 ~ dates | join(', ') ~ ')') -%}
            {%- endif -%}
            {%- do experiment_analysis.xp_write_results_run('insert into ' ~ history ~ ' (' ~ names ~ ') select ' ~ names
                             ~ ' from ' ~ relation) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- Spark has no transactions. Every latest table is first written in full under a staging
    name; only then are the histories' snapshots replaced (by overwriting their date's
    partition: Spark deletes no rows from a Parquet table) and the tables swapped in (drop,
    then rename). A failure while staging, the part that moves the rows, leaves the previous
    results as they were; the steps after it read only staged rows and the metastore. -#}
{% macro spark__xp_write_results(database, schema, tables) -%}
    {%- do create_schema(api.Relation.create(database=database, schema=schema)) -%}
    {%- set types = experiment_analysis.xp_write_results_types() -%}
    {%- for table in tables -%}
        {%- set staging = experiment_analysis.xp_write_results_staging(database, schema, table.name) -%}
        {%- do experiment_analysis.xp_write_results_run('drop table if exists ' ~ staging) -%}
        {%- do experiment_analysis.xp_write_results_run(
                experiment_analysis.xp_write_results_create_table(staging, table.columns, types)) -%}
        {%- do experiment_analysis.xp_write_results_insert(staging, table, types) -%}
    {%- endfor -%}
    {%- for table in tables if table.history -%}
        {%- do experiment_analysis.xp_write_results_spark_snapshot(
                experiment_analysis.xp_write_results_staging(database, schema, table.name),
                table, types) -%}
    {%- endfor -%}
    {%- for table in tables -%}
        {%- set staging = experiment_analysis.xp_write_results_staging(database, schema, table.name) -%}
        {%- do experiment_analysis.xp_write_results_run('drop table if exists '
                ~ staging.incorporate(path={'identifier': table.name})) -%}
        {%- do experiment_analysis.xp_write_results_run('alter table ' ~ staging ~ ' rename to '
                ~ staging.incorporate(path={'identifier': table.name})) -%}
    {%- endfor -%}
{%- endmacro %}

{#- The staging table of a result table (Spark). -#}
{% macro xp_write_results_staging(database, schema, name) -%}
    {{ return(api.Relation.create(database=database, schema=schema,
                                  identifier=name ~ '__xp_staging', type='table')) }}
{%- endmacro %}

{#- Replace the snapshots of the staged table's dates in its history table (Spark). An insert
    into a partition is by position: in the table's own column order (added columns come
    after the older ones), with nulls for columns the contract no longer has. -#}
{% macro xp_write_results_spark_snapshot(staging, table, types) -%}
    {%- set history = staging.incorporate(path={'identifier': table.history}) -%}
    {%- set found = adapter.get_columns_in_relation(history) | map(attribute='name') | map('lower') | list -%}
    {%- do experiment_analysis.xp_write_results_prepare(
            history, table.columns, types, found or none, partition_by='analysis_date') -%}
    {%- set existing = adapter.get_columns_in_relation(history) -%}
    {%- set contract = table.columns | map(attribute='name') | list -%}
    {%- set selected = [] -%}
    {%- for column in existing if column.name | lower != 'analysis_date' -%}
        {%- if column.name | lower in contract -%}
            {%- do selected.append(adapter.quote(column.name | lower)) -%}
        {%- else -%}
            {%- do selected.append('cast(null as ' ~ column.dtype ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for day in table.dates -%}
        {%- set day_literal = experiment_analysis.xp_string_literal(day) -%}
        {%- do experiment_analysis.xp_write_results_run('insert overwrite table ' ~ history
                ~ ' partition (analysis_date = ' ~ day_literal ~ ') select '
                ~ selected | join(', ') ~ ' from ' ~ staging
                ~ ' where analysis_date = cast(' ~ day_literal ~ ' as date)') -%}
    {%- endfor -%}
{%- endmacro %}

{#- The table with every contract column: created if it does not exist (`existing` is
    none), else given the columns an earlier version's table lacks (null in its older rows).
    `existing`: the table's column names, lower case. -#}
{% macro xp_write_results_prepare(relation, columns, types, existing, partition_by=none) -%}
    {%- if existing is none -%}
        {%- do experiment_analysis.xp_write_results_run(experiment_analysis.xp_write_results_create_table(
                relation, columns, types, partition_by)) -%}
    {%- else -%}
        {%- set missing = [] -%}
        {%- for column in columns if column.name | lower not in existing -%}
            {%- do missing.append(column) -%}
        {%- endfor -%}
        {%- for statement in (experiment_analysis.xp_write_results_add_columns(relation, missing, types)
                              if missing else []) -%}
            {%- do experiment_analysis.xp_write_results_run(statement) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The column names (lower case) of those of `names` that exist in the schema, by table name
    (lower case): one query of the information schema, rather than one per table. -#}
{% macro xp_write_results_columns(database, schema, names) -%}
    {%- set tables = [] -%}
    {%- for name in names -%}
        {%- do tables.append(experiment_analysis.xp_string_literal(name | lower)) -%}
    {%- endfor -%}
    {%- set query -%}
        select lower(table_name), lower(column_name)
        from information_schema.columns
        where lower(table_schema) = lower({{ experiment_analysis.xp_string_literal(schema) }})
            {%- if database %}
            and lower(table_catalog) = lower({{ experiment_analysis.xp_string_literal(database) }})
            {%- endif %}
            and lower(table_name) in ({{ tables | join(', ') }})
    {%- endset -%}
    {%- set found = {} -%}
    {%- for row in run_query(query) -%}
        {%- do found.setdefault(row[0], []).append(row[1]) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- The columns' quoted names, comma-separated. -#}
{% macro xp_write_results_names(columns) -%}
    {%- set names = [] -%}
    {%- for column in columns -%}
        {%- do names.append(adapter.quote(column.name)) -%}
    {%- endfor -%}
    {{ return(names | join(', ')) }}
{%- endmacro %}

{#- Run one statement of the write on the caller's connection, inside its transaction (no
    result is fetched). -#}
{% macro xp_write_results_run(sql) -%}
    {%- do adapter.add_query(sql, auto_begin=False) -%}
{%- endmacro %}
