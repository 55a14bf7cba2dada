{{ config(enabled=xp_enabled() and xp_has_dimensions(), materialized="table") }}
{#- One row per experiment, analysed subject and dimension of the experiment: the subject's
    value on its first exposure row ('(missing)' when null). Values outside the experiment's
    top max_dimension_values by subjects are folded into '(other)'. -#}
{%- set config = xp_config() %}
with

assignments as (
    select * from {{ ref('stg_experimentation__assignments') }}
),

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
    where is_analysed
),

first_exposure_attributes as (
    select
        exposures.experiment_id,
        exposures.subject_id
        {%- for column in xp_dimension_columns() %},
        min(assignments.{{ column }}) as {{ column }}{% endfor %}
    from exposures
    inner join assignments
        on exposures.experiment_id = assignments.experiment_id
        and exposures.subject_id = assignments.subject_id
        and exposures.first_exposed_at = assignments.assigned_at
    group by exposures.experiment_id, exposures.subject_id
),

dimension_values as (
    {%- set selects = [] %}
    {%- for experiment in config['experiments'] %}
    {%- for column in experiment.get('dimensions', []) %}
    {%- do selects.append((experiment['id'], column)) %}
    {%- endfor %}
    {%- endfor %}
    {%- for experiment_id, column in selects %}
    select
        experiment_id,
        subject_id,
        cast({{ xp_string_literal(column) }} as {{ dbt.type_string() }}) as dimension_name,
        coalesce({{ column }}, '(missing)') as dimension_value
    from first_exposure_attributes
    where experiment_id = {{ xp_string_literal(experiment_id) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

value_ranks as (
    select
        experiment_id,
        dimension_name,
        dimension_value,
        row_number() over (
            partition by experiment_id, dimension_name
            order by count(*) desc, dimension_value
        ) as value_rank
    from dimension_values
    group by experiment_id, dimension_name, dimension_value
),

final as (
    select
        dimension_values.experiment_id,
        dimension_values.subject_id,
        dimension_values.dimension_name,
        case
            when
                value_ranks.value_rank <= case dimension_values.experiment_id
                    {%- for experiment in config['experiments'] %}
                    when {{ xp_string_literal(experiment['id']) }}
                        then {{ experiment.get('max_dimension_values', 10) | int }}
                    {%- endfor %}
                end
                then dimension_values.dimension_value
            else '(other)'
        end as dimension_value
    from dimension_values
    inner join value_ranks
        on dimension_values.experiment_id = value_ranks.experiment_id
        and dimension_values.dimension_name = value_ranks.dimension_name
        and dimension_values.dimension_value = value_ranks.dimension_value
)

select * from final
