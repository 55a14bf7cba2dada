{#- How the analysis step reads a mart or a result table (analysis_py/warehouse/bridge.py):
    the query, and each column's kind (integer, float, boolean, date, timestamp or text) as
    dbt's adapter reports the column's type, so that Python types the fetched values alike
    on every engine. A table that does not exist has no columns, and its query fails. -#}
{% macro xp_write_results_read(relation) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) -%}
    {%- set kinds = [] -%}
    {%- for column in columns -%}
        {%- do kinds.append({'name': column.name,
                             'kind': experiment_analysis.xp_write_results_kind(column)}) -%}
    {%- endfor -%}
    {{ return({
        'sql': adapter.dispatch('xp_write_results_select', 'experiment_analysis')(relation, columns),
        'columns': kinds,
    }) }}
{%- endmacro %}

{#- The adapters' is_integer / is_number miss some types (DuckDB's DECIMAL(p,s), HUGEINT):
    the type's name decides as well. -#}
{% macro xp_write_results_kind(column) -%}
    {%- set dtype = column.dtype | lower -%}
    {%- if column.is_integer() or modules.re.match('(u|tiny|small|big|huge)?int(eger|[0-9]*)?$', dtype) -%}
        {{ return('integer') }}
    {%- elif column.is_number() or modules.re.match('(decimal|numeric|number)([(].*)?$|double|float|real', dtype) -%}
        {{ return('float') }}
    {%- elif dtype.startswith('bool') -%}
        {{ return('boolean') }}
    {%- elif dtype == 'date' -%}
        {{ return('date') }}
    {%- elif dtype.startswith('timestamp') or dtype.startswith('datetime') -%}
        {{ return('timestamp') }}
    {%- endif -%}
    {{ return('text') }}
{%- endmacro %}

{% macro default__xp_write_results_select(relation, columns) -%}
    select * from {{ relation }}
{%- endmacro %}

{#- Spark hands timestamps to Python in the process's local time zone; as TIMESTAMP_NTZ they
    stay the UTC wall-clock times they are (the session's time zone is UTC). -#}
{% macro spark__xp_write_results_select(relation, columns) -%}
    {%- if not columns -%}
        select * from {{ relation }}
    {%- else -%}
        select
        {%- for column in columns %}
            {% if column.dtype | lower == 'timestamp' -%}
                cast({{ adapter.quote(column.name) }} as timestamp_ntz) as {{ adapter.quote(column.name) }}
            {%- else -%}
                {{ adapter.quote(column.name) }}
            {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
        from {{ relation }}
    {%- endif -%}
{%- endmacro %}
