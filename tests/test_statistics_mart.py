"""The dbt statistics mart equals a pandas computation from the raw demo tables."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_py.config import ExperimentConfig
from tests.conftest import SEEDS, DemoRun

SUMS = ["n", "sum_y", "sum_y_squares", "sum_x", "sum_x_squares", "sum_xy"]


def pandas_statistics(config: ExperimentConfig) -> pd.DataFrame:
    """The mart's definition, written independently in pandas on the seed CSV files."""
    assignments = pd.read_csv(SEEDS / "demo_assignments.csv", parse_dates=["assigned_at"])
    events = pd.read_csv(SEEDS / "demo_events.csv", parse_dates=["event_at"])
    exposures = assignments.groupby(["experiment_id", "subject_id"]).agg(
        first_exposed_at=("assigned_at", "min"),
        n_variants=("variant_id", "nunique"),
        variant_id=("variant_id", "first"),
    ).reset_index()

    rows = []
    for experiment in config.experiments:
        in_experiment = exposures[exposures.experiment_id == experiment.id]
        analysed = in_experiment[(in_experiment.n_variants == 1)
                                 & in_experiment.variant_id.isin(experiment.variants)]
        n_multi = int((in_experiment.n_variants > 1).sum())
        for metric_id in experiment.metrics:
            metric = config.metrics[metric_id]
            joined = events[events.event_name == metric.event_name].merge(
                analysed[["subject_id", "first_exposed_at"]], on="subject_id")
            seconds = (joined.event_at - joined.first_exposed_at).dt.total_seconds()
            windows = {
                "y": (seconds >= metric.window.start_day * 86400)
                     & (seconds < metric.window.end_day * 86400),
                "x": (seconds >= -experiment.lookback_days * 86400) & (seconds < 0),
            }
            per_subject = analysed[["subject_id", "variant_id"]].set_index("subject_id")
            for name, mask in windows.items():
                selected = joined[mask]
                grouped = selected.groupby("subject_id")
                if metric.aggregation == "sum":
                    values = grouped["value"].sum()  # pandas' sum skips nulls, like SQL
                elif metric.aggregation == "count":
                    values = grouped.size()
                else:
                    values = (grouped.size() > 0).astype(float)
                per_subject[name] = values.reindex(per_subject.index).fillna(0.0).astype(float)
            per_subject["yy"] = per_subject.y**2
            per_subject["xx"] = per_subject.x**2
            per_subject["xy"] = per_subject.x * per_subject.y
            for variant in experiment.variants:
                arm = per_subject[per_subject.variant_id == variant]
                rows.append({
                    "experiment_id": experiment.id, "variant_id": variant,
                    "metric_id": metric_id, "n": len(arm), "sum_y": arm.y.sum(),
                    "sum_y_squares": arm.yy.sum(), "sum_x": arm.x.sum(),
                    "sum_x_squares": arm.xx.sum(), "sum_xy": arm.xy.sum(),
                    "n_multi_variant_subjects": n_multi,
                })
    return pd.DataFrame(rows)


def test_mart_equals_pandas_from_raw_tables(demo_run: DemoRun) -> None:
    keys = ["experiment_id", "variant_id", "metric_id"]
    mart = demo_run.query("select * from fct_variant_metric_statistics").sort_values(keys)
    expected = pandas_statistics(demo_run.config).sort_values(keys)
    assert len(mart) == len(expected) == 17
    assert mart[keys].to_numpy().tolist() == expected[keys].to_numpy().tolist()
    for column in [*SUMS, "n_multi_variant_subjects"]:
        # Floating sums in a different order: agree to 1e-9 relative.
        assert mart[column].astype(float).to_numpy() == pytest.approx(
            expected[column].astype(float).to_numpy(), rel=1e-9), column
    assert (mart["n_unknown_variant_subjects"] == 0).all()
    assert (mart["config_hash"] == demo_run.config.hash).all()


def test_subject_facts_have_one_row_per_experiment_subject_and_metric(demo_run: DemoRun) -> None:
    counts = demo_run.query("""
        select experiment_id, count(*) as n_rows, count(distinct subject_id) as n_subjects,
               count(distinct metric_id) as n_metrics
        from fct_subject_metrics group by experiment_id order by experiment_id""")
    for row in counts.itertuples():
        assert row.n_rows == row.n_subjects * row.n_metrics
        assert row.n_metrics == len(demo_run.config.experiment(row.experiment_id).metrics)
