{{ config(enabled=xp_enabled()) }}
{#- The variants of every configured experiment, from the experiment config (var xp_config). -#}
{%- set config = xp_config() %}
with

variants as (
    {%- for experiment in config['experiments'] %}
    {%- set outer_loop = loop %}
    {%- for variant in experiment['variants'] %}
    select
        cast({{ xp_string_literal(experiment['id']) }} as {{ dbt.type_string() }}) as experiment_id,
        cast({{ xp_string_literal(variant['id']) }} as {{ dbt.type_string() }}) as variant_id,
        {{ 'true' if variant['is_control'] else 'false' }} as is_control,
        cast({{ variant['expected_share'] | float }} as {{ xp_type_double() }}) as expected_share
    {%- if not (loop.last and outer_loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
)

select * from variants
