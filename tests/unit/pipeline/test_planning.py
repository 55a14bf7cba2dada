"""The plan's rows from literal plan-mart rows: ratio metrics by the delta method."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from analysis_py.config import load_config
from analysis_py.marts import RATIO_SUM_COLUMNS, SUM_COLUMNS
from analysis_py.pipeline.planning import PlanWindow, plan_rows
from tests.conftest import DEMO_CONFIG

WINDOW = PlanWindow(datetime(2026, 3, 13), datetime(2026, 3, 27), 14)
# Five subjects: revenue y (covariate x) and purchases d (covariate w).
Y = np.array([0.0, 30.0, 55.0, 10.0, 90.0])
X = np.array([5.0, 0.0, 40.0, 20.0, 60.0])
D = np.array([0.0, 1.0, 2.0, 1.0, 3.0])
W = np.array([1.0, 0.0, 1.0, 1.0, 2.0])


def _mart_rows(d: np.ndarray) -> pd.DataFrame:
    """Plan-mart rows of checkout_redesign: revenue, purchases and their ratio."""
    columns = {"experiment_id": "checkout_redesign", "history_days": 14}
    revenue = {
        "metric_id": "revenue",
        "n": 5.0,
        "sum_y": Y.sum(),
        "sum_y_squares": Y @ Y,
        "sum_x": X.sum(),
        "sum_x_squares": X @ X,
        "sum_xy": X @ Y,
    }
    purchases = {
        "metric_id": "purchases",
        "n": 5.0,
        "sum_y": d.sum(),
        "sum_y_squares": d @ d,
        "sum_x": W.sum(),
        "sum_x_squares": W @ W,
        "sum_xy": W @ d,
    }
    ratio = {
        **revenue,
        "metric_id": "average_order_value",
        "sum_d": d.sum(),
        "sum_d_squares": d @ d,
        "sum_w": W.sum(),
        "sum_w_squares": W @ W,
        "sum_yd": Y @ d,
        "sum_yw": Y @ W,
        "sum_xd": X @ d,
        "sum_xw": X @ W,
        "sum_dw": d @ W,
    }
    rows = pd.DataFrame([revenue, purchases, ratio]).assign(**columns)
    return rows.reindex(
        columns=["experiment_id", "metric_id", "history_days", *SUM_COLUMNS, *RATIO_SUM_COLUMNS]
    )


def _plan(d: np.ndarray) -> pd.DataFrame:
    config = load_config(DEMO_CONFIG)
    rows = plan_rows(_mart_rows(d), config, {"checkout_redesign": WINDOW}, datetime(2026, 4, 10))
    return rows.set_index("metric_id")


def test_a_ratio_metric_is_planned_on_its_linearisation() -> None:
    plan = _plan(D)
    row = plan.loc["average_order_value"]
    # Independent: the delta method's n·Var(ȳ/d̄) is the sample variance of the linearised
    # values (y - R d) / d̄, and ratio CUPED's ρ their correlation with the covariate
    # ratio's; equal to the sums' formula up to rounding (rel 1e-12).
    ratio, covariate_ratio = Y.mean() / D.mean(), X.mean() / W.mean()
    linear = (Y - ratio * D) / D.mean()
    linear_x = (X - covariate_ratio * W) / W.mean()
    rho = np.corrcoef(linear, linear_x)[0, 1]
    assert row.status == "ok"
    assert row.baseline_mean == pytest.approx(ratio, rel=1e-12)
    assert row.baseline_variance == pytest.approx(linear.var(ddof=1), rel=1e-12)
    assert row.covariate_correlation == pytest.approx(rho, rel=1e-12)
    assert row.cuped_variance_reduction == pytest.approx(rho**2, rel=1e-12)
    assert row.subjects_needed > row.cuped_subjects_needed > 0
    # The plain metrics beside it keep their own moments.
    assert plan.loc["revenue"].baseline_variance == pytest.approx(Y.var(ddof=1), rel=1e-12)


def test_a_ratio_without_denominator_gets_a_status_and_no_figures() -> None:
    row = _plan(np.zeros(5)).loc["average_order_value"]
    assert row.status == "zero_denominator"
    assert "denominator is 0" in row.status_reason
    assert pd.isna(row.subjects_needed) and pd.isna(row.cuped_days_needed)
