{#- Extra columns of an event source that some of its metrics filter on (beyond the four
    standard ones). -#}
{% macro xp_event_filter_columns(source_id='events') -%}
    {%- set columns = [] -%}
    {%- for metric in xp_config()['metrics'] if metric.get('source', 'events') == source_id -%}
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

{#- The condition that keeps an event of source `source_id` for its metric: for each of the
    source's metrics with filters,
    (metric_id <> 'm' or (f1 and f2 ...)). Built only from validated parts: identifiers,
    a fixed set of operators, and literals. -#}
{% macro xp_metric_filter_condition(metric_column, event_alias, source_id='events') -%}
    {%- set parts = [] -%}
    {%- for metric in xp_config()['metrics'] if metric.get('source', 'events') == source_id -%}
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

{#- The event sources that the experiments' metrics read: 'events' (the input contract's
    table) and the declared event_sources, each as a dict (id, source_name, table_name and
    column names; none for 'events'), in config order. -#}
{% macro xp_event_sources_in_use() -%}
    {%- set config = xp_config() -%}
    {%- set metrics = {} -%}
    {%- for metric in config['metrics'] -%}
        {%- do metrics.update({metric['id']: metric}) -%}
    {%- endfor -%}
    {%- set used = [] -%}
    {%- for experiment in config['experiments'] -%}
        {%- for metric_id in experiment['metrics'] if metrics[metric_id]['aggregation'] != 'ratio' -%}
            {%- set source_id = metrics[metric_id].get('source', 'events') -%}
            {%- if source_id not in used -%}
                {%- do used.append(source_id) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set sources = [] -%}
    {%- if 'events' in used -%}
        {%- do sources.append({'id': 'events'}) -%}
    {%- endif -%}
    {%- for source in config.get('event_sources', []) if source['id'] in used -%}
        {%- do sources.append(source) -%}
    {%- endfor -%}
    {{ return(sources) }}
{%- endmacro %}
