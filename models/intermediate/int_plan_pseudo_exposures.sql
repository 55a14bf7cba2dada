{{ config(enabled=xp_plan_enabled(), materialized="table") }}
{#- One row per proposed experiment and subject: the subjects of the planning population
    (the assignments of its population experiments, or every assignment), each
    pseudo-exposed at its first assignment in the history days, as if the experiment had
    exposed it then. Built only by `xp plan` (var xp_plan). -#}
{%- set experiments = xp_plan()['experiments'] %}
with

assignments as (
    select * from {{ ref('stg_experimentation__assignments') }}
),
{%- for experiment in experiments %}

population_{{ loop.index }} as (
    select
        {{ xp_config_literal(experiment['id'], dbt.type_string()) }} as experiment_id,
        subject_id,
        min(assigned_at) as pseudo_exposed_at
    from assignments
    where
        assigned_at >= {{ xp_plan_timestamp(experiment['exposures_from']) }}
        and assigned_at < {{ xp_plan_timestamp(experiment['exposures_to']) }}
        {%- if experiment['population_experiments'] %}
        {%- set literals = [] %}
        {%- for experiment_id in experiment['population_experiments'] %}
        {%- do literals.append(xp_string_literal(experiment_id)) %}
        {%- endfor %}
        and experiment_id in ({{ literals | join(', ') }})
        {%- endif %}
    group by subject_id
),
{%- endfor %}

final as (
    {%- for experiment in experiments %}
    select * from population_{{ loop.index }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as experiment_id,
        cast(null as {{ dbt.type_string() }}) as subject_id,
        cast(null as {{ dbt.type_timestamp() }}) as pseudo_exposed_at
    from assignments
    where 1 = 0
    {%- endfor %}
)

select * from final
