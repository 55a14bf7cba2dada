{{ config(enabled=xp_enabled() and xp_has_quantile_metrics()) }}
{#- One row per experiment, variant and quantile metric: the variant's quantile and the two
    order statistics whose ranks bound it, nν ∓ z·√(nν(1-ν)) (Deng, Knoblich & Yu 2018),
    from which the analysis step takes the quantile's standard error. Subjects without
    events are weighted rows here (decision 0006): a running sum of the weights gives each
    value its ranks, so they count as zeros without a row each. -#}
{%- set rank_z = 1.959963984540054 %}
with

experiment_variants as (
    select * from {{ ref('stg_config__experiment_variants') }}
),

subject_metrics as (
    select * from {{ ref('int_weighted_subject_metrics') }}
),

{# The config's quantile metrics as literal rows (xp_quantile_metrics). -#}
quantile_metrics as (
    {%- for metric in xp_quantile_metrics() %}
    select
        {{ xp_string_literal(metric['experiment_id']) }} as experiment_id,
        {{ xp_string_literal(metric['metric_id']) }} as metric_id,
        cast({{ metric['quantile'] | float }} as {{ xp_type_double() }}) as quantile_level,
        {{ 'true' if metric['ignore_zeros'] else 'false' }} as is_ignoring_zeros
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

metric_values as (
    select
        subject_metrics.experiment_id,
        subject_metrics.variant_id,
        subject_metrics.metric_id,
        subject_metrics.metric_value,
        subject_metrics.n_subjects
    from subject_metrics
    inner join quantile_metrics
        on subject_metrics.experiment_id = quantile_metrics.experiment_id
        and subject_metrics.metric_id = quantile_metrics.metric_id
    where
        subject_metrics.metric_id in (
            {%- for id in xp_quantile_metrics() | map(attribute='metric_id') | unique -%}
            {{ xp_string_literal(id) }}{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
        and (not quantile_metrics.is_ignoring_zeros or subject_metrics.metric_value <> 0)
),

{# A row of weight k holds the ranks (rank_through - k, rank_through]. -#}
running_ranks as (
    select
        experiment_id,
        variant_id,
        metric_id,
        metric_value,
        n_subjects,
        sum(n_subjects) over (
            partition by experiment_id, variant_id, metric_id
            order by metric_value
            rows between unbounded preceding and current row
        ) as rank_through
    from metric_values
),

ranked_values as (
    select
        experiment_id,
        variant_id,
        metric_id,
        metric_value,
        rank_through,
        rank_through - n_subjects as rank_before
    from running_ranks
),

variant_counts as (
    select
        experiment_id,
        variant_id,
        metric_id,
        cast(sum(n_subjects) as {{ dbt.type_bigint() }}) as n
    from metric_values
    group by experiment_id, variant_id, metric_id
),

{# The quantile is Y_(ceil(nν)) (inverse of the empirical distribution; the small slack
    keeps an exact nν from rounding up); the band's ranks are rounded outwards and clipped
    to [1, n] (analysis_py/stats/quantile.py, quantile_ranks). -#}
variant_ranks as (
    select
        variant_counts.experiment_id,
        variant_counts.variant_id,
        variant_counts.metric_id,
        variant_counts.n,
        cast(greatest(
            1, ceiling(variant_counts.n * quantile_metrics.quantile_level - 0.000000001)
        ) as {{ dbt.type_bigint() }}) as rank_quantile,
        cast(greatest(1, floor(
            variant_counts.n * quantile_metrics.quantile_level
            - {{ rank_z }} * sqrt(
                variant_counts.n * quantile_metrics.quantile_level
                * (1 - quantile_metrics.quantile_level)
            )
        )) as {{ dbt.type_bigint() }}) as rank_lower,
        cast(least(variant_counts.n, ceiling(
            variant_counts.n * quantile_metrics.quantile_level
            + {{ rank_z }} * sqrt(
                variant_counts.n * quantile_metrics.quantile_level
                * (1 - quantile_metrics.quantile_level)
            )
        )) as {{ dbt.type_bigint() }}) as rank_upper
    from variant_counts
    inner join quantile_metrics
        on variant_counts.experiment_id = quantile_metrics.experiment_id
        and variant_counts.metric_id = quantile_metrics.metric_id
),

order_statistics as (
    select
        variant_ranks.experiment_id,
        variant_ranks.variant_id,
        variant_ranks.metric_id,
        max(case
            when
                ranked_values.rank_before < variant_ranks.rank_quantile
                and variant_ranks.rank_quantile <= ranked_values.rank_through
                then ranked_values.metric_value
        end) as quantile_value,
        max(case
            when
                ranked_values.rank_before < variant_ranks.rank_lower
                and variant_ranks.rank_lower <= ranked_values.rank_through
                then ranked_values.metric_value
        end) as value_lower,
        max(case
            when
                ranked_values.rank_before < variant_ranks.rank_upper
                and variant_ranks.rank_upper <= ranked_values.rank_through
                then ranked_values.metric_value
        end) as value_upper
    from variant_ranks
    inner join ranked_values
        on variant_ranks.experiment_id = ranked_values.experiment_id
        and variant_ranks.variant_id = ranked_values.variant_id
        and variant_ranks.metric_id = ranked_values.metric_id
    group by variant_ranks.experiment_id, variant_ranks.variant_id, variant_ranks.metric_id
),

final as (
    select
        experiment_variants.experiment_id,
        experiment_variants.variant_id,
        quantile_metrics.metric_id,
        quantile_metrics.quantile_level,
        quantile_metrics.is_ignoring_zeros,
        cast(coalesce(variant_ranks.n, 0) as {{ dbt.type_bigint() }}) as n,
        cast(order_statistics.quantile_value as {{ xp_type_double() }}) as quantile_value,
        variant_ranks.rank_lower,
        variant_ranks.rank_upper,
        cast(order_statistics.value_lower as {{ xp_type_double() }}) as value_lower,
        cast(order_statistics.value_upper as {{ xp_type_double() }}) as value_upper,
        cast({{ rank_z }} as {{ xp_type_double() }}) as rank_z,
        cast({{ xp_string_literal(xp_config()['hash']) }} as {{ dbt.type_string() }})
            as config_hash,
        {{ xp_invocation_id_sql() }} as invocation_id
    from experiment_variants
    inner join quantile_metrics
        on experiment_variants.experiment_id = quantile_metrics.experiment_id
    left join variant_ranks
        on experiment_variants.experiment_id = variant_ranks.experiment_id
        and experiment_variants.variant_id = variant_ranks.variant_id
        and quantile_metrics.metric_id = variant_ranks.metric_id
    left join order_statistics
        on experiment_variants.experiment_id = order_statistics.experiment_id
        and experiment_variants.variant_id = order_statistics.variant_id
        and quantile_metrics.metric_id = order_statistics.metric_id
)

select * from final
