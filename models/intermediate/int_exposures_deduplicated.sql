{{ config(enabled=xp_enabled(), materialized="table") }}
{#- One row per experiment and subject: the first exposure, and whether the subject was seen
    in more than one variant (then it is excluded from the analysis and counted).
    Exposures at or after the analysis time (var xp_analysis_at) are left out.
    A table, not a view: two models read it, and as a view Postgres estimated it at one row
    and chose a nested loop that took 160 s on the demo (0.3 s as a table). -#}
with

assignments as (
    select * from {{ ref('stg_experimentation__assignments') }}
    where {{ xp_before_analysis_at('assigned_at') }}
),

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
        -- One variant when the smallest and largest agree: half the time of a
        -- count(distinct) on the 10M-event benchmark's 1.1M exposure rows (0.5 s -> 0.25 s).
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
