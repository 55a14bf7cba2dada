{#- Extra event columns that some metric filters on (beyond the four required ones). -#}
{% macro xp_event_filter_columns() -%}
    {%- set columns = [] -%}
    {%- for metric in xp_config()['metrics'] -%}
        {%- for filter in metric.get('filters', []) -%}
            {%- if filter['column'] != 'value' and filter['column'] not in columns -%}
                {%- do columns.append(filter['column']) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(columns | sort) }}
{%- endmacro %}

{#- A SQL literal for a filter value: numbers as they are, strings quoted. -#}
{% macro xp_filter_literal(value) -%}
    {%- if value is number -%}{{ value }}{%- else -%}{{ xp_string_literal(value) }}{%- endif -%}
{%- endmacro %}

{#- The condition that keeps an event for its metric: for each metric with filters,
    (metric_id <> 'm' or (f1 and f2 ...)). Built only from validated parts: identifiers,
    a fixed set of operators, and literals. -#}
{% macro xp_metric_filter_condition(metric_column, event_alias) -%}
    {%- set parts = [] -%}
    {%- for metric in xp_config()['metrics'] -%}
        {%- if metric.get('filters') -%}
            {%- set conditions = [] -%}
            {%- for filter in metric['filters'] -%}
                {%- set column = event_alias ~ '.' ~ filter['column'] -%}
                {%- if filter['op'] in ['in', 'not in'] -%}
                    {%- set literals = [] -%}
                    {%- for value in filter['value'] -%}
                        {%- do literals.append(xp_filter_literal(value)) -%}
                    {%- endfor -%}
                    {%- do conditions.append(column ~ ' ' ~ filter['op'] ~ ' (' ~ literals | join(', ') ~ ')') -%}
                {%- else -%}
                    {%- set op = '<>' if filter['op'] == '!=' else filter['op'] -%}
                    {%- do conditions.append(column ~ ' ' ~ op ~ ' ' ~ xp_filter_literal(filter['value'])) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do parts.append('(' ~ metric_column ~ ' <> ' ~ xp_string_literal(metric['id']) ~ ' or (' ~ conditions | join(' and ') ~ '))') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(parts | join(' and ') if parts else 'true') }}
{%- endmacro %}
