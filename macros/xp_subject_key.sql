{#- A bigint hash of (experiment_id, subject_id), the key of the subject-grain tables:
    cheaper to group, join and write than the text id, and the same on a night and a full
    refresh. A collision fails int_exposures_deduplicated's uniqueness test. -#}
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

{#- Snowflake's HASH is already a signed 64-bit integer, of any number of arguments. -#}
{% macro snowflake__xp_subject_key(experiment_id, subject_id) -%}
    hash({{ experiment_id }}, {{ subject_id }})
{%- endmacro %}

{#- FARM_FINGERPRINT is an INT64 that BigQuery documents as never changing for an input; the
    unit separator (\x1f) keeps ('ab', 'c') apart from ('a', 'bc'). -#}
{% macro bigquery__xp_subject_key(experiment_id, subject_id) -%}
    farm_fingerprint(concat({{ experiment_id }}, '\x1f', {{ subject_id }}))
{%- endmacro %}

{#- Redshift would otherwise take Postgres's version, and has no hashtextextended. FNV_HASH is
    a BIGINT; its second argument seeds it with the first column's hash, Redshift's documented
    way to hash several columns. -#}
{% macro redshift__xp_subject_key(experiment_id, subject_id) -%}
    fnv_hash({{ subject_id }}, fnv_hash({{ experiment_id }}))
{%- endmacro %}
