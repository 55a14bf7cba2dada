{{ config(enabled=xp_enabled(), materialized="table") }}
{#- One row per experiment and winsorized metric: the caps on its per-subject values and on
    its covariate, percentiles over the experiment's subjects (all arms pooled, zeros
    included; percentile_cont interpolates linearly). Null where the metric has no lower
    cap. Read by fct_subject_metrics and the daily statistics. -#}
{%- set winsorized = [] %}
{%- for metric in xp_config()['metrics'] if metric.get('winsorize_upper') is not none %}
{%- do winsorized.append(metric) %}
{%- endfor %}
-- depends_on: {{ ref('int_counted_subject_metric_values') }}
{%- if winsorized %}
with

subject_metric_values as (
    select * from {{ ref('int_counted_subject_metric_values') }}
),

final as (
    {%- for metric in winsorized %}
    {{ xp_winsorization_caps(metric, 'subject_metric_values') }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
{%- else %}
select
    cast(null as {{ dbt.type_string() }}) as experiment_id,
    cast(null as {{ dbt.type_string() }}) as metric_id
    {%- for column in ['metric_value', 'covariate_value'] %},
    cast(null as {{ xp_type_double() }}) as {{ column }}_upper_cap,
    cast(null as {{ xp_type_double() }}) as {{ column }}_lower_cap{% endfor %}
where 1 = 0
{%- endif %}
