{{ config(enabled=xp_enabled()) }}
{#- One row per experiment, analysed subject and event metric (not ratios): the metric's value
    in its window after first exposure and over the pre-exposure lookback (the CUPED
    covariate), before winsorisation. Subjects without events get 0. Metrics with
    matured_subjects_only (retention always) keep only the subjects whose window has ended
    at the analysis time (macros/xp_analysis_at.sql). -#}
with

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
    where is_analysed
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

subject_metric_days as (
    select * from {{ ref('int_subject_metric_days') }}
),

subject_metric_values as (
    select
        experiment_id,
        subject_id,
        metric_id,
        {{ xp_combine_days('aggregation', "period = 'window'") }} as metric_value,
        {{ xp_combine_days('aggregation', "period = 'lookback'") }} as covariate_value,
        sum(case when period = 'lookback' then n_events else 0 end) as n_pre_exposure_events
    from subject_metric_days
    group by experiment_id, subject_id, metric_id, aggregation
),

final as (
    select
        exposures.experiment_id,
        exposures.subject_id,
        experiment_metrics.metric_id,
        exposures.variant_id,
        exposures.first_exposed_at,
        cast(coalesce(subject_metric_values.metric_value, 0) as {{ xp_type_double() }})
            as metric_value,
        cast(coalesce(subject_metric_values.covariate_value, 0) as {{ xp_type_double() }})
            as covariate_value,
        coalesce(subject_metric_values.n_pre_exposure_events, 0) > 0 as has_pre_exposure_events
    from exposures
    inner join experiment_metrics
        on exposures.experiment_id = experiment_metrics.experiment_id
    left join subject_metric_values
        on exposures.experiment_id = subject_metric_values.experiment_id
        and exposures.subject_id = subject_metric_values.subject_id
        and experiment_metrics.metric_id = subject_metric_values.metric_id
    where
        experiment_metrics.aggregation <> 'ratio'
        and (
            not experiment_metrics.is_matured_subjects_only
            or {{ dbt.datediff('exposures.first_exposed_at', xp_analysis_at_sql(), 'second') }}
                >= experiment_metrics.window_end_seconds
        )
)

select * from final
