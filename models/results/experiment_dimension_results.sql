{#- Written by the analysis step (xp analyze), not by dbt: this model declares the table to dbt. -#}
{% if xp_enabled() and xp_has_dimensions() %}
-- depends_on: {{ ref('fct_variant_metric_dimension_statistics') }}
{% endif %}
