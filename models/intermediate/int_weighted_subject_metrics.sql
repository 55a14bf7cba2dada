{{ config(enabled=xp_enabled()) }}
{#- The subjects without events of each variant, metric and first exposure date folded into
    one row of weight n_subjects, so that the statistics marts sum far fewer rows than
    fct_subject_metrics has, to the same sums. -#}
with

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
    where is_analysed
),

event_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
    where aggregation <> 'ratio'
),

{# Read twice below: inlined on DuckDB, so that a reader's filters (a night's recent
    exposure dates) reach the table scan (macros/xp_not_materialized.sql). -#}
subject_metric_values as {{ xp_not_materialized() }} (
    select subject_metric_values.*
    from {{ ref('int_subject_metric_values') }} as subject_metric_values
    inner join event_metrics
        on subject_metric_values.experiment_id = event_metrics.experiment_id
        and subject_metric_values.metric_id = event_metrics.metric_id
    where
        subject_metric_values.is_analysed
        and {{ xp_counts_at_analysis('subject_metric_values.first_exposed_at',
                                     'event_metrics') }}
),

{# The subjects per first exposure date, then per metric that counts them all; and the
    matured ones alone for the metrics that count only those (the maturity test needs each
    first exposure time). -#}
exposures_per_day as (
    select
        experiment_id,
        variant_id,
        cast(first_exposed_at as date) as first_exposed_on,
        count(*) as n_subjects
    from exposures
    group by experiment_id, variant_id, cast(first_exposed_at as date)
),

counted_subjects as (
    select
        exposures_per_day.experiment_id,
        exposures_per_day.variant_id,
        event_metrics.metric_id,
        exposures_per_day.first_exposed_on,
        exposures_per_day.n_subjects
    from exposures_per_day
    inner join event_metrics
        on exposures_per_day.experiment_id = event_metrics.experiment_id
    where not event_metrics.is_matured_subjects_only
    union all
    select
        exposures.experiment_id,
        exposures.variant_id,
        event_metrics.metric_id,
        cast(exposures.first_exposed_at as date) as first_exposed_on,
        count(*) as n_subjects
    from exposures
    inner join event_metrics
        on exposures.experiment_id = event_metrics.experiment_id
    where
        event_metrics.is_matured_subjects_only
        and {{ xp_counts_at_analysis('exposures.first_exposed_at', 'event_metrics') }}
    group by
        exposures.experiment_id,
        exposures.variant_id,
        event_metrics.metric_id,
        cast(exposures.first_exposed_at as date)
),

counted_subjects_with_events as (
    select
        experiment_id,
        variant_id,
        metric_id,
        cast(first_exposed_at as date) as first_exposed_on,
        count(*) as n_subjects
    from subject_metric_values
    group by experiment_id, variant_id, metric_id, cast(first_exposed_at as date)
),

values_with_events as (
    select
        experiment_id,
        subject_key,
        metric_id,
        variant_id,
        cast(first_exposed_at as date) as first_exposed_on,
        1 as n_subjects,
        metric_value,
        covariate_value,
        has_pre_exposure_events
    from subject_metric_values
),

values_without_events as (
    select
        counted_subjects.experiment_id,
        cast(null as {{ dbt.type_bigint() }}) as subject_key,
        counted_subjects.metric_id,
        counted_subjects.variant_id,
        counted_subjects.first_exposed_on,
        counted_subjects.n_subjects - coalesce(counted_subjects_with_events.n_subjects, 0)
            as n_subjects,
        cast(0 as {{ xp_type_double() }}) as metric_value,
        cast(0 as {{ xp_type_double() }}) as covariate_value,
        false as has_pre_exposure_events
    from counted_subjects
    left join counted_subjects_with_events
        on counted_subjects.experiment_id = counted_subjects_with_events.experiment_id
        and counted_subjects.variant_id = counted_subjects_with_events.variant_id
        and counted_subjects.metric_id = counted_subjects_with_events.metric_id
        and counted_subjects.first_exposed_on = counted_subjects_with_events.first_exposed_on
    where counted_subjects.n_subjects > coalesce(counted_subjects_with_events.n_subjects, 0)
),

event_metric_values as (
    select * from values_with_events
    union all
    select * from values_without_events
),

capped_event_metric_values as (
    {{ xp_capped_metric_values('event_metric_values', ['experiment_id', 'subject_key', 'metric_id',
                               'variant_id', 'first_exposed_on', 'n_subjects']) }}
),
{%- if xp_ratio_metrics() %}

{# Only the ratio metrics' rows of the subject facts (literal ids, which reach into the
    view). -#}
ratio_metric_values as (
    select
        experiment_id,
        {{ xp_subject_key('experiment_id', 'subject_id') }} as subject_key,
        metric_id,
        variant_id,
        cast(first_exposed_at as date) as first_exposed_on,
        1 as n_subjects,
        metric_value,
        covariate_value,
        denominator_value,
        covariate_denominator_value,
        has_pre_exposure_events
    from {{ ref('fct_subject_metrics') }}
    where {{ xp_in_ratio_metrics('metric_id') }}
),
{%- endif %}

final as (
    select * from capped_event_metric_values
    {%- if xp_ratio_metrics() %}
    union all
    select * from ratio_metric_values
    {%- endif %}
)

select * from final
