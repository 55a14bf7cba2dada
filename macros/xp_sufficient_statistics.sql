{#- The names of the statistics marts' sum columns (after n), and of the ratio metrics'
    further sums; analysis_py/pipeline/comparisons.py lists the same as SUM_COLUMNS and
    RATIO_SUM_COLUMNS. -#}
{% macro xp_sum_columns() -%}
    {{ return(['sum_y', 'sum_y_squares', 'sum_x', 'sum_x_squares', 'sum_xy']) }}
{%- endmacro %}

{% macro xp_ratio_sum_columns() -%}
    {{ return(['sum_d', 'sum_d_squares', 'sum_w', 'sum_w_squares', 'sum_yd', 'sum_yw', 'sum_xd',
               'sum_xw', 'sum_dw']) }}
{%- endmacro %}

{#- The six sufficient statistics of a metric y and its covariate x over the group's rows:
    n, Σy, Σy², Σx, Σx², Σxy (the statistics marts' columns, in order). With `weight`, each
    row stands for that many subjects with the same values (int_weighted_subject_metrics). -#}
{% macro xp_sufficient_statistics(y, x, weight=none) -%}
    {%- set w = '' if weight is none else weight ~ ' * ' -%}
    {{ 'count(*)' if weight is none else 'sum(' ~ weight ~ ')' }} as n,
    sum({{ w }}{{ y }}) as sum_y,
    sum({{ w }}{{ y }} * {{ y }}) as sum_y_squares,
    sum({{ w }}{{ x }}) as sum_x,
    sum({{ w }}{{ x }} * {{ x }}) as sum_x_squares,
    sum({{ w }}{{ y }} * {{ x }}) as sum_xy
{%- endmacro %}

{#- The same six columns read from a left-joined relation: 0 where it has no row, cast to
    the marts' contracted types. -#}
{% macro xp_sufficient_statistics_or_zero(relation) -%}
    cast(coalesce({{ relation }}.n, 0) as {{ dbt.type_bigint() }}) as n,
    {%- for column in xp_sum_columns() %}
    cast(coalesce({{ relation }}.{{ column }}, 0) as {{ xp_type_double() }}) as {{ column }}
    {{- ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The further sums a ratio metric needs, over the rows where the denominator d is not null:
    its numerator is y (with covariate x), its denominator d (with covariate w), and the
    delta method and ratio CUPED need every mean and second moment of (y, d, x, w).
    Null for metrics that are not ratios. `weight` as for xp_sufficient_statistics. -#}
{% macro xp_ratio_statistics(y, x, d, w, weight=none) -%}
    {%- set k = '' if weight is none else weight ~ ' * ' -%}
    sum({{ k }}{{ d }}) as sum_d,
    sum({{ k }}{{ d }} * {{ d }}) as sum_d_squares,
    sum({{ k }}{{ w }}) as sum_w,
    sum({{ k }}{{ w }} * {{ w }}) as sum_w_squares,
    sum({{ k }}{{ y }} * {{ d }}) as sum_yd,
    sum({{ k }}{{ y }} * {{ w }}) as sum_yw,
    sum({{ k }}{{ x }} * {{ d }}) as sum_xd,
    sum({{ k }}{{ x }} * {{ w }}) as sum_xw,
    sum({{ k }}{{ d }} * {{ w }}) as sum_dw
{%- endmacro %}

{#- The same columns read from a left-joined relation: 0 where it has no row for a ratio
    metric, null for other metrics. -#}
{% macro xp_ratio_statistics_or_zero(relation, is_ratio) -%}
    {%- for column in xp_ratio_sum_columns() %}
    cast(case when {{ is_ratio }} then coalesce({{ relation }}.{{ column }}, 0) end
        as {{ xp_type_double() }}) as {{ column }}
    {{- ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
