{{ config(enabled=xp_enabled()) }}
{#- One row per experiment, day, variant and metric: the statistics mart as it stood at the
    end of that day (UTC) - the subjects first exposed by then, each metric counting only
    the window's events that had happened by then. Day 1 is the experiment's first exposure
    date; a day on which nothing changed has no row. The last day equals the statistics mart.

    Built from changes, not from a subject × day grid: a subject adds (n, x, x²) on its
    exposure day, and on each day its metric value moves from y_prev to y, it adds
    (y - y_prev, y² - y_prev², x·(y - y_prev)). Running sums of these increments are the
    day's sums of y, y² and x·y. -#}
with

subject_metrics as (
    select * from {{ ref('fct_subject_metrics') }}
),

window_days as (
    select * from {{ ref('int_subject_metric_days') }}
    where period = 'window'
),

experiment_variants as (
    select * from {{ ref('stg_config__experiment_variants') }}
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

experiment_starts as (
    select
        experiment_id,
        cast(min(first_exposed_at) as date) as started_on
    from subject_metrics
    group by experiment_id
),

running_values as (
    select
        experiment_id,
        subject_id,
        metric_id,
        event_on as changed_on,
        case aggregation
            when 'conversion' then max(day_value) over (
                partition by experiment_id, subject_id, metric_id
                order by event_on rows between unbounded preceding and current row)
            when 'threshold' then case
                when sum(day_value) over (
                    partition by experiment_id, subject_id, metric_id
                    order by event_on rows between unbounded preceding and current row)
                    >= threshold_at_least then 1 else 0 end
            else sum(day_value) over (
                partition by experiment_id, subject_id, metric_id
                order by event_on rows between unbounded preceding and current row)
        end as metric_value
    from window_days
),

value_changes as (
    select
        experiment_id,
        subject_id,
        metric_id,
        changed_on,
        metric_value,
        coalesce(lag(metric_value) over (
            partition by experiment_id, subject_id, metric_id order by changed_on
        ), 0) as previous_value
    from running_values
),

increments as (
    select
        subject_metrics.experiment_id,
        subject_metrics.variant_id,
        subject_metrics.metric_id,
        cast(subject_metrics.first_exposed_at as date) as changed_on,
        1 as n,
        0 as sum_y,
        0 as sum_y_squares,
        subject_metrics.covariate_value as sum_x,
        subject_metrics.covariate_value * subject_metrics.covariate_value as sum_x_squares,
        0 as sum_xy
    from subject_metrics
    union all
    select
        subject_metrics.experiment_id,
        subject_metrics.variant_id,
        subject_metrics.metric_id,
        value_changes.changed_on,
        0 as n,
        value_changes.metric_value - value_changes.previous_value as sum_y,
        value_changes.metric_value * value_changes.metric_value
        - value_changes.previous_value * value_changes.previous_value as sum_y_squares,
        0 as sum_x,
        0 as sum_x_squares,
        subject_metrics.covariate_value
        * (value_changes.metric_value - value_changes.previous_value) as sum_xy
    from value_changes
    inner join subject_metrics
        on value_changes.experiment_id = subject_metrics.experiment_id
        and value_changes.subject_id = subject_metrics.subject_id
        and value_changes.metric_id = subject_metrics.metric_id
),

daily_increments as (
    select
        increments.experiment_id,
        increments.variant_id,
        increments.metric_id,
        increments.changed_on,
        {{ dbt.datediff('experiment_starts.started_on', 'increments.changed_on', 'day') }} + 1
            as day_number,
        sum(increments.n) as n,
        sum(increments.sum_y) as sum_y,
        sum(increments.sum_y_squares) as sum_y_squares,
        sum(increments.sum_x) as sum_x,
        sum(increments.sum_x_squares) as sum_x_squares,
        sum(increments.sum_xy) as sum_xy
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
    select distinct experiment_id, day_number, changed_on
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
        experiment_metrics.metric_id,
        coalesce(daily_increments.n, 0) as n,
        coalesce(daily_increments.sum_y, 0) as sum_y,
        coalesce(daily_increments.sum_y_squares, 0) as sum_y_squares,
        coalesce(daily_increments.sum_x, 0) as sum_x,
        coalesce(daily_increments.sum_x_squares, 0) as sum_x_squares,
        coalesce(daily_increments.sum_xy, 0) as sum_xy
    from days
    inner join experiment_variants
        on days.experiment_id = experiment_variants.experiment_id
    inner join experiment_metrics
        on days.experiment_id = experiment_metrics.experiment_id
    left join daily_increments
        on days.experiment_id = daily_increments.experiment_id
        and days.day_number = daily_increments.day_number
        and experiment_variants.variant_id = daily_increments.variant_id
        and experiment_metrics.metric_id = daily_increments.metric_id
),

final as (
    {%- set window = "over (partition by experiment_id, variant_id, metric_id order by day_number rows between unbounded preceding and current row)" %}
    select
        experiment_id,
        cast(day_number as {{ dbt.type_bigint() }}) as day_number,
        as_of_date,
        variant_id,
        metric_id,
        is_control,
        expected_share,
        cast(sum(n) {{ window }} as {{ dbt.type_bigint() }}) as n,
        cast(sum(sum_y) {{ window }} as {{ xp_type_double() }}) as sum_y,
        cast(sum(sum_y_squares) {{ window }} as {{ xp_type_double() }}) as sum_y_squares,
        cast(sum(sum_x) {{ window }} as {{ xp_type_double() }}) as sum_x,
        cast(sum(sum_x_squares) {{ window }} as {{ xp_type_double() }}) as sum_x_squares,
        cast(sum(sum_xy) {{ window }} as {{ xp_type_double() }}) as sum_xy
    from daily_grid
)

select * from final
