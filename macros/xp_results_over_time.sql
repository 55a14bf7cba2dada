{#- Results over time (docs/decisions/0015-results-over-time-from-snapshots.md): an ordinary
    run adds its snapshot of the statistics mart to fct_variant_metric_daily_statistics; a
    backfill replays every day from the subject facts instead. -#}

{#- Whether this run replays every day (a backfill): asked for by `xp backfill`
    (XP_BACKFILL=1 in the environment, read only when dbt executes, so that asking does not
    make dbt re-parse the project) or the var xp_backfill; always on engines whose
    incremental models are tables (Spark, BigQuery), which keep no earlier snapshot. -#}
{% macro xp_replays_every_day() -%}
    {%- if xp_incremental_materialization() != 'incremental' -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set from_environment = env_var('XP_BACKFILL', '') if execute else '' -%}
    {{ return(var('xp_backfill', false) in (true, 'true', 1, '1')
              or from_environment in ('1', 'true')) }}
{%- endmacro %}

{#- A digest of everything that defines an experiment's metric's daily sums: the metric (and a
    ratio's two components), its event source, and the experiment's own settings less those
    that only the analysis step or other marts read. A snapshot taken under another digest
    answered another question, so the next run drops it. -#}
{% macro xp_metric_definition_hash(experiment, metric_id, metrics, event_sources) -%}
    {%- set metric = metrics[metric_id] -%}
    {%- set parts = [metric] -%}
    {%- for component in [metric.get('numerator'), metric.get('denominator')] if component -%}
        {%- do parts.append(metrics[component]) -%}
    {%- endfor -%}
    {%- for part in parts[:] -%}
        {%- for source in event_sources if source['id'] == part.get('source') -%}
            {%- do parts.append(source) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set settings = {} -%}
    {%- for key, value in experiment.items()
            if key not in ('metrics', 'dimensions', 'max_dimension_values', 'plan', 'cuped') -%}
        {%- do settings.update({key: value}) -%}
    {%- endfor -%}
    {{ return(local_md5(tojson([settings, parts], sort_keys=true))) }}
{%- endmacro %}

{#- The stored snapshots this run keeps, or none: none on a backfill, on a first run, and
    when the stored table predates the definition_hash column (its snapshots cannot be told
    apart by definition, so they start over). -#}
{% macro xp_stored_snapshots() -%}
    {%- if not execute or xp_replays_every_day() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name')
                      | map('lower') | list -%}
    {%- if 'definition_hash' not in columns -%}
        {{ log("xp: " ~ this.identifier ~ " predates the definitions' digests: its earlier "
               ~ "snapshots are dropped (`xp backfill` replays them)", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
