{#- Time bounds of the scans, from the analysed phase of each experiment (experiments.yml
    `start_at`/`end_at` or `phases`; analysis_py/config/dates.py). They are written as
    literals, so that an engine can skip the partitions and files outside them. -#}

{#- A UTC time 'YYYY-MM-DD HH:MM:SS[.ffffff]' (or a datetime) as a timestamp literal. -#}
{% macro xp_timestamp_literal(value) -%}
    {%- set text = value.isoformat(' ') if value is not string else value -%}
    cast({{ xp_string_literal(text) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The analysed phase of each experiment: {id: {'start_at': datetime, 'end_at': datetime or
    none}}, or none for an experiment that has no dates (every exposure counts). -#}
{% macro xp_analysed_phases() -%}
    {%- set phases = {} -%}
    {%- for experiment in xp_config()['experiments'] -%}
        {%- set phase = experiment.get('phase') -%}
        {%- if phase -%}
            {%- do phases.update({experiment['id']: {
                'start_at': modules.datetime.datetime.fromisoformat(phase['start_at']),
                'end_at': modules.datetime.datetime.fromisoformat(phase['end_at'])
                          if phase.get('end_at') else none}}) -%}
        {%- else -%}
            {%- do phases.update({experiment['id']: none}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(phases) }}
{%- endmacro %}

{#- The condition that keeps an exposure (`at`, of experiment `experiment_id`) inside its
    experiment's analysed phase, [start_at, end_at). It starts with bounds common to all
    experiments, when every experiment has them, for the engine to prune on; 'true' when no
    experiment has dates. -#}
{% macro xp_exposure_time_condition(at, experiment_id) -%}
    {%- set phases = xp_analysed_phases() -%}
    {%- set bounded = phases.values() | reject('none') | list -%}
    {%- set conditions = [] -%}
    {%- if bounded | length == phases | length and bounded -%}
        {%- do conditions.append(at ~ ' >= ' ~ xp_timestamp_literal(
            bounded | map(attribute='start_at') | min)) -%}
        {%- if bounded | selectattr('end_at', 'none') | list | length == 0 -%}
            {%- do conditions.append(at ~ ' < ' ~ xp_timestamp_literal(
                bounded | map(attribute='end_at') | max)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- for id, phase in phases.items() if phase -%}
        {%- set inside = at ~ ' >= ' ~ xp_timestamp_literal(phase['start_at']) -%}
        {%- if phase['end_at'] -%}
            {%- set inside = inside ~ ' and ' ~ at ~ ' < ' ~ xp_timestamp_literal(phase['end_at']) -%}
        {%- endif -%}
        {%- do conditions.append('(' ~ experiment_id ~ ' <> ' ~ xp_string_literal(id)
                                 ~ ' or (' ~ inside ~ '))') -%}
    {%- endfor -%}
    {{ return(conditions | join(' and ') if conditions else 'true') }}
{%- endmacro %}

{#- The times of the events of source `source_id` that any metric can use:
    {'from': datetime or none, 'until': datetime or none}, [from, until). For each experiment
    with a metric on the source: from its phase's start less its covariate lookback, to its
    phase's end plus the longest window of those metrics. A side is none (unbounded) when an
    experiment leaves it open. -#}
{% macro xp_event_time_bounds(source_id) -%}
    {#- `xp plan` reads the metrics' history, before any experiment's phase: no bound. -#}
    {%- if var('xp_plan', none) is not none -%}
        {{ return({'from': none, 'until': none}) }}
    {%- endif -%}
    {%- set config = xp_config() -%}
    {%- set metrics = {} -%}
    {%- for metric in config['metrics'] -%}
        {%- do metrics.update({metric['id']: metric}) -%}
    {%- endfor -%}
    {%- set phases = xp_analysed_phases() -%}
    {%- set froms, untils = [], [] -%}
    {%- for experiment in config['experiments'] -%}
        {%- set window_ends = [] -%}
        {%- for metric_id in experiment['metrics'] -%}
            {%- set metric = metrics[metric_id] -%}
            {%- if metric['aggregation'] != 'ratio' and metric.get('source', 'events') == source_id -%}
                {%- do window_ends.append(metric['window_end_seconds'] | int) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set phase = phases[experiment['id']] -%}
        {%- if window_ends -%}
            {%- do froms.append(phase['start_at'] - modules.datetime.timedelta(
                days=experiment['lookback_days'] | int) if phase else none) -%}
            {%- do untils.append(phase['end_at'] + modules.datetime.timedelta(
                seconds=window_ends | max) if phase and phase['end_at'] else none) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({
        'from': none if (not froms or none in froms) else froms | min,
        'until': none if (not untils or none in untils) else untils | max,
    }) }}
{%- endmacro %}

{#- The condition that keeps the events of source `source_id` inside its time bounds, on the
    event time `at` (a UTC timestamp); 'true' when unbounded. -#}
{% macro xp_event_time_condition(at, source_id) -%}
    {%- set bounds = xp_event_time_bounds(source_id) -%}
    {%- set conditions = [] -%}
    {%- if bounds['from'] -%}
        {%- do conditions.append(at ~ ' >= ' ~ xp_timestamp_literal(bounds['from'])) -%}
    {%- endif -%}
    {%- if bounds['until'] -%}
        {%- do conditions.append(at ~ ' < ' ~ xp_timestamp_literal(bounds['until'])) -%}
    {%- endif -%}
    {{ return(conditions | join(' and ') if conditions else 'true') }}
{%- endmacro %}

{#- The same bounds on a source's date partition column, `column` (none: 'true'), so that
    engines that prune by partition value (Spark, Hive-style Parquet) skip the other dates: a
    filter on the event time alone does not. The column may hold dates or 'YYYY-MM-DD' text,
    in any time zone: the bounds are widened by a day on each side and compared with text
    literals, which both kinds of column accept. -#}
{% macro xp_event_partition_condition(column, source_id) -%}
    {%- if not column -%}
        {{ return('true') }}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]{0,62}', column | string) -%}
        {{ exceptions.raise_compiler_error(
            "xp: the partition date column '" ~ column ~ "' of event source '" ~ source_id
            ~ "' must be a lowercase identifier (letters, digits and '_')") }}
    {%- endif -%}
    {%- set bounds = xp_event_time_bounds(source_id) -%}
    {%- set day = modules.datetime.timedelta(days=1) -%}
    {%- set conditions = [] -%}
    {%- if bounds['from'] -%}
        {%- do conditions.append(column ~ ' >= ' ~ xp_string_literal(
            (bounds['from'].date() - day).isoformat())) -%}
    {%- endif -%}
    {%- if bounds['until'] -%}
        {%- do conditions.append(column ~ ' <= ' ~ xp_string_literal(
            (bounds['until'].date() + day).isoformat())) -%}
    {%- endif -%}
    {{ return(conditions | join(' and ') if conditions else 'true') }}
{%- endmacro %}

{#- The date partition column of the input contract's events table: the var
    xp_events_partition_date_column (none by default). -#}
{% macro xp_events_partition_date_column() -%}
    {{ return(var('xp_events_partition_date_column', none)) }}
{%- endmacro %}
