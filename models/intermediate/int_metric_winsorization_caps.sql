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
    select
        experiment_id,
        metric_id,
        {%- for column in ['metric_value', 'covariate_value'] %}
        {%- for side in ['upper', 'lower'] %}
        {%- set fraction = metric.get('winsorize_' ~ side) %}
        {%- if fraction is none %}
        cast(null as {{ xp_type_double() }}) as {{ column }}_{{ side }}_cap
        {%- else %}
        percentile_cont({{ fraction | float }}) within group (order by {{ column }})
            as {{ column }}_{{ side }}_cap
        {%- endif %}
        {%- if not (loop.last and column == 'covariate_value') %},{% endif %}
        {%- endfor %}
        {%- endfor %}
    from subject_metric_values
    where metric_id = {{ xp_string_literal(metric['id']) }}
    group by experiment_id, metric_id
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
