{#- The assignment-table columns that some experiment uses as a dimension (config). -#}
{% macro xp_dimension_columns() -%}
    {%- set columns = [] -%}
    {%- for experiment in xp_config()['experiments'] -%}
        {%- for column in experiment.get('dimensions', []) -%}
            {%- if column not in columns -%}{%- do columns.append(column) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(columns | sort) }}
{%- endmacro %}
