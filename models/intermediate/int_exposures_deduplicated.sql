{{ config(
    enabled=xp_enabled(),
    materialized=xp_incremental_materialization(),
    incremental_strategy="replace_subjects",
    unique_key=["experiment_id", "subject_id"],
    on_schema_change="fail",
    post_hook="{{ xp_record_incremental_state(settled_rows='assignments') }}",
) }}
{#- A table, not a view: two models read it, and Postgres plans a view of it badly.
    Incremental (macros/xp_incremental.sql): a night recomputes only the subjects exposed
    since the latest exposure it has seen, less xp_late_data_days, after checking that the
    assignments before that did not change (macros/xp_settled_rows.sql). -#}
{%- do xp_rebuild_stale_state(settled_rows='assignments') %}
{%- set new_exposures_from = xp_new_exposures_from(this) %}
with

{#- Only exposures inside each experiment's analysed phase count (macros/xp_time_bounds.sql):
    a subject's first exposure is its first one inside the phase. #}
all_assignments as (
    select * from {{ ref('stg_experimentation__assignments') }}
    where
        {{ xp_before_analysis_at('assigned_at') }}
        and {{ xp_exposure_time_condition('assigned_at', 'experiment_id') }}
),
{%- if new_exposures_from %}

subjects_with_new_exposures as (
    select distinct
        experiment_id,
        subject_id
    from all_assignments
    where
        assigned_at >= cast(
            {{ xp_string_literal(new_exposures_from) }} as {{ dbt.type_timestamp() }}
        )
),

assignments as (
    select all_assignments.*
    from all_assignments
    inner join subjects_with_new_exposures
        on all_assignments.experiment_id = subjects_with_new_exposures.experiment_id
        and all_assignments.subject_id = subjects_with_new_exposures.subject_id
),
{%- else %}

assignments as (
    select * from all_assignments
),
{%- endif %}

experiment_variants as (
    select * from {{ ref('stg_config__experiment_variants') }}
),

configured_experiments as (
    select distinct experiment_id from experiment_variants
),

exposures_per_subject as (
    select
        assignments.experiment_id,
        assignments.subject_id,
        min(assignments.assigned_at) as first_exposed_at,
        max(assignments.assigned_at) as last_exposed_at,
        -- One variant when the smallest and largest agree: cheaper than a count(distinct).
        coalesce(min(assignments.variant_id) <> max(assignments.variant_id), false)
            as is_multi_variant,
        min(assignments.variant_id) as any_variant_id,
        count(*) as n_exposures
    from assignments
    inner join configured_experiments
        on assignments.experiment_id = configured_experiments.experiment_id
    group by assignments.experiment_id, assignments.subject_id
),

final as (
    select
        exposures_per_subject.experiment_id,
        exposures_per_subject.subject_id,
        {{ xp_subject_key('exposures_per_subject.experiment_id',
                          'exposures_per_subject.subject_id') }} as subject_key,
        case
            when not exposures_per_subject.is_multi_variant
                then exposures_per_subject.any_variant_id
        end as variant_id,
        exposures_per_subject.first_exposed_at,
        exposures_per_subject.last_exposed_at,
        exposures_per_subject.n_exposures,
        exposures_per_subject.is_multi_variant,
        not exposures_per_subject.is_multi_variant
        and experiment_variants.variant_id is null as is_unknown_variant,
        not exposures_per_subject.is_multi_variant
        and experiment_variants.variant_id is not null as is_analysed
    from exposures_per_subject
    left join experiment_variants
        on exposures_per_subject.experiment_id = experiment_variants.experiment_id
        and exposures_per_subject.any_variant_id = experiment_variants.variant_id
)

select * from final
