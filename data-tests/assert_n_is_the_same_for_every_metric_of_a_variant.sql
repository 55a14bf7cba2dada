{{ config(enabled=xp_enabled()) }}
{#- Every metric of an experiment is measured on the same analysed subjects, so a variant's
    n must not depend on the metric (the analysis step relies on it for the SRM check) -
    except for metrics that count only matured subjects, and ratios of such metrics. -#}
with

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

matured_only_metrics as (
    select
        experiment_id,
        metric_id
    from experiment_metrics
    where is_matured_subjects_only
    union all
    select
        ratios.experiment_id,
        ratios.metric_id
    from experiment_metrics as ratios
    inner join experiment_metrics as components
        on ratios.experiment_id = components.experiment_id
        and components.metric_id in (ratios.numerator_metric_id, ratios.denominator_metric_id)
    where components.is_matured_subjects_only
),

variant_statistics as (
    select variant_statistics.*
    from {{ ref('fct_variant_metric_statistics') }} as variant_statistics
    left join matured_only_metrics
        on variant_statistics.experiment_id = matured_only_metrics.experiment_id
        and variant_statistics.metric_id = matured_only_metrics.metric_id
    where matured_only_metrics.metric_id is null
)

select
    experiment_id,
    variant_id,
    min(n) as smallest_n,
    max(n) as largest_n
from variant_statistics
group by experiment_id, variant_id
having min(n) <> max(n)
