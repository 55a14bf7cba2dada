{{ config(enabled=xp_enabled(), materialized="view") }}
{#- A ratio's numerator and denominator are capped over the same population (all the
    experiment's subjects) before they are paired, so that the ratio of capped values
    stays consistent (unlike GrowthBook's bug #6331). -#}
with

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

event_metric_values as (
    select * from {{ ref('int_counted_subject_metric_values') }}
),

capped_metric_values as (
    {{ xp_capped_metric_values('event_metric_values', ['experiment_id', 'subject_id', 'metric_id',
                               'variant_id', 'first_exposed_at']) }}
),
{%- if xp_ratio_metrics() %}

{# The ratios' numerators and denominators alone (literal ids, which the engine applies
    before it builds their rows), read twice below. -#}
ratio_components as (
    {{ xp_capped_metric_values('event_metric_values', ['experiment_id', 'subject_id', 'metric_id',
                               'variant_id', 'first_exposed_at'],
                               where=xp_in_ratio_metrics('event_metric_values.metric_id',
                                                         components=true)) }}
),

ratio_metric_values as (
    select
        numerators.experiment_id,
        numerators.subject_id,
        ratios.metric_id,
        numerators.variant_id,
        numerators.first_exposed_at,
        numerators.metric_value,
        numerators.covariate_value,
        denominators.metric_value as denominator_value,
        denominators.covariate_value as covariate_denominator_value,
        numerators.has_pre_exposure_events or denominators.has_pre_exposure_events
            as has_pre_exposure_events
    from experiment_metrics as ratios
    inner join ratio_components as numerators
        on ratios.experiment_id = numerators.experiment_id
        and ratios.numerator_metric_id = numerators.metric_id
    inner join ratio_components as denominators
        on numerators.experiment_id = denominators.experiment_id
        and numerators.subject_id = denominators.subject_id
        and ratios.denominator_metric_id = denominators.metric_id
    where ratios.aggregation = 'ratio'
),
{%- endif %}

final as (
    select * from capped_metric_values
    {%- if xp_ratio_metrics() %}
    union all
    select * from ratio_metric_values
    {%- endif %}
)

select * from final
