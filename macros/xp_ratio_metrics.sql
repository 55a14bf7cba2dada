{#- The configured ratio metrics (dicts with id, numerator and denominator), known when the
    SQL is compiled: a model can leave its ratio part out when there are none, and filter
    the subject facts to their components by literal ids, which the engine applies before
    it builds a row per subject. -#}
{% macro xp_ratio_metrics() -%}
    {%- set ratios = [] -%}
    {%- for metric in xp_config()['metrics'] if metric['aggregation'] == 'ratio' -%}
        {%- do ratios.append(metric) -%}
    {%- endfor -%}
    {{ return(ratios) }}
{%- endmacro %}

{#- `column` in the literal ids of the ratio metrics' numerators and denominators (with
    `components`) or of the ratio metrics themselves; false when there are none. -#}
{% macro xp_in_ratio_metrics(column, components=false) -%}
    {%- set ids = [] -%}
    {%- for ratio in xp_ratio_metrics() -%}
        {%- if components -%}
            {%- do ids.extend([ratio['numerator'], ratio['denominator']]) -%}
        {%- else -%}
            {%- do ids.append(ratio['id']) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if ids -%}
        {{ column }} in ({% for id in ids | unique %}{{ xp_string_literal(id) }}{{ ', ' if not loop.last }}{% endfor %})
    {%- else -%}
        1 = 0
    {%- endif -%}
{%- endmacro %}
