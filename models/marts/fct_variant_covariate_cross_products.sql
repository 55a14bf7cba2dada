{{ config(enabled=xp_enabled() and (xp_multi_cuped_experiments() | length > 0)) }}
{#- With the statistics mart's sums, these cross-products give each arm's covariance matrix
    of all covariates, so that CUPED++ runs in Python on sums alone. -#}
{%- set multi_cuped_experiments = [] %}
{%- for experiment_id in xp_multi_cuped_experiments() %}
{%- do multi_cuped_experiments.append(xp_string_literal(experiment_id)) %}
{%- endfor %}
with

subject_metrics as (
    select * from {{ ref('fct_subject_metrics') }}
    where
        experiment_id in ({{ multi_cuped_experiments | join(', ') }})
        and denominator_value is null
),

covariates as (
    select
        experiment_id,
        subject_id,
        metric_id as covariate_metric_id,
        covariate_value
    from subject_metrics
),

final as (
    select
        subject_metrics.experiment_id,
        subject_metrics.variant_id,
        subject_metrics.metric_id,
        covariates.covariate_metric_id,
        cast(
            sum(subject_metrics.metric_value * covariates.covariate_value)
            as {{ xp_type_double() }}
        ) as sum_y_covariate,
        cast(
            sum(subject_metrics.covariate_value * covariates.covariate_value)
            as {{ xp_type_double() }}
        ) as sum_x_covariate,
        {{ xp_invocation_id_sql() }} as invocation_id
    from subject_metrics
    inner join covariates
        on subject_metrics.experiment_id = covariates.experiment_id
        and subject_metrics.subject_id = covariates.subject_id
    group by
        subject_metrics.experiment_id,
        subject_metrics.variant_id,
        subject_metrics.metric_id,
        covariates.covariate_metric_id
)

select * from final
