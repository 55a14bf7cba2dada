{{ config(
    enabled=xp_enabled(),
    materialized=xp_incremental_materialization(),
    incremental_strategy="replace_subjects",
    unique_key=["experiment_id", "subject_key", "metric_id"],
    on_schema_change="fail",
    post_hook="{{ xp_record_incremental_state() }}",
) }}
{#- Sparse (a subject without events has no row), because most subject and metric pairs
    have none. Subjects that are not analysed keep their rows, so that a subject who turns
    multi-variant overnight has its earlier rows replaced rather than left behind. -#}
{%- do xp_rebuild_stale_state() %}
{%- set new_exposures_from = xp_new_exposures_from(this) %}
with

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

all_subject_metric_days as (
    select * from {{ ref('int_subject_metric_days') }}
),
{%- if new_exposures_from %}

affected_subjects as (
    select
        experiment_id,
        subject_key
    from all_subject_metric_days
    where
        loaded_at = cast(
            {{ xp_string_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }}
            as {{ dbt.type_timestamp() }}
        )
    union
    select
        experiment_id,
        subject_key
    from exposures
    where
        last_exposed_at >= cast(
            {{ xp_string_literal(new_exposures_from) }} as {{ dbt.type_timestamp() }}
        )
),

affected_exposures as (
    select exposures.*
    from exposures
    inner join affected_subjects
        on exposures.experiment_id = affected_subjects.experiment_id
        and exposures.subject_key = affected_subjects.subject_key
),

subject_metric_days as (
    select all_subject_metric_days.*
    from all_subject_metric_days
    inner join affected_subjects
        on all_subject_metric_days.experiment_id = affected_subjects.experiment_id
        and all_subject_metric_days.subject_key = affected_subjects.subject_key
),
{%- else %}

affected_exposures as (
    select * from exposures
),

subject_metric_days as (
    select * from all_subject_metric_days
),
{%- endif %}

{# The sums of the subject's window days and lookback days (the metric's definition is
    joined after grouping, on fewer rows and keys), then the values they give
    (macros/xp_metric_values.sql). -#}
subject_metric_sums as (
    select
        experiment_id,
        subject_key,
        metric_id,
        coalesce(sum(case when period = 'window' then day_value end), 0) as window_sum,
        coalesce(sum(case when period = 'lookback' then day_value end), 0) as lookback_sum,
        sum(case when period = 'lookback' then n_events else 0 end) as n_pre_exposure_events
    from subject_metric_days
    group by experiment_id, subject_key, metric_id
),

subject_metric_values as (
    select
        subject_metric_sums.experiment_id,
        subject_metric_sums.subject_key,
        subject_metric_sums.metric_id,
        {%- for column, day_sum in [('metric_value', 'window_sum'),
                                    ('covariate_value', 'lookback_sum')] %}
        {{ xp_value_of_day_sum('experiment_metrics.aggregation',
                               'subject_metric_sums.' ~ day_sum,
                               'experiment_metrics.threshold_at_least') }} as {{ column }},
        {%- endfor %}
        subject_metric_sums.n_pre_exposure_events
    from subject_metric_sums
    inner join experiment_metrics
        on subject_metric_sums.experiment_id = experiment_metrics.experiment_id
        and subject_metric_sums.metric_id = experiment_metrics.metric_id
),

final as (
    select
        affected_exposures.experiment_id,
        affected_exposures.subject_key,
        subject_metric_values.metric_id,
        affected_exposures.variant_id,
        affected_exposures.first_exposed_at,
        affected_exposures.last_exposed_at,
        affected_exposures.is_analysed,
        cast(subject_metric_values.metric_value as {{ xp_type_double() }}) as metric_value,
        cast(subject_metric_values.covariate_value as {{ xp_type_double() }}) as covariate_value,
        subject_metric_values.n_pre_exposure_events > 0 as has_pre_exposure_events
    from affected_exposures
    inner join subject_metric_values
        on affected_exposures.experiment_id = subject_metric_values.experiment_id
        and affected_exposures.subject_key = subject_metric_values.subject_key
)

select * from final
