{#- The source rows a night does not read again
    (docs/decisions/0018-settled-rows-are-checked.md). A night reads the events only from the
    previous run's first recent day, and the assignments only of the subjects exposed since
    the latest exposure it has seen, less xp_late_data_days. A row that lands later than that
    (or is deleted) would leave the stored rows different from a full refresh. So each run
    records a fingerprint of those settled rows (their count and the sum of their times, per
    source), and the next night compares it before it continues: a change rebuilds in full. -#}

{#- The fingerprint of the settled rows of `kind` ('events': each event source that the
    metrics read; 'assignments': those of the configured experiments) before `before`
    ('YYYY-MM-DD HH:MM:SS', UTC; none: no rows), within the times the models read:
    {'before': before, 'rows': {source id: [row count, sum of their seconds since 1970]}}.
    One query, a scan of each source's time column. -#}
{% macro xp_settled_rows(kind, before) -%}
    {%- set queries = [] -%}
    {%- if before is none -%}
        {#- Nothing settled: the next night reads every row. -#}
    {%- elif kind == 'events' -%}
        {%- for event_source in xp_event_sources_in_use() -%}
            {%- set rows -%}
                {% call(event_at) xp_event_source_rows(event_source) -%}
                    {{ event_at }} < {{ xp_timestamp_literal(before) }}
                    {%- if event_source['id'] != 'events' %}
                    and {{ xp_event_time_condition(event_at, event_source['id']) }}
                    and {{ xp_event_partition_condition(
                        event_source.get('partition_date_column'), event_source['id']) }}
                    {%- endif %}
                {%- endcall %}
            {%- endset -%}
            {%- do queries.append(xp_settled_rows_query(event_source['id'], rows, 'event_at')) -%}
        {%- endfor -%}
    {%- elif kind == 'assignments' -%}
        {%- set experiment_ids = [] -%}
        {%- for experiment in xp_config()['experiments'] -%}
            {%- do experiment_ids.append(xp_string_literal(experiment['id'])) -%}
        {%- endfor -%}
        {%- set rows -%}
            select assigned_at from {{ ref('stg_experimentation__assignments') }}
            where
                assigned_at < {{ xp_timestamp_literal(before) }}
                and experiment_id in ({{ experiment_ids | join(', ') }})
                and {{ xp_exposure_time_condition('assigned_at', 'experiment_id') }}
        {%- endset -%}
        {%- do queries.append(xp_settled_rows_query('assignments', rows, 'assigned_at')) -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("xp: no settled rows of kind '" ~ kind ~ "'") }}
    {%- endif -%}
    {%- set found = {} -%}
    {%- if queries -%}
        {%- for row in run_query(queries | join('\nunion all\n')) -%}
            {%- do found.update({row['source_id']: [row['n_rows'] | int,
                                                    (row['sum_of_seconds'] or 0) | int]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({'before': before, 'rows': found}) }}
{%- endmacro %}

{#- One source's line of xp_settled_rows: its row count and the sum of the seconds from 1970
    to `time_column`, as integers, so that the sum is exact and in any order the same. -#}
{% macro xp_settled_rows_query(source_id, rows, time_column) -%}
    select
        {{ xp_string_literal(source_id) }} as source_id,
        count(*) as n_rows,
        sum(cast({{ dbt.datediff(xp_timestamp_literal('1970-01-01 00:00:00'),
                                 'settled.' ~ time_column, 'second') }}
                 as {{ dbt.type_bigint() }})) as sum_of_seconds
    from ({{ rows }}) as settled
{%- endmacro %}

{#- Where this run's settled rows of `kind` end, for the next night: the events before this
    run's first recent day (xp_recent_days_from); the assignments before the latest exposure
    of the model's stored table less xp_late_data_days (xp_new_exposures_from), none when
    the table is empty. -#}
{% macro xp_settled_rows_before(kind) -%}
    {%- if kind == 'events' -%}
        {{ return(xp_recent_days_from() ~ ' 00:00:00') }}
    {%- endif -%}
    {%- set latest = run_query('select max(last_exposed_at) from ' ~ this).columns[0].values()[0] -%}
    {{ return(xp_late_data_start(latest)) }}
{%- endmacro %}

{#- Why the stored rows of this model cannot be continued (see xp_rebuild_stale_state), or
    none: the settled rows of `kind` that its record holds changed since (late or deleted
    rows). The record's fingerprint is recomputed over the same times. -#}
{% macro xp_changed_settled_rows_reason(kind, stored) -%}
    {%- set record = stored.get(model.name) -%}
    {%- if not kind or not record -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not record.get('settled_rows') -%}
        {{ return("no record of its settled " ~ kind) }}
    {%- endif -%}
    {%- set then = fromjson(record['settled_rows']) -%}
    {%- if then['before'] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set now = xp_settled_rows(kind, then['before']) -%}
    {%- for source_id in (then['rows'].keys() | list + now['rows'].keys() | list) | unique | sort -%}
        {%- set was = then['rows'].get(source_id, [0, 0]) -%}
        {%- set found = now['rows'].get(source_id, [0, 0]) -%}
        {%- if was != found -%}
            {{ return("the " ~ kind ~ " of source '" ~ source_id ~ "' before " ~ then['before']
                      ~ " changed since its last run (" ~ was[0] ~ " rows then, " ~ found[0]
                      ~ " now): rows landed later than xp_late_data_days, or were deleted") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
