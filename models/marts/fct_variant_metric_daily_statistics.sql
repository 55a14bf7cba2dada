{#- One row per experiment, day, variant and metric: the statistics mart as it stood on each
    day (docs/decisions/0015-results-over-time-from-snapshots.md). An ordinary run adds its
    own snapshot of fct_variant_metric_statistics, dated by the analysis time, to the stored
    ones; a backfill (`xp backfill`, and every run on engines without incremental models)
    replays every day from each subject's changes instead: running sums of the increments of
    n, y, y², x·y, ... rather than a subject × day grid, which would be days times larger.
    A table, written whole: it is small (days × variants × metrics), so a run that fails
    leaves the earlier one as it was. -#}
{%- set replays = xp_replays_every_day() %}
{%- set stored_snapshots = xp_stored_snapshots() %}
{#- The replay's joins of subject facts to value changes: Postgres estimates each side at a
    row or two and picks a nested loop that evaluates the ratio running sums once per subject
    (minutes on the demo's 46,000 events, against a second by hash joins). -#}
{{ config(
    enabled=xp_enabled(),
    materialized='table',
    pre_hook="{{ xp_avoid_nested_loops() }}",
) }}
{#- Both modes' inputs, so that the graph is the same whichever runs: #}
-- depends_on: {{ ref('fct_variant_metric_statistics') }}
-- depends_on: {{ ref('int_metric_events_joined_to_exposures') }}
-- depends_on: {{ ref('int_weighted_subject_metrics') }}
-- depends_on: {{ ref('int_metric_winsorization_caps') }}
-- depends_on: {{ ref('stg_config__experiment_variants') }}
with

all_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

{# Not replayed day by day: matured-only metrics (a subject counts only once its window has
    ended) and lower caps (a subject without events would start at the cap, not at 0). -#}
replayable_event_metrics as (
    select * from all_metrics
    where
        aggregation <> 'ratio'
        and not is_matured_subjects_only
        and winsorize_lower is null
),

{# The metrics with results over time: the replayable ones, and ratios of two of them. -#}
replayed_metrics as (
    select * from replayable_event_metrics
    union all
    select ratios.*
    from all_metrics as ratios
    inner join replayable_event_metrics as numerators
        on ratios.experiment_id = numerators.experiment_id
        and ratios.numerator_metric_id = numerators.metric_id
    inner join replayable_event_metrics as denominators
        on ratios.experiment_id = denominators.experiment_id
        and ratios.denominator_metric_id = denominators.metric_id
    where ratios.aggregation = 'ratio'
),

{# From the exposures rather than the subject facts: the same analysed subjects, a tenth of
    the rows. -#}
experiment_starts as (
    select
        experiment_id,
        cast(min(first_exposed_at) as date) as started_on
    from {{ ref('int_exposures_deduplicated') }}
    where is_analysed
    group by experiment_id
),

{%- set sums = ['n'] + xp_sum_columns() %}
{%- set ratio_sums = xp_ratio_sum_columns() %}
{%- if replays %}

experiment_variants as (
    select * from {{ ref('stg_config__experiment_variants') }}
),

{# The subject facts, with the subjects without events folded into one row per first
    exposure date (int_weighted_subject_metrics: they add n and their capped zero on that
    day, and never change). Read three times below (exposure increments, covariates of the
    changes): inlined on DuckDB rather than held whole (macros/xp_not_materialized.sql). -#}
subject_metrics as {{ xp_not_materialized() }} (
    select
        weighted_subject_metrics.*,
        replayed_metrics.aggregation = 'ratio' as is_ratio
    from {{ ref('int_weighted_subject_metrics') }} as weighted_subject_metrics
    inner join replayed_metrics
        on weighted_subject_metrics.experiment_id = replayed_metrics.experiment_id
        and weighted_subject_metrics.metric_id = replayed_metrics.metric_id
),

winsorization_caps as (
    select * from {{ ref('int_metric_winsorization_caps') }}
),

{# Each subject's window days, from the events (the pipeline keeps only the recent ones,
    int_subject_metric_recent_days). -#}
window_day_sums as (
    select
        experiment_id,
        subject_key,
        metric_id,
        cast(event_at as date) as event_on,
        sum(value) as sum_of_values,
        count(*) as n_events
    from {{ ref('int_metric_events_joined_to_exposures') }}
    where is_in_window
    group by experiment_id, subject_key, metric_id, cast(event_at as date)
),

{# Each metric of the set that reads the events takes its own value from the set's sums
    (events_metric_id). -#}
window_days as (
    select
        window_day_sums.experiment_id,
        window_day_sums.subject_key,
        replayed_metrics.metric_id,
        window_day_sums.event_on,
        {{ xp_day_value('replayed_metrics.aggregation', 'replayed_metrics.threshold_of',
                        'window_day_sums.sum_of_values', 'window_day_sums.n_events') }}
            as day_value
    from window_day_sums
    inner join replayed_metrics
        on window_day_sums.experiment_id = replayed_metrics.experiment_id
        and window_day_sums.metric_id = replayed_metrics.events_metric_id
),

{# Each window day's running sum of the day values, one window function: the value before
    the day is the running sum less the day's value, so no second pass (lag) is needed. -#}
running_sums as (
    select
        experiment_id,
        subject_key,
        metric_id,
        event_on as changed_on,
        day_value,
        sum(day_value) over (
            partition by experiment_id, subject_key, metric_id
            order by event_on rows between unbounded preceding and current row
        ) as running_sum
    from window_days
),

value_changes as (
    select
        running_sums.experiment_id,
        running_sums.subject_key,
        running_sums.metric_id,
        running_sums.changed_on,
        {%- for column, running_sum in [('metric_value', 'running_sums.running_sum'),
                                        ('previous_value',
                                         '(running_sums.running_sum - running_sums.day_value)')] %}
        {{ xp_winsorized(xp_value_of_day_sum('replayed_metrics.aggregation', running_sum,
                                             'replayed_metrics.threshold_at_least'),
                         'winsorization_caps.metric_value_upper_cap') }} as {{ column }},
        {%- endfor %}
        cast(null as {{ xp_type_double() }}) as denominator_value,
        cast(null as {{ xp_type_double() }}) as previous_denominator_value
    from running_sums
    inner join replayed_metrics
        on running_sums.experiment_id = replayed_metrics.experiment_id
        and running_sums.metric_id = replayed_metrics.metric_id
    left join winsorization_caps
        on running_sums.experiment_id = winsorization_caps.experiment_id
        and running_sums.metric_id = winsorization_caps.metric_id
),

ratio_component_changes as (
    select
        ratios.experiment_id,
        value_changes.subject_key,
        ratios.metric_id,
        value_changes.changed_on,
        sum(
            case
                when value_changes.metric_id = ratios.numerator_metric_id
                    then value_changes.metric_value - value_changes.previous_value
                else 0
            end
        ) as numerator_change,
        sum(
            case
                when value_changes.metric_id = ratios.denominator_metric_id
                    then value_changes.metric_value - value_changes.previous_value
                else 0
            end
        ) as denominator_change
    from value_changes
    inner join replayed_metrics as ratios
        on value_changes.experiment_id = ratios.experiment_id
        and (
            value_changes.metric_id = ratios.numerator_metric_id
            or value_changes.metric_id = ratios.denominator_metric_id
        )
    where ratios.aggregation = 'ratio'
    group by
        ratios.experiment_id,
        value_changes.subject_key,
        ratios.metric_id,
        value_changes.changed_on
),

ratio_running_values as (
    {%- set running = "over (partition by experiment_id, subject_key, metric_id order by changed_on"
                      ~ " rows between unbounded preceding and current row)" %}
    select
        experiment_id,
        subject_key,
        metric_id,
        changed_on,
        sum(numerator_change) {{ running }} as metric_value,
        sum(denominator_change) {{ running }} as denominator_value,
        numerator_change,
        denominator_change
    from ratio_component_changes
),

ratio_value_changes as (
    select
        experiment_id,
        subject_key,
        metric_id,
        changed_on,
        metric_value,
        metric_value - numerator_change as previous_value,
        denominator_value,
        denominator_value - denominator_change as previous_denominator_value
    from ratio_running_values
),

all_value_changes as (
    select * from value_changes
    union all
    select * from ratio_value_changes
),

increments as (
    select
        subject_metrics.experiment_id,
        subject_metrics.variant_id,
        subject_metrics.metric_id,
        subject_metrics.first_exposed_on as changed_on,
        subject_metrics.n_subjects as n,
        0 as sum_y,
        0 as sum_y_squares,
        subject_metrics.n_subjects * subject_metrics.covariate_value as sum_x,
        subject_metrics.n_subjects * subject_metrics.covariate_value
        * subject_metrics.covariate_value as sum_x_squares,
        0 as sum_xy,
        0 as sum_d,
        0 as sum_d_squares,
        coalesce(subject_metrics.n_subjects * subject_metrics.covariate_denominator_value, 0)
            as sum_w,
        coalesce(
            subject_metrics.n_subjects * subject_metrics.covariate_denominator_value
            * subject_metrics.covariate_denominator_value, 0
        ) as sum_w_squares,
        0 as sum_yd,
        0 as sum_yw,
        0 as sum_xd,
        coalesce(
            subject_metrics.n_subjects * subject_metrics.covariate_value
            * subject_metrics.covariate_denominator_value, 0
        ) as sum_xw,
        0 as sum_dw
    from subject_metrics
    
    union all
    select
        subject_metrics.experiment_id,
        subject_metrics.variant_id,
        subject_metrics.metric_id,
        changes.changed_on,
        0 as n,
        changes.metric_value - changes.previous_value as sum_y,
        changes.metric_value * changes.metric_value
        - changes.previous_value * changes.previous_value as sum_y_squares,
        0 as sum_x,
        0 as sum_x_squares,
        subject_metrics.covariate_value * (changes.metric_value - changes.previous_value)
            as sum_xy,
        coalesce(changes.denominator_value - changes.previous_denominator_value, 0) as sum_d,
        coalesce(
            changes.denominator_value * changes.denominator_value
            - changes.previous_denominator_value * changes.previous_denominator_value, 0
        ) as sum_d_squares,
        0 as sum_w,
        0 as sum_w_squares,
        coalesce(
            changes.metric_value * changes.denominator_value
            - changes.previous_value * changes.previous_denominator_value, 0
        ) as sum_yd,
        coalesce(
            subject_metrics.covariate_denominator_value
            * (changes.metric_value - changes.previous_value), 0
        ) as sum_yw,
        coalesce(
            subject_metrics.covariate_value
            * (changes.denominator_value - changes.previous_denominator_value), 0
        ) as sum_xd,
        0 as sum_xw,
        coalesce(
            subject_metrics.covariate_denominator_value
            * (changes.denominator_value - changes.previous_denominator_value), 0
        ) as sum_dw
    from all_value_changes as changes
    inner join subject_metrics as subject_metrics
        on changes.experiment_id = subject_metrics.experiment_id
        and changes.subject_key = subject_metrics.subject_key
        and changes.metric_id = subject_metrics.metric_id
    
),


daily_increments as (
    select
        increments.experiment_id,
        increments.variant_id,
        increments.metric_id,
        increments.changed_on,
        {{ dbt.datediff('experiment_starts.started_on', 'increments.changed_on', 'day') }}
        + 1 as day_number
        {%- for column in sums + ratio_sums %},
        sum(increments.{{ column }}) as {{ column }}{% endfor %}
    from increments
    inner join experiment_starts
        on increments.experiment_id = experiment_starts.experiment_id
    group by
        increments.experiment_id,
        increments.variant_id,
        increments.metric_id,
        increments.changed_on,
        experiment_starts.started_on
),

days as (
    select distinct
        experiment_id,
        day_number,
        changed_on
    from daily_increments
),

daily_grid as (
    select
        days.experiment_id,
        days.day_number,
        days.changed_on as as_of_date,
        experiment_variants.variant_id,
        experiment_variants.is_control,
        experiment_variants.expected_share,
        replayed_metrics.metric_id,
        replayed_metrics.aggregation = 'ratio' as is_ratio,
        replayed_metrics.definition_hash
        {%- for column in sums + ratio_sums %},
        coalesce(daily_increments.{{ column }}, 0) as {{ column }}{% endfor %}
    from days
    inner join experiment_variants
        on days.experiment_id = experiment_variants.experiment_id
    inner join replayed_metrics
        on days.experiment_id = replayed_metrics.experiment_id
    left join daily_increments
        on days.experiment_id = daily_increments.experiment_id
        and days.day_number = daily_increments.day_number
        and experiment_variants.variant_id = daily_increments.variant_id
        and replayed_metrics.metric_id = daily_increments.metric_id
),

replayed_days as (
    {%- set window = "over (partition by daily_grid.experiment_id, daily_grid.variant_id,"
                     ~ " daily_grid.metric_id order by daily_grid.day_number"
                     ~ " rows between unbounded preceding and current row)" %}
    select
        daily_grid.experiment_id,
        cast(daily_grid.day_number as {{ dbt.type_bigint() }}) as day_number,
        daily_grid.as_of_date,
        daily_grid.variant_id,
        daily_grid.metric_id,
        daily_grid.is_control,
        daily_grid.expected_share,
        cast(
            sum(daily_grid.n) {{ window }} as {{ dbt.type_bigint() }}
        ) as n
        {%- for column in sums[1:] %},
        cast(
            sum(daily_grid.{{ column }}) {{ window }}
            as {{ xp_type_double() }}
        ) as {{ column }}{% endfor %}
        {%- for column in ratio_sums %},
        cast(
            case
                when daily_grid.is_ratio
                    then sum(daily_grid.{{ column }}) {{ window }}
            end as {{ xp_type_double() }}
        ) as {{ column }}{% endfor %},
        daily_grid.definition_hash
    from daily_grid
),

final as (
    select
        replayed_days.*,
        {{ xp_invocation_id_sql() }} as invocation_id
    from replayed_days
)
{%- else %}

{# This run's snapshot, dated by the analysis time: an analysis at midnight is the end of the
    day before. -#}
snapshot_day as (
    select
        cast(
            {{ dbt.dateadd('second', -1, xp_analysis_at_sql()) }} as date
        ) as as_of_date
),

{%- set snapshot_columns = ['variant_id', 'metric_id', 'is_control', 'expected_share']
                           + sums + ratio_sums + ['definition_hash'] %}

{# This run's snapshot and, below, the earlier ones still defined as now, except the one this
    run replaces. -#}
snapshots as (
    select
        variant_statistics.experiment_id,
        snapshot_day.as_of_date
        {%- for column in snapshot_columns if column != 'definition_hash' %},
        variant_statistics.{{ column }}{% endfor %},
        replayed_metrics.definition_hash
    from {{ ref('fct_variant_metric_statistics') }} as variant_statistics
    inner join replayed_metrics
        on variant_statistics.experiment_id = replayed_metrics.experiment_id
        and variant_statistics.metric_id = replayed_metrics.metric_id
    cross join snapshot_day
    {%- if stored_snapshots %}
    union all
    select
        stored.experiment_id,
        stored.as_of_date
        {%- for column in snapshot_columns %},
        stored.{{ column }}{% endfor %}
    from {{ stored_snapshots }} as stored
    inner join replayed_metrics
        on stored.experiment_id = replayed_metrics.experiment_id
        and stored.metric_id = replayed_metrics.metric_id
        and stored.definition_hash = replayed_metrics.definition_hash
    cross join snapshot_day
    where stored.as_of_date <> snapshot_day.as_of_date
    {%- endif %}
),

{# Day numbers from the experiment's first exposure date as it stands now, should a late
    exposure have moved it since a snapshot was taken. -#}
final as (
    select
        snapshots.experiment_id,
        cast(
            {{ dbt.datediff('experiment_starts.started_on', 'snapshots.as_of_date', 'day') }}
            + 1 as {{ dbt.type_bigint() }}
        ) as day_number,
        snapshots.as_of_date
        {%- for column in snapshot_columns %},
        snapshots.{{ column }}{% endfor %},
        {{ xp_invocation_id_sql() }} as invocation_id
    from snapshots
    inner join experiment_starts
        on snapshots.experiment_id = experiment_starts.experiment_id
    where snapshots.as_of_date >= experiment_starts.started_on
)
{%- endif %}

select * from final
