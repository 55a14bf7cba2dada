{{ config(
    enabled=xp_enabled(),
    materialized=xp_incremental_materialization(),
    incremental_strategy="replace_subjects",
    unique_key=["experiment_id", "subject_key", "metric_id"],
    on_schema_change="fail",
    post_hook="{{ xp_record_incremental_state() }}",
) }}
{#- Sparse (a subject without events has no row), because most subject and metric pairs
    have none. A build sums each subject's events in one aggregation; a night adds to the
    stored sums the changes of the recent days (int_subject_metric_recent_days), and sums
    again the events of the subjects first exposed since the latest exposure it has seen,
    less xp_late_data_days (docs/decisions/0016-subject-sums-by-deltas.md). -#}
{#- A night's input, read only then: #}
-- depends_on: {{ ref('int_subject_metric_recent_days') }}
-- depends_on: {{ ref('int_exposures_deduplicated') }}
{%- do xp_rebuild_stale_state(reads_changes_of='int_subject_metric_recent_days') %}
{%- set new_exposures_from = xp_new_exposures_from(this) %}
{%- if new_exposures_from %}
{#- The events of the subjects first exposed since, from the longest lookback before. #}
{%- set lookback_days = xp_config()['experiments'] | map(attribute='lookback_days')
                        | map('int') | max %}
{%- set events_read_from = (modules.datetime.datetime.fromisoformat(new_exposures_from)
                            - modules.datetime.timedelta(days=lookback_days)
                            ).strftime('%Y-%m-%d %H:%M:%S') %}
{%- endif %}
{%- set is_distinct_days_metric = xp_is_distinct_days_metric('metric_id') %}
with

experiment_metrics as (
    select * from {{ ref('stg_config__experiment_metrics') }}
),

metric_events as (
    select * from {{ ref('int_metric_events_joined_to_exposures') }}
    where
        (is_in_window or is_in_lookback){% if new_exposures_from %}
        and first_exposed_at >= cast(
            {{ xp_string_literal(new_exposures_from) }} as {{ dbt.type_timestamp() }}
        )
        and event_at >= cast(
            {{ xp_string_literal(events_read_from) }} as {{ dbt.type_timestamp() }}
        ){% endif %}
),

{# Each subject's events in one aggregation: the window's and the lookback's sums and
    counts (and per day for distinct_days metrics, whose value counts the days), then the
    values they give (macros/xp_metric_values.sql); the metric's definition is joined after
    grouping, on fewer rows and keys. The subject's exposure comes with its events (one
    value per subject: min), cheaper than joining the sums back to the exposures. -#}
event_sums as (
    select
        experiment_id,
        subject_key,
        metric_id,
        {%- if is_distinct_days_metric %}
        case when {{ is_distinct_days_metric }} then cast(event_at as date) end as event_on,
        {%- endif %}
        min(variant_id) as variant_id,
        min(first_exposed_at) as first_exposed_at,
        min(last_exposed_at) as last_exposed_at,
        sum(case when is_in_window then value end) as window_sum_of_values,
        count(case when is_in_window then 1 end) as n_window_events,
        sum(case when is_in_lookback then value end) as lookback_sum_of_values,
        count(case when is_in_lookback then 1 end) as n_lookback_events
    from metric_events
    group by
        experiment_id,
        subject_key,
        metric_id{% if is_distinct_days_metric %},
        case when {{ is_distinct_days_metric }} then cast(event_at as date) end{% endif %}
),

{# Each metric of the set that reads the events takes its own value from the set's sums. -#}
period_sums as (
    select
        event_sums.experiment_id,
        event_sums.subject_key,
        experiment_metrics.metric_id,
        event_sums.variant_id,
        event_sums.first_exposed_at,
        event_sums.last_exposed_at,
        {%- for period in ['window', 'lookback'] %}
        {{ xp_day_value('experiment_metrics.aggregation', 'experiment_metrics.threshold_of',
                        'event_sums.' ~ period ~ '_sum_of_values',
                        'event_sums.n_' ~ period ~ '_events') }} as {{ period }}_sum,
        {%- endfor %}
        event_sums.n_lookback_events as n_pre_exposure_events
    from event_sums
    inner join experiment_metrics
        on event_sums.experiment_id = experiment_metrics.experiment_id
        and event_sums.metric_id = experiment_metrics.events_metric_id
),

summed_events as (
    {#- The events read are the analysed subjects' (int_metric_events_joined_to_exposures).
        The columns in the order of continued_sums, which a night appends by position; a
        distinct_days metric's days are summed here. #}
    select
        experiment_id,
        subject_key,
        metric_id,
        variant_id,
        first_exposed_at,
        last_exposed_at,
        {%- for column in ['window_sum', 'lookback_sum', 'n_pre_exposure_events'] %}
        {{ 'sum(' ~ column ~ ')' if is_distinct_days_metric else column }} as {{ column }},
        {%- endfor %}
        true as is_analysed
    from period_sums
    {%- if is_distinct_days_metric %}
    group by
        experiment_id, subject_key, metric_id, variant_id, first_exposed_at, last_exposed_at
    {%- endif %}
),
{%- if new_exposures_from %}

exposures as (
    select * from {{ ref('int_exposures_deduplicated') }}
),

changed_days as (
    select * from {{ ref('int_subject_metric_recent_days') }}
    where loaded_at = {{ xp_run_started_at_sql() }}
),

affected_subjects as (
    select
        experiment_id,
        subject_key
    from changed_days
    union
    select
        experiment_id,
        subject_key
    from exposures
    where
        last_exposed_at >= cast(
            {{ xp_string_literal(new_exposures_from) }} as {{ dbt.type_timestamp() }}
        )
),

{# Subjects who are not analysed keep their rows, so that a subject who turns multi-variant
    overnight has its earlier rows replaced (by ones marked not analysed) rather than left
    behind. -#}
affected_exposures as (
    select exposures.*
    from exposures
    inner join affected_subjects
        on exposures.experiment_id = affected_subjects.experiment_id
        and exposures.subject_key = affected_subjects.subject_key
),

{# The subjects first exposed earlier: their stored sums plus the changes of the recent
    days (events are only appended, at most xp_late_data_days late). And those no longer
    analysed, whose events are not read: their stored sums. -#}
sums_and_changes as (
    select
        stored.experiment_id,
        stored.subject_key,
        stored.metric_id,
        stored.window_sum,
        stored.lookback_sum,
        stored.n_pre_exposure_events
    from {{ this }} as stored
    inner join affected_subjects
        on stored.experiment_id = affected_subjects.experiment_id
        and stored.subject_key = affected_subjects.subject_key
    union all
    select
        experiment_id,
        subject_key,
        metric_id,
        case when period = 'window' then day_value - previous_day_value else 0 end,
        case when period = 'lookback' then day_value - previous_day_value else 0 end,
        case when period = 'lookback' then n_events - previous_n_events else 0 end
    from changed_days
),

continued_sums as (
    select
        sums_and_changes.experiment_id,
        sums_and_changes.subject_key,
        sums_and_changes.metric_id,
        affected_exposures.variant_id,
        affected_exposures.first_exposed_at,
        affected_exposures.last_exposed_at,
        sum(sums_and_changes.window_sum) as window_sum,
        sum(sums_and_changes.lookback_sum) as lookback_sum,
        sum(sums_and_changes.n_pre_exposure_events) as n_pre_exposure_events,
        affected_exposures.is_analysed
    from sums_and_changes
    inner join affected_exposures
        on sums_and_changes.experiment_id = affected_exposures.experiment_id
        and sums_and_changes.subject_key = affected_exposures.subject_key
    where
        affected_exposures.first_exposed_at < cast(
            {{ xp_string_literal(new_exposures_from) }} as {{ dbt.type_timestamp() }}
        )
        or not affected_exposures.is_analysed
    group by
        sums_and_changes.experiment_id,
        sums_and_changes.subject_key,
        sums_and_changes.metric_id,
        affected_exposures.variant_id,
        affected_exposures.first_exposed_at,
        affected_exposures.last_exposed_at,
        affected_exposures.is_analysed
),

subject_metric_sums as (
    select * from summed_events
    union all
    select * from continued_sums
),
{%- else %}

subject_metric_sums as (
    select * from summed_events
),
{%- endif %}

final as (
    select
        subject_metric_sums.experiment_id,
        subject_metric_sums.subject_key,
        subject_metric_sums.metric_id,
        subject_metric_sums.variant_id,
        subject_metric_sums.first_exposed_at,
        subject_metric_sums.last_exposed_at,
        subject_metric_sums.is_analysed,
        {%- for column, period_sum in [('metric_value', 'window_sum'),
                                       ('covariate_value', 'lookback_sum')] %}
        cast(
            {{ xp_value_of_day_sum('experiment_metrics.aggregation',
                                   'subject_metric_sums.' ~ period_sum,
                                   'experiment_metrics.threshold_at_least') }}
            as {{ xp_type_double() }}
        ) as {{ column }},
        {%- endfor %}
        subject_metric_sums.n_pre_exposure_events > 0 as has_pre_exposure_events,
        cast(subject_metric_sums.window_sum as {{ xp_type_double() }}) as window_sum,
        cast(subject_metric_sums.lookback_sum as {{ xp_type_double() }}) as lookback_sum,
        cast(subject_metric_sums.n_pre_exposure_events as {{ dbt.type_bigint() }})
            as n_pre_exposure_events
    from subject_metric_sums
    inner join experiment_metrics
        on subject_metric_sums.experiment_id = experiment_metrics.experiment_id
        and subject_metric_sums.metric_id = experiment_metrics.metric_id
)

select * from final
