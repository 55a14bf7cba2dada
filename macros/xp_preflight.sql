{#- The facts that the preflight (analysis_py/pipeline/preflight.py) judges, gathered
    through the adapter so that one macro serves every engine, and logged as one JSON line
    (marker XP_PREFLIGHT); the judgement stays in Python, written and tested once. -#}
{% macro xp_preflight(tables, sample_rows=10000) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set facts = {'tables': [], 'demo_data': var('xp_demo_data', false)} -%}
    {%- for table in tables -%}
        {%- do facts['tables'].append(experiment_analysis.xp_preflight_table(table, sample_rows)) -%}
    {%- endfor -%}
    {{ log('XP_PREFLIGHT ' ~ tojson(facts), info=False) }}
{%- endmacro %}

{% macro xp_preflight_table(table, sample_rows) -%}
    {%- set found = {'role': table['role'], 'source': table['source_name'] ~ '.' ~ table['table_name'],
                     'declared': false, 'exists': false} -%}
    {%- set node = experiment_analysis.xp_preflight_source_node(table['source_name'], table['table_name']) -%}
    {%- if node is none -%}{{ return(found) }}{%- endif -%}
    {%- do found.update({'declared': true}) -%}
    {#- Engines without databases (Spark) refuse one in a relation. -#}
    {%- set database = node.database if adapter.Relation.get_default_include_policy().database else none -%}
    {%- set relation = adapter.get_relation(database=database, schema=node.schema,
                                            identifier=node.identifier) -%}
    {%- do found.update({'relation': node.schema ~ '.' ~ node.identifier}) -%}
    {%- if relation is none -%}{{ return(found) }}{%- endif -%}
    {%- do found.update({'exists': true}) -%}
    {%- set columns = {} -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- set dtype = column.dtype | lower -%}
        {#- The adapters' is_number / is_string miss some types (DuckDB's DECIMAL(p,s),
            Spark's string): the type's name decides as well. -#}
        {%- do columns.update({column.name | lower: {
            'name': column.name, 'dtype': column.dtype,
            'is_number': column.is_number() or modules.re.match(
                '(decimal|numeric|number)([(].*)?$|double|float|real$|(u|tiny|small|big|huge)?int(eger|[0-9]*)?$', dtype) is not none,
            'is_string': column.is_string() or modules.re.match(
                '(string|text|varchar|char|character|bpchar)', dtype) is not none}}) -%}
    {%- endfor -%}
    {%- do found.update({'columns': columns}) -%}

    {#- Number and time columns held as text: can the staging casts read them? -#}
    {%- set parsed = [] -%}
    {%- for name, kind in table['columns'].items()
            if kind in ('number', 'time') and name | lower in columns
            and columns[name | lower]['is_string'] -%}
        {%- do parsed.append((columns[name | lower]['name'], kind)) -%}
    {%- endfor -%}
    {%- set sample_sql -%}
        select
            count(*) as n_rows
            {%- for name, kind in parsed %},
            sum(case when {{ experiment_analysis.xp_unreadable(adapter.quote(name), kind) }}
                then 1 else 0 end) as n_unreadable_{{ loop.index }},
            min(case when {{ experiment_analysis.xp_unreadable(adapter.quote(name), kind) }}
                then {{ adapter.quote(name) }} end) as example_{{ loop.index }}
            {%- endfor %}
        from (
            select {% for name, kind in parsed %}{{ adapter.quote(name) }}, {% endfor %}1 as one
            from {{ relation }}
            limit {{ sample_rows | int }}
        ) as sampled
    {%- endset -%}
    {%- set row = run_query(sample_sql).rows[0] -%}
    {%- do found.update({'n_sampled_rows': row[0] | int, 'sample_rows': sample_rows | int,
                         'unreadable': []}) -%}
    {%- for name, kind in parsed -%}
        {%- do found['unreadable'].append({'column': name, 'kind': kind,
                                            'count': (row[2 * loop.index - 1] or 0) | int,
                                            'example': row[2 * loop.index] if row[2 * loop.index] is none else row[2 * loop.index] | string}) -%}
    {%- endfor -%}

    {%- if table.get('exposures') and 'experiment_id' in columns and 'variant_id' in columns -%}
        {%- set exposures_sql -%}
            select
                cast({{ adapter.quote(columns['experiment_id']['name']) }} as {{ dbt.type_string() }}) as experiment_id,
                cast({{ adapter.quote(columns['variant_id']['name']) }} as {{ dbt.type_string() }}) as variant_id,
                count(*) as n_rows
            from {{ relation }}
            group by 1, 2
        {%- endset -%}
        {%- set exposures = [] -%}
        {%- for row in run_query(exposures_sql).rows -%}
            {%- do exposures.append([row[0], row[1], row[2] | int]) -%}
        {%- endfor -%}
        {%- do found.update({'exposures': exposures}) -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{#- The source node dbt resolved for source(source_name, table_name): its database, schema
    and identifier follow the vars (xp_source_schema, ...) exactly as the staging models'. -#}
{% macro xp_preflight_source_node(source_name, table_name) -%}
    {%- for node in graph.sources.values()
            if node.source_name == source_name and node.name == table_name -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- True when a non-null text value cannot be read as a number (kind 'number') or a
    timestamp (kind 'time') by the staging casts: times by the same ISO 8601 patterns that
    xp_utc_timestamp reads (macros/xp_utc_timestamp.sql). -#}
{% macro xp_unreadable(column, kind) -%}
    {%- if kind == 'time' -%}
    ({{ column }} is not null
        and not ({{ experiment_analysis.xp_text_matches(column, experiment_analysis.xp_iso_timestamp_pattern(true)) }}
                 or {{ experiment_analysis.xp_text_matches(column, experiment_analysis.xp_iso_timestamp_pattern(false)) }}))
    {%- else -%}
    {{ return(adapter.dispatch('xp_unreadable_number', 'experiment_analysis')(column)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__xp_unreadable_number(column) -%}
    ({{ column }} is not null and try_cast({{ column }} as {{ xp_type_double() }}) is null)
{%- endmacro %}

{#- Postgres has no try_cast (a failed cast aborts the query), so text is matched against
    the forms its cast to double precision reads. -#}
{% macro postgres__xp_unreadable_number(column) -%}
    ({{ column }} is not null and {{ column }} !~* '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[-+]?[0-9]+)?\s*$'
        and lower(trim({{ column }})) not in ('nan', 'infinity', '-infinity', '+infinity'))
{%- endmacro %}

{#- BigQuery has no try_cast: SAFE_CAST gives null where the cast would fail. -#}
{% macro bigquery__xp_unreadable_number(column) -%}
    ({{ column }} is not null and safe_cast({{ column }} as {{ xp_type_double() }}) is null)
{%- endmacro %}
