{#- `value` capped at `upper_cap` and, if given, raised to `lower_cap`; a null cap leaves it
    as it is (metrics without winsorization have no caps row). -#}
{% macro xp_winsorized(value, upper_cap, lower_cap=none) -%}
    {%- set capped = 'least(' ~ value ~ ', coalesce(' ~ upper_cap ~ ', ' ~ value ~ '))' -%}
    {%- if lower_cap is none -%}
        {{ capped }}
    {%- else -%}
        greatest({{ capped }}, coalesce({{ lower_cap }}, {{ capped }}))
    {%- endif -%}
{%- endmacro %}

{#- The rows of `relation` (event metric values) with both values capped at
    int_metric_winsorization_caps, in one macro so that fct_subject_metrics and
    int_weighted_subject_metrics cap alike. -#}
{% macro xp_capped_metric_values(relation, keys, where=none) -%}
    select
        {%- for key in keys %}
        event_metric_values.{{ key }},
        {%- endfor %}
        {%- for column in ['metric_value', 'covariate_value'] %}
        {{ xp_winsorized('event_metric_values.' ~ column,
                         'winsorization_caps.' ~ column ~ '_upper_cap',
                         'winsorization_caps.' ~ column ~ '_lower_cap') }} as {{ column }},
        {%- endfor %}
        cast(null as {{ xp_type_double() }}) as denominator_value,
        cast(null as {{ xp_type_double() }}) as covariate_denominator_value,
        event_metric_values.has_pre_exposure_events
    from {{ relation }} as event_metric_values
    left join {{ ref('int_metric_winsorization_caps') }} as winsorization_caps
        on event_metric_values.experiment_id = winsorization_caps.experiment_id
        and event_metric_values.metric_id = winsorization_caps.metric_id
    {%- if where is not none %}
    where {{ where }}
    {%- endif %}
{%- endmacro %}

{#- One winsorized metric's caps over the subjects in `relation` (one row per experiment):
    percentiles of its per-subject values and of its covariate, all arms pooled;
    percentile_cont interpolates linearly; null where the metric has no cap on that side.
    Shared by the analysis (int_metric_winsorization_caps) and the plan
    (fct_plan_metric_statistics), so that both cap alike. -#}
{% macro xp_winsorization_caps(metric, relation) -%}
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
    from {{ relation }}
    where metric_id = {{ xp_string_literal(metric['id']) }}
    group by experiment_id, metric_id
{%- endmacro %}
