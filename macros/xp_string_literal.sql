{#- A config string as a SQL string literal. Config strings are also limited to a safe
    character set in analysis_py/config/parsing.py; this quoting is the second line of defence. -#}
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

{#- Snowflake reads a backslash in a string literal as an escape character too, and a quote
    as two quotes. -#}
{% macro snowflake__xp_string_literal(value) -%}
    '{{ value | string | replace("\\", "\\\\") | replace("'", "''") }}'
{%- endmacro %}

{#- BigQuery escapes a quote only with a backslash, and a quoted string cannot hold a newline. -#}
{% macro bigquery__xp_string_literal(value) -%}
    '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") | replace("\n", "\\n") }}'
{%- endmacro %}

{#- A config value as a typed SQL literal: null, a number, true/false, or a quoted string.
    Numbers are checked in analysis_py/config/parsing.py and pass through int/float here. -#}
{% macro xp_config_literal(value, type) -%}
    {%- if value is none -%}
        cast(null as {{ type }})
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is string -%}
        cast({{ xp_string_literal(value) }} as {{ type }})
    {%- elif value is integer -%}
        cast({{ value | int }} as {{ type }})
    {%- else -%}
        cast({{ value | float }} as {{ type }})
    {%- endif -%}
{%- endmacro %}
