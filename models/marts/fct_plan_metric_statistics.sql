{#- Postgres estimates the subjects' sums at a row and joins them by nested loop: more than
    15 minutes at 1M events, 6-8 s by hash joins. -#}
{{ config(enabled=xp_plan_enabled(), pre_hook="{{ xp_avoid_nested_loops() }}") }}
{#- One row per proposed experiment and metric: the sufficient statistics of the metric (y)
    and its pre-exposure covariate (x), and for a ratio metric those of its denominator (d)
    and the denominator's covariate (w), over the planning population, each
    subject measured in the metric's window after its pseudo-exposure, with the same
    definitions, filters, lookback and winsorization as an analysis. What `xp plan` reads.
    Every subject's window has ended within the history, so no subject is left out for
    maturity. -#}
{%- set plan = xp_plan() %}
{%- set event_sources = xp_plan_event_sources() %}
{%- for event_source in event_sources
        if var('xp_demo_data') and event_source.get('source_name') == 'experimentation' %}
-- depends_on: {{ ref('demo_' ~ event_source['table_name']) }}
{%- endfor %}
{%- set winsorized = [] %}
{%- for metric in xp_config()['metrics'] if metric.get('winsorize_upper') is not none %}
{%- do winsorized.append(metric['id']) %}
{%- endfor %}
with

pseudo_exposures as (
    select * from {{ ref('int_plan_pseudo_exposures') }}
),

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

{# The planned experiments' event and ratio metrics, with the days of history each reads.
    Ratio metrics read no events: they pair their components' values below. -#}
planned_metrics as (
    {%- for experiment in plan['experiments'] %}
    {%- set metric_ids = [] %}
    {%- for metric in experiment['metrics'] %}
    {%- do metric_ids.append(xp_string_literal(metric['id'])) %}
    {%- endfor %}
    {%- for metric_id in experiment.get('ratio_metrics', []) %}
    {%- do metric_ids.append(xp_string_literal(metric_id)) %}
    {%- endfor %}
    select
        *,
        cast({{ experiment['history_days'] | int }} as {{ dbt.type_bigint() }}) as history_days
    from experiment_metrics
    where
        experiment_id = {{ xp_string_literal(experiment['id']) }}
        and {{ 'metric_id in (' ~ metric_ids | join(', ') ~ ')' if metric_ids else '1 = 0' }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        *,
        cast(0 as {{ dbt.type_bigint() }}) as history_days
    from experiment_metrics
    where 1 = 0
    {%- endfor %}
),
{%- for event_source in event_sources %}

{# Between literal bounds: the earliest lookback and the latest window end of the plans. -#}
events_{{ event_source['id'] }} as (
    {% call(event_at) xp_event_source_rows(event_source) -%}
        {{ event_at }} >= {{ xp_plan_timestamp(plan['events_from'][event_source['id']]) }}
        and {{ event_at }} < {{ xp_plan_timestamp(plan['events_to'][event_source['id']]) }}
    {%- endcall %}
),

joined_{{ event_source['id'] }} as (
    {{ xp_events_joined_to_exposures(
        event_source, 'events_' ~ event_source['id'], 'pseudo_exposures', 'pseudo_exposed_at',
        ['experiment_id', 'subject_id'], 'planned_metrics') }}
),
{%- endfor %}

events_joined as (
    {%- for event_source in event_sources %}
    select * from joined_{{ event_source['id'] }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        experiment_id,
        subject_id,
        metric_id,
        window_start_seconds,
        window_end_seconds,
        lookback_days,
        cast(null as {{ dbt.type_timestamp() }}) as event_at,
        cast(null as {{ xp_type_double() }}) as value,
        cast(null as {{ dbt.type_bigint() }}) as seconds_since_exposure
    from pseudo_exposures
    inner join planned_metrics
        on pseudo_exposures.experiment_id = planned_metrics.experiment_id
    where 1 = 0
    {%- endfor %}
),

{# The day sums, then the subject's value, with the macros int_subject_metric_recent_days
    and int_subject_metric_values build theirs with (macros/xp_metric_values.sql). -#}
day_sums as (
    select
        experiment_id,
        subject_id,
        metric_id,
        case when seconds_since_exposure >= 0 then 'window' else 'lookback' end as period,
        cast(event_at as date) as event_on,
        sum(value) as sum_of_values,
        count(*) as n_events
    from events_joined
    where
        (
            seconds_since_exposure >= window_start_seconds
            and seconds_since_exposure < window_end_seconds
        )
        or (seconds_since_exposure < 0 and seconds_since_exposure >= -lookback_days * 86400)
    group by
        experiment_id,
        subject_id,
        metric_id,
        case when seconds_since_exposure >= 0 then 'window' else 'lookback' end,
        cast(event_at as date)
),

subject_sums as (
    select
        day_sums.experiment_id,
        day_sums.subject_id,
        day_sums.metric_id,
        coalesce(sum(case when day_sums.period = 'window' then
            {{ xp_day_value('planned_metrics.aggregation', 'planned_metrics.threshold_of',
                            'day_sums.sum_of_values', 'day_sums.n_events') }}
        end), 0) as window_sum,
        coalesce(sum(case when day_sums.period = 'lookback' then
            {{ xp_day_value('planned_metrics.aggregation', 'planned_metrics.threshold_of',
                            'day_sums.sum_of_values', 'day_sums.n_events') }}
        end), 0) as lookback_sum,
        sum(case when day_sums.period = 'lookback' then day_sums.n_events else 0 end)
            as n_pre_exposure_events
    from day_sums
    inner join planned_metrics
        on day_sums.experiment_id = planned_metrics.experiment_id
        and day_sums.metric_id = planned_metrics.metric_id
    group by day_sums.experiment_id, day_sums.subject_id, day_sums.metric_id
),

{# Every subject of the population for every event metric, 0 without events. -#}
subject_values as (
    select
        pseudo_exposures.experiment_id,
        pseudo_exposures.subject_id,
        planned_metrics.metric_id,
        {%- for column, day_sum in [('metric_value', 'window_sum'),
                                    ('covariate_value', 'lookback_sum')] %}
        cast(coalesce({{ xp_value_of_day_sum('planned_metrics.aggregation',
                                             'subject_sums.' ~ day_sum,
                                             'planned_metrics.threshold_at_least') }}, 0)
            as {{ xp_type_double() }}) as {{ column }},
        {%- endfor %}
        coalesce(subject_sums.n_pre_exposure_events, 0) > 0 as has_pre_exposure_events
    from pseudo_exposures
    inner join planned_metrics
        on pseudo_exposures.experiment_id = planned_metrics.experiment_id
    left join subject_sums
        on pseudo_exposures.experiment_id = subject_sums.experiment_id
        and pseudo_exposures.subject_id = subject_sums.subject_id
        and planned_metrics.metric_id = subject_sums.metric_id
    where planned_metrics.aggregation <> 'ratio'
),

{# Caps over the population, as int_metric_winsorization_caps takes them over an
    experiment's subjects. -#}
winsorization_caps as (
    {%- for metric in xp_config()['metrics'] if metric['id'] in winsorized %}
    {{ xp_winsorization_caps(metric, 'subject_values') }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        experiment_id,
        metric_id
        {%- for column in ['metric_value', 'covariate_value'] %},
        cast(null as {{ xp_type_double() }}) as {{ column }}_upper_cap,
        cast(null as {{ xp_type_double() }}) as {{ column }}_lower_cap{% endfor %}
    from subject_values
    where 1 = 0
    {%- endfor %}
),

capped_values as (
    select
        subject_values.experiment_id,
        subject_values.subject_id,
        subject_values.metric_id,
        {%- for column in ['metric_value', 'covariate_value'] %}
        {{ xp_winsorized('subject_values.' ~ column,
                         'winsorization_caps.' ~ column ~ '_upper_cap',
                         'winsorization_caps.' ~ column ~ '_lower_cap') }} as {{ column }},
        {%- endfor %}
        subject_values.has_pre_exposure_events
    from subject_values
    left join winsorization_caps
        on subject_values.experiment_id = winsorization_caps.experiment_id
        and subject_values.metric_id = winsorization_caps.metric_id
),

{# A ratio's numerator and denominator, each capped over the population, paired per
    subject, as fct_subject_metrics pairs them. -#}
ratio_values as (
    select
        ratios.experiment_id,
        ratios.metric_id,
        numerators.metric_value,
        numerators.covariate_value,
        denominators.metric_value as denominator_value,
        denominators.covariate_value as covariate_denominator_value,
        numerators.has_pre_exposure_events or denominators.has_pre_exposure_events
            as has_pre_exposure_events
    from planned_metrics as ratios
    inner join capped_values as numerators
        on ratios.experiment_id = numerators.experiment_id
        and ratios.numerator_metric_id = numerators.metric_id
    inner join capped_values as denominators
        on numerators.experiment_id = denominators.experiment_id
        and numerators.subject_id = denominators.subject_id
        and ratios.denominator_metric_id = denominators.metric_id
    where ratios.aggregation = 'ratio'
),

metric_values as (
    select
        experiment_id,
        metric_id,
        metric_value,
        covariate_value,
        cast(null as {{ xp_type_double() }}) as denominator_value,
        cast(null as {{ xp_type_double() }}) as covariate_denominator_value,
        has_pre_exposure_events
    from capped_values
    union all
    select * from ratio_values
),

metric_sums as (
    select
        experiment_id,
        metric_id,
        {{ xp_sufficient_statistics('metric_value', 'covariate_value') }},
        {{ xp_ratio_statistics('metric_value', 'covariate_value', 'denominator_value',
                               'covariate_denominator_value') }},
        sum(case when has_pre_exposure_events then 1 else 0 end) as n_with_pre_exposure_events
    from metric_values
    group by experiment_id, metric_id
),

final as (
    select
        planned_metrics.experiment_id,
        planned_metrics.metric_id,
        planned_metrics.history_days,
        {{ xp_sufficient_statistics_or_zero('metric_sums') }},
        {{ xp_ratio_statistics_or_zero('metric_sums',
                                       "planned_metrics.aggregation = 'ratio'") }},
        cast(coalesce(metric_sums.n_with_pre_exposure_events, 0) as {{ dbt.type_bigint() }})
            as n_with_pre_exposure_events
    from planned_metrics
    left join metric_sums
        on planned_metrics.experiment_id = metric_sums.experiment_id
        and planned_metrics.metric_id = metric_sums.metric_id
)

select * from final
