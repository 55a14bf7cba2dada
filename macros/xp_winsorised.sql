{#- `value` capped at `upper_cap` and, if given, raised to `lower_cap`; a null cap leaves it
    as it is (metrics without winsorisation have no caps row). -#}
{% macro xp_winsorised(value, upper_cap, lower_cap=none) -%}
    {%- set capped = 'least(' ~ value ~ ', coalesce(' ~ upper_cap ~ ', ' ~ value ~ '))' -%}
    {%- if lower_cap is none -%}
        {{ capped }}
    {%- else -%}
        greatest({{ capped }}, coalesce({{ lower_cap }}, {{ capped }}))
    {%- endif -%}
{%- endmacro %}
