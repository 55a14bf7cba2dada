{{ config(
    enabled=xp_enabled(),
    materialized=xp_incremental_materialization(),
    incremental_strategy="delete+insert",
    unique_key=["experiment_id", "metric_id"],
    on_schema_change="fail",
    post_hook="{{ xp_record_incremental_state() }}",
) }}
{#- Built from each subject's changes (running sums of the increments of n, y, y², x·y, ...)
    rather than from a subject × day grid, which would be days times larger. Incremental
    (xp_daily_replay_from): a night keeps the days before replay_from and replays the rest,
    writing the small table whole so that no stale day is left behind. -#}
{%- do xp_rebuild_stale_state() %}
{%- set replay_from = xp_daily_replay_from(this, ref('int_exposures_deduplicated')) %}
{%- if replay_from %}
{%- set replay_from_date = "cast(" ~ xp_string_literal(replay_from) ~ " as date)" %}
{%- endif %}
{%- set replayed_subject_metrics = 'changed_subject_metrics' if replay_from
    else 'subject_metrics' %}
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

{# is_capped: winsorized, or a ratio of a winsorized metric. Their caps move with each
    night's data, so an incremental night replays every day of these metrics. -#}
replayed_metrics as (
    select
        *,
        winsorize_upper is not null as is_capped
    from replayable_event_metrics
    union all
    select
        ratios.*,
        numerators.winsorize_upper is not null or denominators.winsorize_upper is not null
            as is_capped
    from all_metrics as ratios
    inner join replayable_event_metrics as numerators
        on ratios.experiment_id = numerators.experiment_id
        and ratios.numerator_metric_id = numerators.metric_id
    inner join replayable_event_metrics as denominators
        on ratios.experiment_id = denominators.experiment_id
        and ratios.denominator_metric_id = denominators.metric_id
    where ratios.aggregation = 'ratio'
),

{# The subject facts, with the subjects without events folded into one row per first
    exposure date (int_weighted_subject_metrics: they add n and their capped zero on that
    day, and never change). Read three times below (exposure increments, covariates of the
    changes): inlined on DuckDB rather than held whole (macros/xp_not_materialized.sql). -#}
subject_metrics as {{ xp_not_materialized() }} (
    select
        weighted_subject_metrics.*,
        replayed_metrics.aggregation = 'ratio' as is_ratio,
        replayed_metrics.is_capped
    from {{ ref('int_weighted_subject_metrics') }} as weighted_subject_metrics
    inner join replayed_metrics
        on weighted_subject_metrics.experiment_id = replayed_metrics.experiment_id
        and weighted_subject_metrics.metric_id = replayed_metrics.metric_id
),

winsorization_caps as (
    select * from {{ ref('int_metric_winsorization_caps') }}
),

all_window_days as (
    select * from {{ ref('int_subject_metric_days') }}
    where period = 'window'
),
{%- if replay_from %}

replayed_subjects as (
    select distinct
        experiment_id,
        subject_key
    from all_window_days
    where event_on >= {{ replay_from_date }}
),

{# The facts of the subjects whose values are replayed, for their covariates. -#}
changed_subject_metrics as (
    select subject_metrics.*
    from subject_metrics
    left join replayed_subjects
        on subject_metrics.experiment_id = replayed_subjects.experiment_id
        and subject_metrics.subject_key = replayed_subjects.subject_key
    where subject_metrics.is_capped or replayed_subjects.subject_key is not null
),

{# The event metrics whose every day is replayed: capped ones, and both components of a
    capped ratio. -#}
wholly_replayed_metrics as (
    select
        experiment_id,
        metric_id
    from replayed_metrics
    where is_capped and aggregation <> 'ratio'
    union
    select
        experiment_id,
        numerator_metric_id
    from replayed_metrics
    where is_capped and aggregation = 'ratio'
    union
    select
        experiment_id,
        denominator_metric_id
    from replayed_metrics
    where is_capped and aggregation = 'ratio'
),

{# All the window days of the subjects that changed since replay_from (their running
    values need the earlier days too), and of every subject for wholly replayed metrics. -#}
window_days as (
    select all_window_days.*
    from all_window_days
    left join wholly_replayed_metrics
        on all_window_days.experiment_id = wholly_replayed_metrics.experiment_id
        and all_window_days.metric_id = wholly_replayed_metrics.metric_id
    left join replayed_subjects
        on all_window_days.experiment_id = replayed_subjects.experiment_id
        and all_window_days.subject_key = replayed_subjects.subject_key
    where
        wholly_replayed_metrics.metric_id is not null
        or replayed_subjects.subject_key is not null
),
{%- else %}

window_days as (
    select * from all_window_days
),
{%- endif %}

experiment_variants as (
    select * from {{ ref('stg_config__experiment_variants') }}
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
    {%- if replay_from %}
    where
        subject_metrics.is_capped
        or subject_metrics.first_exposed_on >= {{ replay_from_date }}
    {%- endif %}
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
    inner join {{ replayed_subject_metrics }} as subject_metrics
        on changes.experiment_id = subject_metrics.experiment_id
        and changes.subject_key = subject_metrics.subject_key
        and changes.metric_id = subject_metrics.metric_id
    {%- if replay_from %}
    where subject_metrics.is_capped or changes.changed_on >= {{ replay_from_date }}
    {%- endif %}
),

{%- set sums = ['n'] + xp_sum_columns() %}
{%- set ratio_sums = xp_ratio_sum_columns() %}

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
        replayed_metrics.aggregation = 'ratio' as is_ratio
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
    {%- if replay_from %}
    where replayed_metrics.is_capped or days.changed_on >= {{ replay_from_date }}
    {%- endif %}
),

{%- if replay_from %}

kept_days as (
    select previous_days.*
    from {{ this }} as previous_days
    inner join replayed_metrics
        on previous_days.experiment_id = replayed_metrics.experiment_id
        and previous_days.metric_id = replayed_metrics.metric_id
    where previous_days.as_of_date < {{ replay_from_date }} and not replayed_metrics.is_capped
),

{# The running sums each variant and metric had reached by replay_from. -#}
last_kept_days as (
    select
        experiment_id,
        variant_id,
        metric_id,
        max(day_number) as day_number
    from kept_days
    group by experiment_id, variant_id, metric_id
),

sums_before as (
    select kept_days.*
    from kept_days
    inner join last_kept_days
        on kept_days.experiment_id = last_kept_days.experiment_id
        and kept_days.variant_id = last_kept_days.variant_id
        and kept_days.metric_id = last_kept_days.metric_id
        and kept_days.day_number = last_kept_days.day_number
),
{%- endif %}

replayed_days as (
    {%- set window = "over (partition by daily_grid.experiment_id, daily_grid.variant_id,"
                     ~ " daily_grid.metric_id order by daily_grid.day_number"
                     ~ " rows between unbounded preceding and current row)" %}
    {#- The running sum of a column, from the last kept day's when replaying. -#}
    {%- set before = "coalesce(sums_before.{0}, 0) + " if replay_from else "" %}
    select
        daily_grid.experiment_id,
        cast(daily_grid.day_number as {{ dbt.type_bigint() }}) as day_number,
        daily_grid.as_of_date,
        daily_grid.variant_id,
        daily_grid.metric_id,
        daily_grid.is_control,
        daily_grid.expected_share,
        cast(
            {{ before.format('n') }}sum(daily_grid.n) {{ window }} as {{ dbt.type_bigint() }}
        ) as n
        {%- for column in sums[1:] %},
        cast(
            {{ before.format(column) }}sum(daily_grid.{{ column }}) {{ window }}
            as {{ xp_type_double() }}
        ) as {{ column }}{% endfor %}
        {%- for column in ratio_sums %},
        cast(
            case
                when daily_grid.is_ratio
                    then {{ before.format(column) }}sum(daily_grid.{{ column }}) {{ window }}
            end as {{ xp_type_double() }}
        ) as {{ column }}{% endfor %}
    from daily_grid{% if replay_from %}
    left join sums_before
        on daily_grid.experiment_id = sums_before.experiment_id
        and daily_grid.variant_id = sums_before.variant_id
        and daily_grid.metric_id = sums_before.metric_id{% endif %}
),

final as (
    {%- if replay_from %}
    select * from kept_days
    union all
    {%- endif %}
    select * from replayed_days
)

select * from final
