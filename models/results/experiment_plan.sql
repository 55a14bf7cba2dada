{#- Written by the analysis step (xp analyze), not by dbt: this model declares the table to dbt. -#}
{% if xp_plan_enabled() %}
-- depends_on: {{ ref('fct_plan_metric_statistics') }}
{% endif %}
