{#- A config string as a SQL string literal. Config strings are also limited to a safe
    character set in analysis_py/config.py; this quoting is the second line of defence. -#}
{% macro xp_string_literal(value) -%}
    {{ return(adapter.dispatch('xp_string_literal', 'experiment_analysis')(value)) }}
{%- endmacro %}

{% macro default__xp_string_literal(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- Spark string literals treat the backslash as an escape character, and accept \' . -#}
{% macro spark__xp_string_literal(value) -%}
    '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
