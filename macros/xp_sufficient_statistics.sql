{#- The six sufficient statistics of a metric y and its covariate x over the group's rows:
    n, Σy, Σy², Σx, Σx², Σxy (the statistics marts' columns, in order). -#}
{% macro xp_sufficient_statistics(y, x) -%}
    count(*) as n,
    sum({{ y }}) as sum_y,
    sum({{ y }} * {{ y }}) as sum_y_squares,
    sum({{ x }}) as sum_x,
    sum({{ x }} * {{ x }}) as sum_x_squares,
    sum({{ y }} * {{ x }}) as sum_xy
{%- endmacro %}

{#- The same six columns read from a left-joined relation: 0 where it has no row, cast to
    the marts' contracted types. -#}
{% macro xp_sufficient_statistics_or_zero(relation) -%}
    cast(coalesce({{ relation }}.n, 0) as {{ dbt.type_bigint() }}) as n,
    {%- for column in ['sum_y', 'sum_y_squares', 'sum_x', 'sum_x_squares', 'sum_xy'] %}
    cast(coalesce({{ relation }}.{{ column }}, 0) as {{ xp_type_double() }}) as {{ column }}
    {{- ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
