{{ config(enabled=xp_enabled()) }}
{{ xp_demo_dependency('demo_events') }}
with

{#- Only the days any metric can use (macros/xp_time_bounds.sql): on the date partition
    column too, when the var xp_events_partition_date_column names one. #}
source as (
    select * from {{ source('experimentation', 'events') }}
    where {{ xp_event_partition_condition(xp_events_partition_date_column(), 'events') }}
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
),

final as (
    select * from renamed
    where {{ xp_event_time_condition('event_at', 'events') }}
)

select * from final
