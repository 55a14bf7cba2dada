{{ config(enabled=xp_enabled()) }}
{#- Dense, and a view: it changes with the analysis time, the incremental table under it does
    not. Read where every subject's value is needed; the statistics marts read the sparse
    rows (int_weighted_subject_metrics). -#}
with

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
    where is_analysed
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
    where aggregation <> 'ratio'
),

subject_metric_values as (
    select * from {{ ref('int_subject_metric_values') }}
),

final as (
    select
        exposures.experiment_id,
        exposures.subject_id,
        experiment_metrics.metric_id,
        exposures.variant_id,
        exposures.first_exposed_at,
        exposures.last_exposed_at,
        exposures.is_analysed,
        coalesce(subject_metric_values.metric_value, 0) as metric_value,
        coalesce(subject_metric_values.covariate_value, 0) as covariate_value,
        coalesce(subject_metric_values.has_pre_exposure_events, false)
            as has_pre_exposure_events
    from exposures
    inner join experiment_metrics
        on exposures.experiment_id = experiment_metrics.experiment_id
    left join subject_metric_values
        on exposures.experiment_id = subject_metric_values.experiment_id
        and exposures.subject_key = subject_metric_values.subject_key
        and experiment_metrics.metric_id = subject_metric_values.metric_id
    where {{ xp_counts_at_analysis('exposures.first_exposed_at', 'experiment_metrics') }}
)

select * from final
