{{ config(enabled=xp_enabled()) }}
{{ xp_demo_dependency('demo_assignments') }}
with

source as (
    select * from {{ source('experimentation', 'assignments') }}
),

renamed as (
    select
        cast(subject_id as {{ dbt.type_string() }}) as subject_id,
        cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(variant_id as {{ dbt.type_string() }}) as variant_id,
        {{ xp_utc_timestamp(source('experimentation', 'assignments'), 'assigned_at') }}
            as assigned_at
        {%- for column in xp_dimension_columns() %},
        cast({{ adapter.quote(column) }} as {{ dbt.type_string() }}) as {{ column }}{% endfor %}
    from source
)

select * from renamed
