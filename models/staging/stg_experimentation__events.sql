{{ config(enabled=xp_enabled()) }}
{{ xp_demo_dependency('demo_events') }}
with

source as (
    select * from {{ source('experimentation', 'events') }}
),

renamed as (
    select
        cast(subject_id as {{ dbt.type_string() }}) as subject_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        {{ xp_utc_timestamp(source('experimentation', 'events'), 'event_at') }} as event_at,
        cast(value as {{ xp_type_double() }}) as value
        {#- Extra columns that metrics filter on keep their own type, so that numeric
            filters compare numbers. #}
        {%- for column in xp_event_filter_columns() %},
        {{ adapter.quote(column) }} as {{ column }}{% endfor %}
    from source
)

select * from renamed
