{#- True when some experiment of the config declares dimensions. -#}
{% macro xp_has_dimensions() -%}
    {{ return(xp_dimension_columns() | length > 0) }}
{%- endmacro %}
