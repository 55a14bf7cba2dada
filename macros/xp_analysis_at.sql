{#- The analysis time (UTC 'YYYY-MM-DD HH:MM:SS') cuts exposures and events, so that a
    rerun for the same time reproduces a past day's results. `xp run` passes it in the
    environment (XP_ANALYSIS_AT) rather than as a var, since a new var each night would make
    dbt re-parse the whole project; the var xp_analysis_at works too. The variable is read
    only when dbt executes: read while parsing, dbt would note it and re-parse every model
    that calls this macro whenever its value changes, that is every night. -#}
{% macro xp_analysis_at() -%}
    {%- set from_environment = env_var('XP_ANALYSIS_AT', '') if execute else '' -%}
    {%- set value = var('xp_analysis_at', none) or from_environment or none -%}
    {%- if value is not none
            and not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}', value | string) -%}
        {{ exceptions.raise_compiler_error(
            "The analysis time (XP_ANALYSIS_AT or the var xp_analysis_at) must be a UTC time "
            ~ "'YYYY-MM-DD HH:MM:SS', got '"
            ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro xp_analysis_at_sql() -%}
    {%- set value = xp_analysis_at() -%}
    {%- if value is none -%}
        {{ xp_utc_now() }}
    {%- else -%}
        cast({{ xp_string_literal(value) }} as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}

{#- The condition that keeps rows before the analysis time; true without the var. -#}
{% macro xp_before_analysis_at(column) -%}
    {%- if xp_analysis_at() is none -%}
        true
    {%- else -%}
        {{ column }} < {{ xp_analysis_at_sql() }}
    {%- endif -%}
{%- endmacro %}

{#- Whether a subject first exposed at `first_exposed_at` counts for a metric (the row
    `metric` of stg_config__experiment_metrics) at the analysis time: metrics with
    matured_subjects_only (retention always) count only the subjects whose window has ended
    by then; other metrics count every subject. -#}
{% macro xp_counts_at_analysis(first_exposed_at, metric) -%}
    (
        not {{ metric }}.is_matured_subjects_only
        or {{ xp_seconds_between(first_exposed_at, xp_analysis_at_sql()) }}
            >= {{ metric }}.window_end_seconds
    )
{%- endmacro %}
