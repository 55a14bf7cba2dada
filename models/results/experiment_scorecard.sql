{#- Written by the analysis step (xp analyze), not by dbt: this model declares the table to dbt. -#}
-- depends_on: {{ ref('experiment_results') }}
