{{ config(enabled=xp_enabled()) }}
{#- The rows of int_subject_metric_values that count at the analysis time: analysed
    subjects only, and for metrics with
    matured_subjects_only (retention always) keep only the subjects whose window has ended
    by then (macros/xp_analysis_at.sql); other metrics keep every subject. A view: it
    changes with the analysis time, the incremental table under it does not. -#}
with

subject_metric_values as (
    select * from {{ ref('int_subject_metric_values') }}
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

final as (
    select subject_metric_values.*
    from subject_metric_values
    inner join experiment_metrics
        on subject_metric_values.experiment_id = experiment_metrics.experiment_id
        and subject_metric_values.metric_id = experiment_metrics.metric_id
    where
        subject_metric_values.is_analysed
        and (
            not experiment_metrics.is_matured_subjects_only
            or {{ dbt.datediff('subject_metric_values.first_exposed_at', xp_analysis_at_sql(),
                               'second') }}
                >= experiment_metrics.window_end_seconds
        )
)

select * from final
