{{ config(enabled=xp_enabled()) }}
{#- One row per experiment, variant and metric: the sufficient statistics of the metric (y)
    and its pre-exposure covariate (x) over the variant's analysed subjects. The only table
    the Python analysis step reads. Configured variants without subjects appear with n = 0. -#}
with

experiment_variants as (
    select * from {{ ref('stg_config__experiment_variants') }}
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

{# fct_subject_metrics with the subjects without events folded into weighted rows. -#}
subject_metrics as (
    select * from {{ ref('int_weighted_subject_metrics') }}
),

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
),

variant_sums as (
    select
        experiment_id,
        variant_id,
        metric_id,
        {{ xp_sufficient_statistics('metric_value', 'covariate_value',
                                    weight='n_subjects') }},
        {{ xp_ratio_statistics('metric_value', 'covariate_value', 'denominator_value',
                               'covariate_denominator_value', weight='n_subjects') }},
        sum(case when has_pre_exposure_events then n_subjects else 0 end)
            as n_with_pre_exposure_events
    from subject_metrics
    group by experiment_id, variant_id, metric_id
),

excluded_subjects as (
    select
        experiment_id,
        sum(case when is_multi_variant then 1 else 0 end) as n_multi_variant_subjects,
        sum(case when is_unknown_variant then 1 else 0 end) as n_unknown_variant_subjects
    from exposures
    group by experiment_id
),

final as (
    select
        experiment_variants.experiment_id,
        experiment_variants.variant_id,
        experiment_metrics.metric_id,
        experiment_variants.is_control,
        experiment_variants.expected_share,
        {{ xp_sufficient_statistics_or_zero('variant_sums') }},
        {{ xp_ratio_statistics_or_zero('variant_sums',
                                       "experiment_metrics.aggregation = 'ratio'") }},
        cast(coalesce(variant_sums.n_with_pre_exposure_events, 0) as {{ dbt.type_bigint() }})
            as n_with_pre_exposure_events,
        cast(coalesce(excluded_subjects.n_multi_variant_subjects, 0) as {{ dbt.type_bigint() }})
            as n_multi_variant_subjects,
        cast(coalesce(excluded_subjects.n_unknown_variant_subjects, 0) as {{ dbt.type_bigint() }})
            as n_unknown_variant_subjects,
        cast({{ xp_string_literal(xp_config()['hash']) }} as {{ dbt.type_string() }})
            as config_hash,
        cast({{ xp_analysis_at_sql() }} as {{ dbt.type_timestamp() }}) as analysis_at,
        {{ xp_invocation_id_sql() }} as invocation_id
    from experiment_variants
    inner join experiment_metrics
        on experiment_variants.experiment_id = experiment_metrics.experiment_id
    left join variant_sums
        on experiment_variants.experiment_id = variant_sums.experiment_id
        and experiment_variants.variant_id = variant_sums.variant_id
        and experiment_metrics.metric_id = variant_sums.metric_id
    left join excluded_subjects
        on experiment_variants.experiment_id = excluded_subjects.experiment_id
)

select * from final
