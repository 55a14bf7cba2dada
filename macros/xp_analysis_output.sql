{#- The materialization of the result tables (models/results/): the analysis step writes
    them after `dbt build`, so dbt only declares them, for its docs, lineage, ref() and
    tests, and builds nothing (docs/decisions/0012). No relation is returned, so dbt's
    cache does not take a table that may not exist yet for one that does. -#}
{% materialization xp_analysis_output, default %}
    {{ run_hooks(pre_hooks) }}
    {% call statement('main') -%}
        select 1 as written_by_the_analysis_step
    {%- endcall %}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': []}) }}
{% endmaterialization %}
