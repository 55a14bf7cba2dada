"""Quantile metrics on the demo data: the quantile mart and results against numpy.

The reference per-subject values come from pandas on the raw seed CSVs
(tests/integration/dbt/test_statistics_mart.py), not from dbt's tables; the quantiles and
order statistics from numpy's sort, the test from analysis_py.stats.quantile on those.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis_py.config import ExperimentConfig
from analysis_py.stats.quantile import RANK_Z, QuantileStatistics, quantile_test, sample_statistics
from tests.conftest import DEMO_ANALYSIS_AT, DemoRun
from tests.integration.dbt.test_statistics_mart import pandas_subject_values
from tests.quantiles import duckdb_quantile_run

KEYS = ["experiment_id", "variant_id", "metric_id"]


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return duckdb_quantile_run(tmp_path_factory.mktemp("quantiles"))


def expected_quantile_mart(config: ExperimentConfig) -> pd.DataFrame:
    """The quantile mart computed with numpy from pandas' per-subject values."""
    as_means = dataclasses.replace(
        config,
        metrics={
            k: dataclasses.replace(m, aggregation=m.value_aggregation)
            for k, m in config.metrics.items()
        },
    )
    subjects = pandas_subject_values(as_means, DEMO_ANALYSIS_AT)
    rows = []
    for experiment in config.experiments:
        for metric_id in experiment.metrics:
            metric = config.metrics[metric_id]
            if not metric.is_quantile:
                continue
            for variant in experiment.variants:
                values = subjects[
                    (subjects.experiment_id == experiment.id)
                    & (subjects.metric_id == metric_id)
                    & (subjects.variant_id == variant)
                ].y.to_numpy()
                if metric.ignore_zeros:
                    values = values[values != 0]
                rows.append(
                    {
                        "experiment_id": experiment.id,
                        "variant_id": variant,
                        "metric_id": metric_id,
                        **sample_statistics(values, metric.quantile),
                    }
                )
    return pd.DataFrame(rows).sort_values(KEYS).reset_index(drop=True)


def test_the_quantile_mart_equals_numpy_on_the_raw_tables(quantile_run: DemoRun) -> None:
    mart = quantile_run.query("select * from fct_variant_metric_quantiles")
    mart = mart.sort_values(KEYS).reset_index(drop=True)
    expected = expected_quantile_mart(quantile_run.config)
    assert mart[KEYS].to_numpy().tolist() == expected[KEYS].to_numpy().tolist()
    for column in QuantileStatistics.__dataclass_fields__:
        assert mart[column].astype(float).to_numpy() == pytest.approx(
            expected[column].astype(float).to_numpy(), rel=1e-12
        ), column
    # Not vacuous: the bands span different values, zeros count unless ignored.
    assert (mart.value_upper > mart.value_lower).sum() >= 6
    p90 = mart[mart.metric_id == "revenue_p90"]
    buyers = mart[mart.metric_id == "revenue_median_of_buyers"]
    assert (buyers.n.to_numpy() < p90[p90.experiment_id == "checkout_redesign"].n.to_numpy()).all()
    assert (mart.rank_z == RANK_Z).all()
    assert (mart.config_hash == quantile_run.config.hash).all()


def test_results_hold_the_quantile_test(quantile_run: DemoRun) -> None:
    results = quantile_run.query("select * from experiment_results").set_index(
        ["experiment_id", "metric_id", "treatment_variant_id"]
    )
    mart = expected_quantile_mart(quantile_run.config).set_index(KEYS)
    for (experiment_id, metric_id, treatment), row in results.iterrows():
        metric = quantile_run.config.metrics[metric_id]
        if not metric.is_quantile:
            assert (row.statistic, row.decision_estimate) == ("mean", "cuped")
            assert pd.isna(row.quantile_level)
            continue
        control = QuantileStatistics.from_columns(
            mart.loc[[(experiment_id, row.control_variant_id, metric_id)]]
        )
        arm = QuantileStatistics.from_columns(mart.loc[[(experiment_id, treatment, metric_id)]])
        expected = quantile_test(control, arm, 0.95)
        assert (row.statistic, row.quantile_level) == ("quantile", metric.quantile)
        assert (row.control_n, row.treatment_n) == (control.n[0], arm.n[0])
        assert row.control_mean == control.quantile_value[0]
        assert row.treatment_mean == arm.quantile_value[0]
        for name in ("absolute_effect_ci_lower", "absolute_effect_ci_upper", "p_value"):
            assert row[name] == pytest.approx(getattr(expected, name)[0], rel=1e-9, nan_ok=True), (
                name
            )
            assert row["cuped_" + name] == row[name] or np.isnan(row[name])
        assert pd.isna(row.degrees_of_freedom)
        assert row.decision_estimate == "unadjusted"
        assert "CUPED does not adjust quantiles" in row.cuped_fallback_reason
        assert pd.isna(row.cupedpp_absolute_effect)
    statuses = results[results.statistic == "quantile"].status.value_counts().to_dict()
    assert statuses.get("ok", 0) >= 4, statuses


def test_quantiles_are_overall_only(quantile_run: DemoRun) -> None:
    over_time = quantile_run.query("select distinct metric_id from experiment_results_over_time")
    assert set(over_time.metric_id) == {"revenue"}
    scorecard = quantile_run.query(
        "select metric_id, statistic, quantile_level from experiment_scorecard"
    )
    assert set(scorecard[scorecard.statistic == "quantile"].metric_id) == {
        "revenue_p90",
        "revenue_median_of_buyers",
        "sessions_p75",
        "ticket_minutes_p90",
    }
