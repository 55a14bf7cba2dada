"""The dbt statistics mart equals a pandas computation from the raw demo tables."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_py.config import ExperimentConfig
from analysis_py.marts import RATIO_SUM_COLUMNS, SUM_COLUMNS
from tests.conftest import SEEDS, DemoRun

SUMS = list(SUM_COLUMNS)
RATIO_SUMS = list(RATIO_SUM_COLUMNS)


def pandas_subject_values(
    config: ExperimentConfig, analysis_at: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The per-subject metric values, computed independently in pandas.

    Per experiment, metric and analysed subject: y, x (and d, w for ratios), as defined
    in the README, written independently in pandas on the seed CSV files. ``analysis_at``
    cuts exposures and events and judges maturity.
    """
    assignments = pd.read_csv(SEEDS / "demo_assignments.csv", parse_dates=["assigned_at"])
    sources = _pandas_sources(config)
    if analysis_at is not None:
        assignments = assignments[assignments.assigned_at < analysis_at]
        sources = {k: v[v.event_at < analysis_at] for k, v in sources.items()}
    exposures = (
        assignments.groupby(["experiment_id", "subject_id"])
        .agg(
            first_exposed_at=("assigned_at", "min"),
            n_variants=("variant_id", "nunique"),
            variant_id=("variant_id", "first"),
        )
        .reset_index()
    )

    frames = []
    for experiment in config.experiments:
        in_experiment = exposures[exposures.experiment_id == experiment.id]
        analysed = in_experiment[
            (in_experiment.n_variants == 1) & in_experiment.variant_id.isin(experiment.variants)
        ]
        n_multi = int((in_experiment.n_variants > 1).sum())
        values = {
            metric_id: _pandas_metric_values(
                config.metrics[metric_id], experiment, analysed, sources, analysis_at
            )
            for metric_id in config.computed_metrics(experiment)
            if not config.metrics[metric_id].is_ratio
        }
        for metric_id in experiment.metrics:
            metric = config.metrics[metric_id]
            if metric.is_ratio:
                numerator, denominator = values[metric.numerator], values[metric.denominator]
                frame = numerator[["variant_id", "y", "x"]].join(
                    denominator[["y", "x"]].rename(columns={"y": "d", "x": "w"}), how="inner"
                )
            else:
                frame = values[metric_id][["variant_id", "y", "x"]]
            frames.append(
                frame.reset_index().assign(
                    experiment_id=experiment.id,
                    metric_id=metric_id,
                    n_multi_variant_subjects=n_multi,
                )
            )
    return pd.concat(frames, ignore_index=True)


def _pandas_sources(config: ExperimentConfig) -> dict[str, pd.DataFrame]:
    """The demo's event tables, the second one renamed to the events' column names."""
    sources = {"events": pd.read_csv(SEEDS / "demo_events.csv", parse_dates=["event_at"])}
    for source in config.event_sources.values():
        table = pd.read_csv(
            SEEDS / f"demo_{source.table_name}.csv", parse_dates=[source.timestamp_column]
        )
        sources[source.id] = table.rename(
            columns={
                source.subject_id_column: "subject_id",
                source.timestamp_column: "event_at",
                source.value_column: "value",
            }
        )
    return sources


def _pandas_metric_values(
    metric, experiment, analysed: pd.DataFrame, sources: dict, analysis_at
) -> pd.DataFrame:
    """One event metric's y and x per analysed subject (index subject_id)."""
    events = sources[metric.source]
    if metric.event_name:
        events = events[events.event_name == metric.event_name]
    joined = _filtered(events, metric).merge(
        analysed[["subject_id", "first_exposed_at"]], on="subject_id"
    )
    seconds = (joined.event_at - joined.first_exposed_at).dt.total_seconds()
    windows = {
        "y": (seconds >= metric.window.start_seconds) & (seconds < metric.window.end_seconds),
        "x": (seconds >= -experiment.lookback_days * 86400) & (seconds < 0),
    }
    per_subject = analysed[["subject_id", "variant_id", "first_exposed_at"]].set_index("subject_id")
    if metric.matured_subjects_only:
        ends = per_subject.first_exposed_at + pd.to_timedelta(metric.window.end_seconds, unit="s")
        per_subject = per_subject[ends <= analysis_at]
    for name, mask in windows.items():
        selected = joined[mask]
        value = _aggregate(metric, selected, selected.groupby("subject_id"))
        per_subject[name] = value.reindex(per_subject.index).fillna(0.0).astype(float)
        if metric.winsorize:
            per_subject[name] = _pandas_winsorized(per_subject[name], metric.winsorize)
    return per_subject


def _pandas_winsorized(values: pd.Series, winsorize) -> pd.Series:
    """Values capped at their quantiles.

    Over the experiment's subjects, all arms pooled, zeros included; pandas' default
    quantile interpolates linearly, as percentile_cont.
    """
    lower = values.quantile(winsorize.lower) if winsorize.lower is not None else None
    return values.clip(lower=lower, upper=values.quantile(winsorize.upper))


