{#- Incremental nightly runs (docs/decisions/0005-incremental-nightly-runs.md and
    0016-subject-sums-by-deltas.md): a night re-reads only the events of its last
    xp_late_data_days days, and further back only for the subjects first exposed since. That
    assumes rows are only appended, at most xp_late_data_days late (edited rows need
    `--full-refresh`). -#}
{% macro xp_incremental_materialization() -%}
    {{ return(adapter.dispatch('xp_incremental_materialization', 'experiment_analysis')()) }}
{%- endmacro %}

{% macro default__xp_incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{#- Spark has no usable incremental strategy here: the models are tables there, rebuilt every
    run. Databricks takes this version too: its incremental materialization passes the
    strategies no dest_columns and runs each statement on its own, which the replace_subjects
    strategy below does not expect. -#}
{% macro spark__xp_incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- BigQuery's incremental materialization accepts only merge, insert_overwrite and
    microbatch, none of which these models use. -#}
{% macro bigquery__xp_incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- The largest value of a column in the model's stored table, read at compile time; none on
    a full build or when the table is empty. -#}
{% macro xp_latest_stored(table, column) -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query('select max(' ~ column ~ ') from ' ~ table).columns[0].values()[0]) }}
{%- endmacro %}

{#- The late-data window (var xp_late_data_days) as a timedelta. -#}
{% macro xp_late_data_window() -%}
    {{ return(modules.datetime.timedelta(days=var('xp_late_data_days') | int)) }}
{%- endmacro %}

{#- The first day whose rows int_subject_metric_recent_days keeps, 'YYYY-MM-DD': the analysis
    date less xp_late_data_days, so that an event at most that late lands on a kept day.
    `of_stored_rows`: the day of the run that built the stored rows (its incremental-state
    record), from which a night reads the events again; none on a full build. Otherwise this
    run's, the first day it keeps. -#}
{% macro xp_recent_days_from(of_stored_rows=false) -%}
    {%- if of_stored_rows -%}
        {%- set record = xp_stored_incremental_state(this).get(model.name)
                         if execute and is_incremental() else none -%}
        {%- if not record -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set analysis_at = record['analysis_at'] -%}
    {%- else -%}
        {%- set analysis_at = xp_datetime(xp_analysis_at()
                                          or run_started_at.strftime('%Y-%m-%d %H:%M:%S')) -%}
    {%- endif -%}
    {{ return((analysis_at.date() - xp_late_data_window()).isoformat()) }}
{%- endmacro %}

{#- Post-hook of int_subject_metric_recent_days: forget the days before this run's first kept
    day, except the rows this run wrote (int_subject_metric_values reads their changes). -#}
{% macro xp_forget_settled_days() -%}
    {%- if not execute or config.get('materialized') != 'incremental' -%}
        {{ return('') }}
    {%- endif -%}
    delete from {{ this }}
    where
        event_on < cast({{ xp_string_literal(xp_recent_days_from()) }} as date)
        and loaded_at <> {{ xp_run_started_at_sql() }}
{%- endmacro %}

{#- This run's start, the loaded_at of the rows it writes, as a SQL timestamp. -#}
{% macro xp_run_started_at_sql() -%}
    cast({{ xp_string_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }}
         as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- For an incremental run of a per-subject table: the time from which exposures count as
    new (the latest exposure the table has seen, less xp_late_data_days), as
    'YYYY-MM-DD HH:MM:SS'; none for a full build. -#}
{% macro xp_new_exposures_from(subject_table) -%}
    {{ return(xp_late_data_start(xp_latest_stored(subject_table, 'last_exposed_at'))) }}
{%- endmacro %}

{#- `latest` (a time, as a datetime or text; none gives none) less xp_late_data_days, as
    'YYYY-MM-DD HH:MM:SS'. -#}
{% macro xp_late_data_start(latest) -%}
    {%- if latest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = xp_datetime(latest) - xp_late_data_window() -%}
    {{ return(since.strftime('%Y-%m-%d %H:%M:%S')) }}
{%- endmacro %}

{#- Incremental strategy "replace_subjects", for models whose new rows hold every row of
    each subject they name: the subjects' rows are deleted by the first two columns of the
    unique key, a cheaper delete than delete+insert's join on the whole key. -#}
{% macro get_incremental_replace_subjects_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set new_rows = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set subject = arg_dict['unique_key'][:2] | join(', ') -%}
    delete from {{ target }}
    where ({{ subject }}) in (
        select distinct {{ subject }} from {{ new_rows }}
    );
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ new_rows }}
{%- endmacro %}
