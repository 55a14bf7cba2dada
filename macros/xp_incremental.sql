{#- Incremental nightly runs (docs/decisions/0005-incremental-nightly-runs.md): a night
    re-reads only the events of its last xp_late_data_days days, and further back only for
    the subjects first exposed since. That assumes rows are only appended, at most
    xp_late_data_days late (edited rows need `--full-refresh`). -#}
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

{#- {'reprocess_from': 'YYYY-MM-DD', 'read_from': 'YYYY-MM-DD'} for an incremental run of the
    day table, or none for a full build. `exposures` (int_exposures_deduplicated, built
    earlier in the run) tells whether any subject was first exposed since reprocess_from:
    only such subjects need events from before it. -#}
{% macro xp_incremental_window(day_table, exposures) -%}
    {%- set last_day = xp_latest_stored(day_table, 'event_on') -%}
    {%- if last_day is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set last_day = modules.datetime.date.fromisoformat(last_day | string) -%}
    {%- set lookbacks = [] -%}
    {%- for experiment in xp_config()['experiments'] -%}
        {%- do lookbacks.append(experiment['lookback_days'] | int) -%}
    {%- endfor -%}
    {%- set reprocess_from = last_day - xp_late_data_window() -%}
    {%- set first_new_exposure = run_query(
        'select cast(min(first_exposed_at) as date) from ' ~ exposures
        ~ ' where first_exposed_at >= cast(' ~ xp_string_literal(reprocess_from.isoformat())
        ~ ' as ' ~ dbt.type_timestamp() ~ ')').columns[0].values()[0] -%}
    {%- if first_new_exposure is none -%}
        {%- set read_from = reprocess_from -%}
    {%- else -%}
        {%- set first_new_exposure = modules.datetime.date.fromisoformat(
            first_new_exposure | string) -%}
        {%- set read_from = [reprocess_from, first_new_exposure
                             - modules.datetime.timedelta(days=lookbacks | max)] | min -%}
    {%- endif -%}
    {{ return({'reprocess_from': reprocess_from.isoformat(), 'read_from': read_from.isoformat()}) }}
{%- endmacro %}

{#- For an incremental run of a per-subject table: the time from which exposures count as
    new (the latest exposure the table has seen, less xp_late_data_days), as
    'YYYY-MM-DD HH:MM:SS'; none for a full build. -#}
{% macro xp_new_exposures_from(subject_table) -%}
    {%- set latest = xp_latest_stored(subject_table, 'last_exposed_at') -%}
    {%- if latest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set latest = modules.datetime.datetime.fromisoformat(latest | string) -%}
    {%- set since = latest - xp_late_data_window() -%}
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
