{#- What built each incremental model's stored rows
    (docs/decisions/0009-incremental-state-fingerprint.md), so that rows built from another
    config, code, sources or a later analysis time are rebuilt rather than continued. -#}

{#- Run this first in an incremental model: drop its table when its stored rows were built
    from another config, code, sources or a later analysis time, or before an upstream
    incremental model was rebuilt, so that is_incremental() is false and the model builds in
    full. Stops with one line when an upstream incremental model holds stale rows and is not
    part of the run. Only for run, build and retry: compiling must not drop tables.
    Changes handed from one incremental model to another (docs/decisions/0016): the two
    continue only from runs they both ended. `read_by`, the model that reads this one's
    changes (rows marked by loaded_at): rebuild, and so make the reader rebuild, when the
    reader did not end the last run of this one (it failed, was stopped or not selected).
    `reads_changes_of`, the model whose changes of this run this one reads: rebuild when
    it did not run before this one in this run.
    `settled_rows`, the kind of source rows ('events', 'assignments') the model's nights do
    not read again before some time (macros/xp_settled_rows.sql): rebuild when those rows
    changed since its last run. Pass the same kind to xp_record_incremental_state. -#}
{% macro xp_rebuild_stale_state(read_by=none, reads_changes_of=none, settled_rows=none) -%}
    {%- if not execute or config.get('materialized') != 'incremental'
            or flags.WHICH not in ('run', 'build', 'retry') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored = xp_stored_incremental_state(this) -%}
    {%- for upstream_id in xp_upstream_models(model.unique_id)['incremental'] -%}
        {%- set upstream = graph.nodes[upstream_id] -%}
        {%- set reason = xp_stale_reason(upstream_id, stored) -%}
        {%- if reason and (stored.get(upstream.name) or adapter.get_relation(
                upstream.database, upstream.schema, upstream.alias)) -%}
            {{ exceptions.raise_compiler_error(
                "xp: " ~ upstream.name ~ " is stale (" ~ reason ~ ") and not part of this run, "
                ~ "which reads it: run `xp run`, or `dbt build --select +" ~ model.name
                ~ " --vars \"$(xp dbt-vars)\"`") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set relation = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if relation is not none and not should_full_refresh() -%}
        {%- set reason = xp_stale_reason(model.unique_id, stored)
                         or xp_unread_changes_reason(relation, read_by, stored)
                         or xp_unrun_changes_reason(reads_changes_of, stored)
                         or xp_changed_settled_rows_reason(settled_rows, stored) -%}
        {%- if not reason -%}
            {{ return(none) }}
        {%- endif -%}
        {{ log("xp: rebuilding " ~ model.name ~ " in full: " ~ reason, info=true) }}
        {%- do adapter.drop_relation(relation) -%}
    {%- endif -%}
    {#- Built from scratch now: forget the old record, so that the post-hook stamps rebuilt_at. -#}
    {%- if stored.get(model.name) -%}
        {%- do run_query("delete from " ~ xp_incremental_state_relation(this)
                         ~ " where model_name = " ~ xp_string_literal(model.name)) -%}
    {%- endif -%}
{%- endmacro %}

{#- Why the changes of the table `relation` may not all have been read by the model
    `read_by` (see xp_rebuild_stale_state), or none: its record is not of this model's last
    run, or the table holds rows written after it. A reader without a record rebuilds by
    itself. -#}
{% macro xp_unread_changes_reason(relation, read_by, stored) -%}
    {%- set reader = stored.get(read_by) if read_by else none -%}
    {%- if not reader -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set own = stored.get(model.name) -%}
    {%- set unread = run_query(
        "select count(*) from " ~ relation ~ " where loaded_at > cast("
        ~ xp_string_literal(reader['loaded_at'].isoformat(' ')) ~ " as "
        ~ dbt.type_timestamp() ~ ")").columns[0].values()[0] -%}
    {%- if (own and own['loaded_at'] != reader['loaded_at']) or unread | int > 0 -%}
        {{ return("its last run's changes were not all read by " ~ read_by
                  ~ " (which failed, was stopped or was not selected)") }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- Why this model cannot read this run's changes of `reads_changes_of` (see
    xp_rebuild_stale_state), or none: that model did not run before it in this run. -#}
{% macro xp_unrun_changes_reason(reads_changes_of, stored) -%}
    {%- set writer = stored.get(reads_changes_of) if reads_changes_of else none -%}
    {%- if reads_changes_of
            and not (writer and writer['loaded_at'] == run_started_at.replace(tzinfo=none)) -%}
        {{ return(reads_changes_of ~ " did not run before it in this run") }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- Post-hook of an incremental model: record what built its rows. rebuilt_at stays as it
    was after an incremental run (xp_rebuild_stale_state deleted the record otherwise).
    `settled_rows`: the kind of source rows its next night will not read again, whose
    fingerprint is recorded (macros/xp_settled_rows.sql). It is taken after the model's rows
    were written, inside its transaction: on DuckDB, the same snapshot of the sources. -#}
{% macro xp_record_incremental_state(settled_rows=none) -%}
    {%- if not execute or config.get('materialized') != 'incremental' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = xp_incremental_state_relation(this) -%}
    {%- set timestamp = dbt.type_timestamp() -%}
    {%- if adapter.get_relation(state.database, state.schema, state.identifier) is none -%}
        {%- do run_query(
            "create table if not exists " ~ state ~ " ("
            ~ "model_name " ~ dbt.type_string() ~ ", config_hash " ~ dbt.type_string()
            ~ ", code_hash " ~ dbt.type_string() ~ ", source_hash " ~ dbt.type_string()
            ~ ", analysis_at " ~ timestamp ~ ", rebuilt_at " ~ timestamp
            ~ ", loaded_at " ~ timestamp ~ ", settled_rows " ~ dbt.type_string() ~ ")") -%}
        {#- Made outside dbt's relation cache, which later models look it up in. -#}
        {%- do adapter.cache_added(state) -%}
    {%- elif 'settled_rows' not in adapter.get_columns_in_relation(state)
                                   | map(attribute='name') | map('lower') | list -%}
        {#- A record table made before settled rows were recorded. -#}
        {%- do run_query("alter table " ~ state ~ " add column settled_rows "
                         ~ dbt.type_string()) -%}
    {%- endif -%}
    {%- set settled = xp_settled_rows(settled_rows, xp_settled_rows_before(settled_rows))
                      if settled_rows else none -%}
    {%- set previous = xp_stored_incremental_state(this).get(model.name) -%}
    {%- set now = run_started_at.replace(tzinfo=none) -%}
    {%- set rebuilt_at = previous['rebuilt_at'] if previous else now -%}
    {%- set fingerprint = xp_incremental_fingerprint(model.unique_id) -%}
    {%- do run_query("delete from " ~ state ~ " where model_name = "
                     ~ xp_string_literal(model.name)) -%}
    {%- do run_query(
        "insert into " ~ state ~ " (model_name, config_hash, code_hash, source_hash,"
        ~ " analysis_at, rebuilt_at, loaded_at, settled_rows) values ("
        ~ xp_string_literal(model.name) ~ ", "
        ~ xp_string_literal(fingerprint['config_hash']) ~ ", "
        ~ xp_string_literal(fingerprint['code_hash']) ~ ", "
        ~ xp_string_literal(fingerprint['source_hash']) ~ ", "
        ~ "cast(" ~ xp_string_literal(fingerprint['analysis_at']) ~ " as " ~ timestamp ~ "), "
        ~ "cast(" ~ xp_string_literal(rebuilt_at.isoformat(' ')) ~ " as " ~ timestamp ~ "), "
        ~ "cast(" ~ xp_string_literal(now.isoformat(' ')) ~ " as " ~ timestamp ~ "), "
        ~ (xp_string_literal(tojson(settled)) if settled else "null") ~ ")") -%}
    {{ return('') }}
{%- endmacro %}

{#- The state table in the schema of `relation` (a model). -#}
{% macro xp_incremental_state_relation(relation) -%}
    {{ return(api.Relation.create(database=relation.database, schema=relation.schema,
                                  identifier='xp_incremental_state', type='table')) }}
{%- endmacro %}

{#- The stored records of the schema of `relation`, by model name: {name: {column: value}},
    the hashes as text and the times as datetimes; empty before the first record. One query
    on a table of a few rows. -#}
{% macro xp_stored_incremental_state(relation) -%}
    {%- set state = xp_incremental_state_relation(relation) -%}
    {%- if adapter.get_relation(state.database, state.schema, state.identifier) is none -%}
        {{ return({}) }}
    {%- endif -%}
    {#- All columns: a table made before settled_rows has none until its next record. -#}
    {%- set rows = run_query("select * from " ~ state) -%}
    {%- set stored = {} -%}
    {%- for row in rows -%}
        {%- do stored.update({row['model_name']: {
            'config_hash': row['config_hash'], 'code_hash': row['code_hash'],
            'source_hash': row['source_hash'],
            'analysis_at': xp_datetime(row['analysis_at']),
            'rebuilt_at': xp_datetime(row['rebuilt_at']),
            'loaded_at': xp_datetime(row['loaded_at']),
            'settled_rows': row['settled_rows'] if 'settled_rows' in rows.column_names
                            else none}}) -%}
    {%- endfor -%}
    {{ return(stored) }}
{%- endmacro %}

{#- A timestamp as a datetime without time zone (engines return datetimes or text). -#}
{% macro xp_datetime(value) -%}
    {{ return(modules.datetime.datetime.fromisoformat(value | string).replace(tzinfo=none)) }}
{%- endmacro %}

{#- What this run would build the model (a graph node id) from. The analysis time is the
    run's (xp_analysis_at), or its start when it has none. The code is the model's file, the
    files of the models it reads up to the nearest incremental ones (dbt's checksums), the
    macros that shape incremental rows (xp_incremental_macros_version), and the var
    xp_late_data_days, which decides the days the stored rows keep. -#}
{% macro xp_incremental_fingerprint(node_id) -%}
    {%- set sources = [] -%}
    {%- for source_id, source in graph.sources.items() -%}
        {%- if source.package_name == 'experiment_analysis' -%}
            {%- do sources.append(source.database ~ '.' ~ source.schema ~ '.' ~ source.identifier) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set code = [graph.nodes[node_id].checksum.checksum] -%}
    {%- for upstream_id in xp_upstream_models(node_id)['code'] -%}
        {%- do code.append(graph.nodes[upstream_id].checksum.checksum) -%}
    {%- endfor -%}
    {{ return({
        'config_hash': xp_config()['hash'] | string,
        'code_hash': local_md5((code | sort | join(',')) ~ xp_incremental_macros_version()
                               ~ ',xp_late_data_days=' ~ var('xp_late_data_days'))[:16],
        'source_hash': local_md5(sources | sort | join(','))[:16],
        'analysis_at': xp_analysis_at() or run_started_at.strftime('%Y-%m-%d %H:%M:%S'),
    }) }}
{%- endmacro %}

{#- Why the stored rows of the model (a graph node id) cannot be continued by this run, or
    none. `stored` comes from xp_stored_incremental_state. -#}
{% macro xp_stale_reason(node_id, stored) -%}
    {%- set record = stored.get(graph.nodes[node_id].name) -%}
    {%- if not record -%}
        {{ return("no record of what built it") }}
    {%- endif -%}
    {%- set current = xp_incremental_fingerprint(node_id) -%}
    {%- if record['config_hash'] != current['config_hash'] -%}
        {{ return("built from experiment config " ~ record['config_hash'] ~ ", this run's is "
                  ~ current['config_hash']) }}
    {%- elif record['code_hash'] != current['code_hash'] -%}
        {{ return("built by another version of its code or another xp_late_data_days") }}
    {%- elif record['source_hash'] != current['source_hash'] -%}
        {{ return("built from other source tables") }}
    {%- elif record['analysis_at'] > xp_datetime(current['analysis_at']) -%}
        {{ return("holds data up to " ~ record['analysis_at']
                  ~ ", after this run's analysis time " ~ current['analysis_at']) }}
    {%- endif -%}
    {%- for upstream_id in xp_upstream_models(node_id)['incremental'] -%}
        {%- set upstream = stored.get(graph.nodes[upstream_id].name) -%}
        {%- if upstream and upstream['rebuilt_at'] > record['rebuilt_at'] -%}
            {{ return(graph.nodes[upstream_id].name ~ " was rebuilt after it") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- The models of this package that the model (a graph node id) reads, up to the nearest
    incremental ones: {'incremental': those incremental models, 'code': the others (views
    and tables rebuilt every run, whose code shapes the model's rows too)}, as node ids. -#}
{% macro xp_upstream_models(node_id) -%}
    {%- set found = {'incremental': [], 'code': []} -%}
    {%- set frontier = [node_id] -%}
    {#- Breadth first, one level per pass; the project is far less than 50 models deep. -#}
    {%- for _ in range(50) if frontier -%}
        {%- set next_frontier = [] -%}
        {%- for id in frontier -%}
            {%- for parent_id in graph.nodes[id].depends_on.nodes -%}
                {%- set parent = graph.nodes.get(parent_id) -%}
                {%- if parent and parent.resource_type == 'model'
                        and parent.package_name == 'experiment_analysis'
                        and parent_id not in found['incremental'] + found['code'] -%}
                    {%- if parent.config.materialized == 'incremental' -%}
                        {%- do found['incremental'].append(parent_id) -%}
                    {%- else -%}
                        {%- do found['code'].append(parent_id) -%}
                        {%- do next_frontier.append(parent_id) -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- do frontier.clear() -%}
        {%- do frontier.extend(next_frontier) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- A hash of the shared macros whose text shapes the incremental models' rows (those the
    models call, directly or through other macros, other than this file's). A model's own
    file is hashed by dbt (its checksum); this covers what it calls, Jinja comments left
    out. When one of those macros changes, tests/integration/dbt/test_incremental_state.py fails and prints
    the new value. -#}
{% macro xp_incremental_macros_version() -%}
    {{ return('a6e5dbbff8bc3c54') }}
{%- endmacro %}
