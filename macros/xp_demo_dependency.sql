{#- While the sources point at the demo seeds (var xp_demo_data), tell dbt that a staging
    model depends on its seed, so `dbt build` loads the seed first. A source() alone
    carries no such edge. -#}
{% macro xp_demo_dependency(seed_name) -%}
    {%- if var('xp_demo_data') %}
-- depends_on: {{ ref(seed_name) }}
    {%- endif %}
{%- endmacro %}