def pandas_statistics(
    config: ExperimentConfig, analysis_at: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The statistics mart's sums from :func:`pandas_subject_values`, every variant listed."""
    subjects = pandas_subject_values(config, analysis_at)
    for left, right in (
        ("y", "y"),
        ("x", "x"),
        ("x", "y"),
        ("d", "d"),
        ("w", "w"),
        ("y", "d"),
        ("y", "w"),
        ("x", "d"),
        ("x", "w"),
        ("d", "w"),
    ):
        if left in subjects and right in subjects:
            subjects[left + right] = subjects[left] * subjects[right]
    names = {
        "y": "sum_y",
        "yy": "sum_y_squares",
        "x": "sum_x",
        "xx": "sum_x_squares",
        "xy": "sum_xy",
        "d": "sum_d",
        "dd": "sum_d_squares",
        "w": "sum_w",
        "ww": "sum_w_squares",
        "yd": "sum_yd",
        "yw": "sum_yw",
        "xd": "sum_xd",
        "xw": "sum_xw",
        "dw": "sum_dw",
    }
    rows = []
    for experiment in config.experiments:
        for metric_id in experiment.metrics:
            for variant in experiment.variants:
                arm = subjects[
                    (subjects.experiment_id == experiment.id)
                    & (subjects.metric_id == metric_id)
                    & (subjects.variant_id == variant)
                ]
                row = {
                    "experiment_id": experiment.id,
                    "variant_id": variant,
                    "metric_id": metric_id,
                    "n": len(arm),
                    "n_multi_variant_subjects": subjects.n_multi_variant_subjects[
                        subjects.experiment_id == experiment.id
                    ].iloc[0],
                }
                is_ratio = config.metrics[metric_id].is_ratio
                for column, name in names.items():
                    if column in arm and (is_ratio or not {"d", "w"} & set(column)):
                        row[name] = arm[column].sum()
                rows.append(row)
    return pd.DataFrame(rows)


OPERATORS = {
    "=": "__eq__",
    "!=": "__ne__",
    "<": "__lt__",
    "<=": "__le__",
    ">": "__gt__",
    ">=": "__ge__",
}


def _filtered(events: pd.DataFrame, metric) -> pd.DataFrame:
    """The metric's filters, applied in pandas (a null never passes, as in SQL)."""
    for condition in metric.filters:
        column = events[condition.column]
        if condition.op == "in":
            keep = column.isin(condition.value)
        elif condition.op == "not in":
            keep = ~column.isin(condition.value) & column.notna()
        else:
            keep = getattr(column, OPERATORS[condition.op])(condition.value) & column.notna()
        events = events[keep.fillna(False)]
    return events


def _aggregate(metric, selected: pd.DataFrame, grouped) -> pd.Series:
    """A subject's value of one metric.

    A subject's value of the metric from its selected events (pandas' sum skips nulls,
    like SQL).
    """
    if metric.aggregation == "sum":
        return grouped["value"].sum()
    if metric.aggregation == "count":
        return grouped.size()
    if metric.aggregation == "distinct_days":
        return selected.assign(day=selected.event_at.dt.date).groupby("subject_id").day.nunique()
    if metric.aggregation == "threshold":
        base = grouped["value"].sum() if metric.threshold.of == "sum" else grouped.size()
        return (base >= metric.threshold.at_least).astype(float)
    assert metric.aggregation in ("conversion", "retention")
    return (grouped.size() > 0).astype(float)


def test_mart_equals_pandas_from_raw_tables(demo_run: DemoRun) -> None:
    keys = ["experiment_id", "variant_id", "metric_id"]
    mart = demo_run.query("select * from fct_variant_metric_statistics")
    # The mart also holds the ratios' numerators and denominators the experiment does not
    # list (computed for the ratios); compare the listed metrics.
    expected = pandas_statistics(demo_run.config, demo_run.analysis_at).sort_values(keys)
    mart = mart.merge(expected[keys], on=keys).sort_values(keys)
    assert len(mart) == len(expected) == 2 * 10 + 3 * 7
    assert mart[keys].to_numpy().tolist() == expected[keys].to_numpy().tolist()
    for column in [*SUMS, *RATIO_SUMS, "n_multi_variant_subjects"]:
        # Floating sums in a different order: agree to 1e-9 relative (null where not a ratio).
        assert mart[column].astype(float).to_numpy() == pytest.approx(
            expected[column].astype(float).to_numpy(), rel=1e-9, nan_ok=True
        ), column
    assert (mart["n_unknown_variant_subjects"] == 0).all()
    assert (mart["config_hash"] == demo_run.config.hash).all()


MORE_AGGREGATIONS = """
metrics:
  - {id: active_days, event_name: session_start, aggregation: distinct_days,
     window: {start_day: 0, end_day: 14}, display_name: Active days}
  - {id: two_purchases, event_name: purchase, aggregation: threshold,
     threshold: {of: count, at_least: 2}, window: {start_day: 0, end_day: 14}}
  - {id: spent_100, event_name: purchase, aggregation: threshold,
     threshold: {of: sum, at_least: 100}, window: {start_day: 0, end_day: 14}}
  - {id: purchased_24h, event_name: purchase, aggregation: conversion,
     window: {start_hours: 0, end_hours: 24}}
  - {id: sessions_day_2, event_name: session_start, aggregation: count,
     window: {start_hours: 24, end_hours: 48}}
  - id: big_purchases
    event_name: purchase
    aggregation: count
    window: {start_day: 0, end_day: 14}
    filters: [{column: value, op: ">", value: 50}]
  - id: eu_revenue
    event_name: purchase
    aggregation: sum
    window: {start_day: 0, end_day: 14}
    filters:
      - {column: country, op: in, value: [DE, FR, GB]}
      - {column: country, op: "!=", value: GB}
  - id: sessions_capped_both_ways
    event_name: session_start
    aggregation: count
    window: {start_day: 0, end_day: 14}
    winsorize: {upper: 0.9, lower: 0.6}   # the 60th percentile is above 0: zeros are raised
experiments:
  - id: checkout_redesign
    variants: [control, treatment]
    control: control
    traffic: {control: 0.5, treatment: 0.5}
    metrics: [active_days, two_purchases, spent_100, purchased_24h, sessions_day_2,
              big_purchases, eu_revenue, sessions_capped_both_ways]
    lookback_days: 7
"""


def test_more_aggregations_and_hour_windows_equal_pandas(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis_py.cli import main
    from analysis_py.config import load_config
    from tests.conftest import REPO

    config_path = tmp_path / "more.yml"
    config_path.write_text(MORE_AGGREGATIONS)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(tmp_path / "more.duckdb"))
    assert main(["run", "--project-dir", str(REPO), "--config", str(config_path)]) == 0
    run = DemoRun(tmp_path / "more.duckdb", load_config(config_path))
    keys = ["experiment_id", "variant_id", "metric_id"]
    mart = run.query("select * from fct_variant_metric_statistics").sort_values(keys)
    expected = pandas_statistics(run.config).sort_values(keys)
    assert mart[keys].to_numpy().tolist() == expected[keys].to_numpy().tolist()
    for column in SUMS:
        assert mart[column].astype(float).to_numpy() == pytest.approx(
            expected[column].astype(float).to_numpy(), rel=1e-9
        ), column
    # Every new aggregation has variation, so the comparison above is not vacuous.
    assert (mart.sum_y > 0).all() and (mart.sum_x > 0).all()
    caps = run.query("select * from int_metric_winsorization_caps")
    assert (caps.metric_value_lower_cap > 0).all() and (caps.covariate_value_lower_cap > 0).all()
    # The time series replays them day by day up to the same end point (not the metric with
    # a lower cap, which the replay leaves out).
    daily = run.query("select * from fct_variant_metric_daily_statistics")
    last = daily[daily.day_number == daily.day_number.max()].sort_values(keys)
    replayed = mart[mart.metric_id != "sessions_capped_both_ways"]
    assert last[keys].to_numpy().tolist() == replayed[keys].to_numpy().tolist()
    assert last.sum_y.to_numpy() == pytest.approx(replayed.sum_y.to_numpy(), rel=1e-9)
    results = run.query("select metric_id, metric_display_name from experiment_results")
    assert (
        dict(zip(results.metric_id, results.metric_display_name, strict=True))["active_days"]
        == "Active days"
    )


def test_subject_facts_have_one_row_per_experiment_subject_and_metric(demo_run: DemoRun) -> None:
    counts = demo_run.query("""
        select experiment_id, count(*) as n_rows, count(distinct subject_id) as n_subjects,
               count(distinct metric_id) as n_metrics
        from fct_subject_metrics group by experiment_id order by experiment_id""")
    for row in counts.itertuples():
        # Every window has ended at the demo's analysis time: all subjects count everywhere.
        assert row.n_rows == row.n_subjects * row.n_metrics
        experiment = demo_run.config.experiment(row.experiment_id)
        assert row.n_metrics == len(demo_run.config.computed_metrics(experiment))


def test_analysis_time_cuts_the_data_and_judges_maturity(
    tmp_path, monkeypatch: pytest.MonkeyPatch, demo_run: DemoRun
) -> None:
    """A run for a past analysis time equals pandas on the data cut at that time.

    `xp run --analysis-at` mid-experiment: only exposures and events before that time, and
    retention counts only subjects whose days 7-14 have ended. Every listed metric (ratios,
    winsorized and retention included) equals pandas on the raw tables cut the same way.
    """
    from analysis_py.cli import main
    from tests.conftest import REPO

    # onboarding_flow exposes from 03-09 to 03-26: on 03-24 part of it has had 14 days.
    analysis_at = pd.Timestamp("2026-03-24 12:00:00")
    monkeypatch.setenv("XP_DUCKDB_PATH", str(tmp_path / "past.duckdb"))
    assert main(["run", "--project-dir", str(REPO), "--analysis-at", analysis_at.isoformat()]) == 0
    run = DemoRun(tmp_path / "past.duckdb", demo_run.config, analysis_at)
    keys = ["experiment_id", "variant_id", "metric_id"]
    expected = pandas_statistics(run.config, analysis_at).sort_values(keys)
    mart = (
        run.query("select * from fct_variant_metric_statistics")
        .merge(expected[keys], on=keys)
        .sort_values(keys)
    )
    assert mart[keys].to_numpy().tolist() == expected[keys].to_numpy().tolist()
    for column in [*SUMS, *RATIO_SUMS]:
        assert mart[column].astype(float).to_numpy() == pytest.approx(
            expected[column].astype(float).to_numpy(), rel=1e-9, nan_ok=True
        ), column

    # Not vacuous: the cut removed events, and retention counts fewer subjects than the rest.
    full = demo_run.query("select * from fct_variant_metric_statistics")
    sessions = mart[mart.metric_id == "sessions"].set_index(keys[:2])
    assert sessions.sum_y.sum() < full[full.metric_id == "sessions"].sum_y.sum()
    sessions, retained = sessions.n, mart[mart.metric_id == "returned_week_2"].set_index(keys[:2]).n
    assert (0 < retained).all() and (retained < sessions.loc[retained.index]).all()
    diagnostics = run.query("select * from experiment_diagnostics")
    assert (diagnostics.n_analysed_subjects.to_numpy() > 0).all()
    results = run.query("select * from experiment_results")
    assert (results.analysis_at == analysis_at).all()


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        ("fct_subject_metrics", "experiment_id, subject_id, metric_id"),
        ("int_subject_metric_values", "experiment_id, subject_key, metric_id"),
    ],
)
def test_subject_grain_tables_are_unique_on_their_keys(
    demo_run: DemoRun, table: str, keys: str
) -> None:
    """Checked here rather than by a dbt test in every build (they scan every row)."""
    counts = demo_run.query(
        f"select count(*) as n_rows, count(distinct ({keys})) as n_keys from {table}"
    )
    assert counts.n_rows[0] == counts.n_keys[0] > 10_000


