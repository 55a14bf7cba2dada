{{ config(enabled=xp_enabled()) }}
{#- One row per experiment, exposure day, variant and metric: the statistics mart's sums over
    the subjects first exposed by the end of that day (cumulative), each measured over its
    full metric window. Day 1 is the experiment's first exposure date; days on which nobody
    was exposed add nothing and have no row. The last day equals the statistics mart. -#}
with

subject_metrics as (
    select * from {{ ref('fct_subject_metrics') }}
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

subject_days as (
    select
        subject_metrics.*,
        cast(subject_metrics.first_exposed_at as date) as first_exposed_on,
        {{ dbt.datediff('experiment_starts.started_on',
                        'cast(subject_metrics.first_exposed_at as date)', 'day') }} + 1
            as day_number
    from subject_metrics
    inner join experiment_starts
        on subject_metrics.experiment_id = experiment_starts.experiment_id
),

daily_sums as (
    select
        experiment_id,
        variant_id,
        metric_id,
        day_number,
        count(*) as n,
        sum(metric_value) as sum_y,
        sum(metric_value * metric_value) as sum_y_squares,
        sum(covariate_value) as sum_x,
        sum(covariate_value * covariate_value) as sum_x_squares,
        sum(metric_value * covariate_value) as sum_xy
    from subject_days
    group by experiment_id, variant_id, metric_id, day_number
),

exposure_days as (
    select distinct experiment_id, day_number, first_exposed_on
    from subject_days
),

daily_grid as (
    select
        exposure_days.experiment_id,
        exposure_days.day_number,
        exposure_days.first_exposed_on as exposure_date,
        experiment_variants.variant_id,
        experiment_variants.is_control,
        experiment_variants.expected_share,
        experiment_metrics.metric_id,
        coalesce(daily_sums.n, 0) as n,
        coalesce(daily_sums.sum_y, 0) as sum_y,
        coalesce(daily_sums.sum_y_squares, 0) as sum_y_squares,
        coalesce(daily_sums.sum_x, 0) as sum_x,
        coalesce(daily_sums.sum_x_squares, 0) as sum_x_squares,
        coalesce(daily_sums.sum_xy, 0) as sum_xy
    from exposure_days
    inner join experiment_variants
        on exposure_days.experiment_id = experiment_variants.experiment_id
    inner join experiment_metrics
        on exposure_days.experiment_id = experiment_metrics.experiment_id
    left join daily_sums
        on exposure_days.experiment_id = daily_sums.experiment_id
        and exposure_days.day_number = daily_sums.day_number
        and experiment_variants.variant_id = daily_sums.variant_id
        and experiment_metrics.metric_id = daily_sums.metric_id
),

final as (
    {%- set window = "over (partition by experiment_id, variant_id, metric_id order by day_number rows between unbounded preceding and current row)" %}
    select
        experiment_id,
        cast(day_number as {{ dbt.type_bigint() }}) as day_number,
        exposure_date,
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
