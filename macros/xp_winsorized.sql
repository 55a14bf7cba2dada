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
