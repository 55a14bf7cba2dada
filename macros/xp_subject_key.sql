{#- A 64-bit integer (bigint) standing for (experiment_id, subject_id), the key of the subject-grain
    tables below the first exposures (int_subject_metric_days, int_subject_metric_values,
    int_weighted_subject_metrics): grouping, sorting, joining and writing an integer costs
    a fraction of the text id (docs/benchmarks.md). A hash, so that a night and a full refresh
    give every subject the same key on every engine. Two subjects of an experiment could
    share one (odds ~10⁻⁶ among 5M subjects): int_exposures_deduplicated's uniqueness test
    on (experiment_id, subject_key) then fails the build, rather than let them be added
    together. -#}
{% macro xp_subject_key(experiment_id, subject_id) -%}
    {{ return(adapter.dispatch('xp_subject_key', 'experiment_analysis')(experiment_id, subject_id)) }}
{%- endmacro %}

{#- DuckDB's hash is an unsigned 64-bit integer: its top 63 bits, so that the key is a
    bigint on every engine. -#}
{% macro default__xp_subject_key(experiment_id, subject_id) -%}
    cast(hash({{ experiment_id }}, {{ subject_id }}) >> 1 as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro postgres__xp_subject_key(experiment_id, subject_id) -%}
    hashtextextended({{ experiment_id }} || chr(31) || {{ subject_id }}, 0)
{%- endmacro %}

{% macro spark__xp_subject_key(experiment_id, subject_id) -%}
    xxhash64({{ experiment_id }}, {{ subject_id }})
{%- endmacro %}
