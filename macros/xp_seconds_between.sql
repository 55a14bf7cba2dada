{#- The whole seconds elapsed from `from_time` to `to_time` (UTC timestamps): the floor of the
    exact difference, as a bigint. An event 0.3 s before its exposure is at -1 (before it),
    one 0.5 s short of a 7-day window's end at 604799 (inside it). dbt.datediff(..., 'second')
    counts the second marks crossed instead (0 and 604800 for those two events): it moved
    events within a second of a window's edge to the other side of it. Against whole-second
    bounds, `lower <= xp_seconds_between(a, b) < upper` is the exact `lower <= b - a < upper`. -#}
{% macro xp_seconds_between(from_time, to_time) -%}
    {{ return(adapter.dispatch('xp_seconds_between', 'experiment_analysis')(from_time, to_time)) }}
{%- endmacro %}

{#- Through dbt's microseconds (exact where timestamps are microseconds, as on Snowflake,
    Redshift and BigQuery), divided as a decimal, then the floor. -#}
{% macro default__xp_seconds_between(from_time, to_time) -%}
    cast(floor(({{ dbt.datediff(from_time, to_time, 'microsecond') }}) / 1000000.0)
         as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- The interval's seconds, exact (numeric since Postgres 14); dbt's microsecond datediff
    nests four datediffs. -#}
{% macro postgres__xp_seconds_between(from_time, to_time) -%}
    cast(floor(extract(epoch from (({{ to_time }}) - ({{ from_time }})))) as bigint)
{%- endmacro %}

{#- Exact integer microseconds; the double quotient's floor is exact for any window under
    30 years (the quotient is within 1e-7 of an integer only where it is one). -#}
{% macro duckdb__xp_seconds_between(from_time, to_time) -%}
    cast(floor((epoch_us({{ to_time }}) - epoch_us({{ from_time }})) / 1000000.0) as bigint)
{%- endmacro %}

{#- dbt-spark's datediff goes through to_unix_timestamp, whole seconds. -#}
{% macro spark__xp_seconds_between(from_time, to_time) -%}
    cast(floor((unix_micros({{ to_time }}) - unix_micros({{ from_time }})) / 1000000.0) as bigint)
{%- endmacro %}
