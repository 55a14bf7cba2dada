{#- The freshness rule of the result tables: fails (with severity warn, a warning) when the
    latest analysis is older than `warn_after_hours`, i.e. a night did not run. -#}
{% test xp_result_is_recent(model, column, warn_after_hours) %}
    {%- if execute and load_relation(model) is not none %}
        select max({{ column }}) as latest_analysis_at
        from {{ model }}
        having max({{ column }}) is null
            or max({{ column }}) < {{ dbt.dateadd('hour', -1 * warn_after_hours, xp_utc_now()) }}
    {%- else %}
        select 1 as no_table_yet where 1 = 0
    {%- endif %}
{% endtest %}
