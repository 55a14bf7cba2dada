{#- Ids of the experiments that use CUPED++ (analysis.cuped: multi in the config). -#}
{% macro xp_multi_cuped_experiments() -%}
    {%- set ids = [] -%}
    {%- for experiment in xp_config()['experiments'] -%}
        {%- if experiment.get('cuped') == 'multi' -%}
            {%- do ids.append(experiment['id']) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ids) }}
{%- endmacro %}
