{#- The validated experiment config, passed by `xp run` as the var xp_config
    (analysis_py/config/types.py, ExperimentConfig.to_dbt_vars). While dbt only parses the
    project, a placeholder stands in so that every model still renders. -#}
{% macro xp_config() -%}
    {%- set config = var('xp_config', none) -%}
    {#- Text is read as JSON: SQLFluff's .sqlfluff can pass vars only as text. -#}
    {%- if config is string -%}
        {%- set config = fromjson(config) -%}
    {%- endif -%}
    {%- if config is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "The experiment config is missing: dbt needs the var 'xp_config'. Run "
                ~ "`xp run` (which passes it), or `dbt build --vars \"$(xp dbt-vars)\"`."
            ) }}
        {%- endif -%}
        {{ return({
            'schema_version': 1, 'hash': 'parse-only',
            'metrics': [{'id': 'placeholder', 'event_name': 'placeholder',
                         'aggregation': 'count', 'window_start_seconds': 0,
                         'window_end_seconds': 86400}],
            'experiments': [{'id': 'placeholder', 'lookback_days': 1, 'metrics': ['placeholder'],
                             'variants': [{'id': 'placeholder', 'is_control': true,
                                           'expected_share': 1.0}]}],
        }) }}
    {%- endif -%}
    {%- if config.get('schema_version') != 1 -%}
        {{ exceptions.raise_compiler_error(
            "The var 'xp_config' has schema_version " ~ config.get('schema_version')
            ~ "; this project reads version 1. Pass it with `xp dbt-vars` from the same release."
        ) }}
    {%- endif -%}
    {{ return(config) }}
{%- endmacro %}
