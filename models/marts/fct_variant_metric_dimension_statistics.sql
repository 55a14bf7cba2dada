{{ config(enabled=xp_enabled() and xp_has_dimensions()) }}
{#- One row per experiment, dimension, dimension value, variant and metric: the sufficient
    statistics of the statistics mart restricted to the subjects with that value at first
    exposure. Every variant and metric has a row for every value (n = 0 when empty). -#}
with

subject_metrics as (
    select * from {{ ref('fct_subject_metrics') }}
),

dimensions as (
    select * from {{ ref('int_exposure_dimensions') }}
),

experiment_variants as (
    select * from {{ ref('stg_config__experiment_variants') }}
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

slice_values as (
    select distinct
        experiment_id,
        dimension_name,
        dimension_value
    from dimensions
),

slice_sums as (
    select
        dimensions.experiment_id,
        dimensions.dimension_name,
        dimensions.dimension_value,
        subject_metrics.variant_id,
        subject_metrics.metric_id,
        {{ xp_sufficient_statistics('subject_metrics.metric_value',
                                    'subject_metrics.covariate_value') }},
        {{ xp_ratio_statistics('subject_metrics.metric_value', 'subject_metrics.covariate_value',
                               'subject_metrics.denominator_value',
                               'subject_metrics.covariate_denominator_value') }}
    from subject_metrics
    inner join dimensions
        on subject_metrics.experiment_id = dimensions.experiment_id
        and subject_metrics.subject_id = dimensions.subject_id
    group by
        dimensions.experiment_id,
        dimensions.dimension_name,
        dimensions.dimension_value,
        subject_metrics.variant_id,
        subject_metrics.metric_id
),

final as (
    select
        slice_values.experiment_id,
        slice_values.dimension_name,
        slice_values.dimension_value,
        experiment_variants.variant_id,
        experiment_metrics.metric_id,
        experiment_variants.is_control,
        experiment_variants.expected_share,
        {{ xp_sufficient_statistics_or_zero('slice_sums') }},
        {{ xp_ratio_statistics_or_zero('slice_sums',
                                       "experiment_metrics.aggregation = 'ratio'") }},
        {{ xp_invocation_id_sql() }} as invocation_id
    from slice_values
    inner join experiment_variants
        on slice_values.experiment_id = experiment_variants.experiment_id
    inner join experiment_metrics
        on slice_values.experiment_id = experiment_metrics.experiment_id
    left join slice_sums
        on slice_values.experiment_id = slice_sums.experiment_id
        and slice_values.dimension_name = slice_sums.dimension_name
        and slice_values.dimension_value = slice_sums.dimension_value
        and experiment_variants.variant_id = slice_sums.variant_id
        and experiment_metrics.metric_id = slice_sums.metric_id
)

select * from final