def test_weighted_subject_rows_sum_like_the_subject_facts(demo_run: DemoRun) -> None:
    """The weighted rows give the same sums as one row per subject.

    int_weighted_subject_metrics folds the subjects without events into weighted rows
    (decision record 0006): every sum the statistics marts take over it, weighted by
    n_subjects, equals the same sum over fct_subject_metrics, one row per subject. The demo
    has winsorized and ratio metrics.
    """
    keys = ["experiment_id", "variant_id", "metric_id"]
    facts = demo_run.query("select * from fct_subject_metrics")
    weighted = demo_run.query("select * from int_weighted_subject_metrics")
    # Not vacuous: rows stand for many subjects, and there are fewer rows than subjects.
    assert (weighted.n_subjects > 1).any() and len(weighted) < len(facts)
    assert weighted.n_subjects.sum() == len(facts)

    def sums(frame: pd.DataFrame, weight: pd.Series) -> pd.DataFrame:
        y, x = frame.metric_value, frame.covariate_value
        d, w = frame.denominator_value, frame.covariate_denominator_value
        terms = {
            "n": weight * 1.0,
            "sum_y": weight * y,
            "sum_y_squares": weight * y * y,
            "sum_x": weight * x,
            "sum_x_squares": weight * x * x,
            "sum_xy": weight * x * y,
            "sum_d": weight * d,
            "sum_dw": weight * d * w,
            "sum_yd": weight * y * d,
            "sum_xw": weight * x * w,
            "n_with_pre_exposure_events": weight * frame.has_pre_exposure_events,
        }
        return (
            pd.DataFrame({**{k: frame[k] for k in keys}, **terms})
            .groupby(keys)
            .sum(min_count=1)
            .sort_index()
        )

    expected = sums(facts, pd.Series(1, index=facts.index))
    actual = sums(weighted, weighted.n_subjects)
    assert actual.index.equals(expected.index)
    assert expected.sum_d.notna().any()  # ratio metrics are in
    for column in expected.columns:
        assert actual[column].astype(float).to_numpy() == pytest.approx(
            expected[column].astype(float).to_numpy(), rel=1e-9, nan_ok=True
        ), column
