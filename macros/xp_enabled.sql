{#- Our models and tests are built only when the experiment config is passed (`xp run`, or
    `dbt build --vars "$(xp dbt-vars)"`), so that a host project's other dbt runs skip them.
    Used in each model's config() rather than in dbt_project.yml: a package's
    dbt_project.yml is rendered without the root project's and the command line's vars. -#}
{% macro xp_enabled() -%}
    {{ return(var('xp_config', none) is not none) }}
{%- endmacro %}
