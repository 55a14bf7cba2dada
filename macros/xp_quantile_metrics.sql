{#- The quantile metrics of each experiment (dicts with experiment_id, metric_id, quantile
    and ignore_zeros), known when the SQL is compiled: the quantile mart is built only when
    there are some, and reads their rows by literal ids. -#}
{% macro xp_quantile_metrics() -%}
    {%- set config = xp_config() -%}
    {%- set levels = {} -%}
    {%- for metric in config['metrics'] if metric.get('quantile') is not none -%}
        {%- do levels.update({metric['id']: metric}) -%}
    {%- endfor -%}
    {%- set quantiles = [] -%}
    {%- for experiment in config['experiments'] -%}
        {%- for metric_id in experiment['metrics'] if metric_id in levels -%}
            {%- do quantiles.append({
                'experiment_id': experiment['id'],
                'metric_id': metric_id,
                'quantile': levels[metric_id]['quantile'],
                'ignore_zeros': levels[metric_id].get('ignore_zeros', false),
            }) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(quantiles) }}
{%- endmacro %}

{#- True when some experiment of the config has a quantile metric. -#}
{% macro xp_has_quantile_metrics() -%}
    {{ return(xp_quantile_metrics() | length > 0) }}
{%- endmacro %}
