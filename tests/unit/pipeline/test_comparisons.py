"""The analysis step on literal rows shaped like the statistics mart."""

from __future__ import annotations

import copy
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis_py.config import parse_config
from analysis_py.marts import RATIO_SUM_COLUMNS
from analysis_py.pipeline.comparisons import AnalysisError, analyze
from analysis_py.result_tables import column_names
from tests.unit.config.test_config import VALID

AT = datetime(2026, 3, 1, 12, 0)


def three_arm_config():
    document = copy.deepcopy(VALID)
    experiment = document["experiments"][0]
    experiment["variants"] = ["control", "b", "c"]
    experiment["traffic"] = {"control": 0.5, "b": 0.25, "c": 0.25}
    return parse_config(document, "test.yml")


def mart_rows(config, arms: dict[str, tuple], multi: int = 0) -> pd.DataFrame:
    """Mart rows for the single experiment and metric; arms maps variant -> the six sums."""
    experiment = config.experiments[0]
    rows = []
    for variant, (n, sy, syy, sx, sxx, sxy) in arms.items():
        rows.append(
            {
                "experiment_id": experiment.id,
                "variant_id": variant,
                "metric_id": "revenue",
                "is_control": variant == experiment.control,
                "expected_share": experiment.traffic[variant],
                "n": n,
                "sum_y": sy,
                "sum_y_squares": syy,
                "sum_x": sx,
                "sum_x_squares": sxx,
                "sum_xy": sxy,
                **dict.fromkeys(RATIO_SUM_COLUMNS),  # null: not a ratio metric
                "n_with_pre_exposure_events": n // 2,
                "n_multi_variant_subjects": multi,
                "n_unknown_variant_subjects": 0,
                "config_hash": config.hash,
            }
        )
    return pd.DataFrame(rows)


def test_one_row_per_treatment_with_the_contract_columns() -> None:
    config = three_arm_config()
    mart = mart_rows(
        config,
        {
            "control": (1000, 5000.0, 40000.0, 4000.0, 30000.0, 25000.0),
            "b": (480, 2500.0, 20000.0, 1900.0, 14000.0, 12000.0),
            "c": (520, 2500.0, 19000.0, 2100.0, 15000.0, 12500.0),
        },
        multi=12,
    )
    out = analyze(mart, config, run_id="abc", analysis_at=AT)
    assert list(out.results.columns) == column_names("experiment_results")
    assert list(out.diagnostics.columns) == column_names("experiment_diagnostics")
    assert out.results["treatment_variant_id"].tolist() == ["b", "c"]
    assert (out.results["status"] == "ok").all()
    assert (out.results["run_id"] == "abc").all()
    assert out.results["control_n"].tolist() == [1000, 1000]
    assert out.results["treatment_sum_xy"].tolist() == [12000.0, 12500.0]

    diagnostics = out.diagnostics.iloc[0]
    observed = [1000, 480, 520]
    expected = [0.5 * 2000, 0.25 * 2000, 0.25 * 2000]
    reference = stats.chisquare(observed, expected)
    assert diagnostics["srm_chi_square"] == pytest.approx(reference.statistic, rel=1e-12)
    assert diagnostics["srm_p_value"] == pytest.approx(reference.pvalue, rel=1e-12)
    assert diagnostics["srm_status"] == "ok"
    assert diagnostics["subjects_per_variant"] == "control=1000, b=480, c=520"
    assert diagnostics["n_multi_variant_subjects"] == 12
    assert diagnostics["multi_variant_share"] == pytest.approx(12 / 2012)


def test_sample_ratio_mismatch_is_flagged() -> None:
    config = three_arm_config()
    sums = (0.0, 0.0, 0.0, 0.0, 0.0)
    mart = mart_rows(config, {"control": (1000, *sums), "b": (600, *sums), "c": (400, *sums)})
    diagnostics = analyze(mart, config, "r", AT).diagnostics.iloc[0]
    assert diagnostics["srm_p_value"] < 0.001
    assert diagnostics["srm_status"] == "fail"
    assert "sample ratio mismatch" in diagnostics["srm_reason"]
    assert diagnostics["health_status"] == "fail"


def test_data_problems_become_statuses_not_exceptions() -> None:
    config = three_arm_config()
    mart = mart_rows(
        config,
        {
            "control": (10, 0.0, 0.0, 0.0, 0.0, 0.0),  # every value 0: control mean 0
            "b": (1, 3.0, 9.0, 0.0, 0.0, 0.0),  # one subject
            "c": (10, 5.0, 5.0, 0.0, 0.0, 0.0),  # converts at 50%
        },
    )
    results = analyze(mart, config, "r", AT).results.set_index("treatment_variant_id")
    assert results.loc["b", "status"] == "too_few_subjects"
    assert "an arm has 1 subject(s)" in results.loc["b", "status_reason"]
    assert np.isnan(results.loc["b", "p_value"])
    assert results.loc["c", "status"] == "zero_control_mean"
    assert np.isnan(results.loc["c", "relative_effect"])
    assert results.loc["c", "absolute_effect"] == pytest.approx(0.5)

    constant = mart_rows(
        config, {v: (10, 10.0, 10.0, 0.0, 0.0, 0.0) for v in ("control", "b", "c")}
    )
    constant_results = analyze(constant, config, "r", AT).results
    assert (constant_results["status"] == "zero_variance").all()
    assert (
        constant_results["status_reason"]
        == "the metric has the same value for every subject of both arms"
    ).all()

    # Every subject at 0: most often a metric that matches no event (a misspelt event name).
    nothing = mart_rows(config, {v: (10, 0.0, 0.0, 0.0, 0.0, 0.0) for v in ("control", "b", "c")})
    nothing_results = analyze(nothing, config, "r", AT).results
    assert (nothing_results["status"] == "zero_variance").all()
    assert (
        nothing_results["status_reason"]
        .str.contains("no event of this metric fell in a window; check its event name")
        .all()
    )


def test_empty_experiment_has_no_srm_p_value() -> None:
    config = three_arm_config()
    empty = (0, 0.0, 0.0, 0.0, 0.0, 0.0)
    mart = mart_rows(config, {"control": empty, "b": empty, "c": empty})
    out = analyze(mart, config, "r", AT)
    assert out.diagnostics.iloc[0]["srm_status"] == "not_applicable"
    assert np.isnan(out.diagnostics.iloc[0]["srm_p_value"])
    assert (out.results["status"] == "too_few_subjects").all()


def test_mart_from_another_config_is_refused() -> None:
    config = three_arm_config()
    mart = mart_rows(config, {v: (10, 1.0, 1.0, 0.0, 0.0, 0.0) for v in ("control", "b", "c")})
    mart["config_hash"] = "0123456789abcdef"
    with pytest.raises(AnalysisError, match="built from another experiment config"):
        analyze(mart, config, "r", AT)


def test_missing_mart_row_is_named() -> None:
    config = three_arm_config()
    mart = mart_rows(config, {v: (10, 1.0, 1.0, 0.0, 0.0, 0.0) for v in ("control", "b")})
    with pytest.raises(
        AnalysisError, match="no row for experiment 'exp_a', variant 'c', metric 'revenue'"
    ):
        analyze(mart, config, "r", AT)


def test_duplicate_mart_rows_are_refused() -> None:
    config = three_arm_config()
    mart = mart_rows(config, {v: (10, 1.0, 1.0, 0.0, 0.0, 0.0) for v in ("control", "b", "c")})
    with pytest.raises(
        AnalysisError,
        match="more than one row for the same experiment_id, metric_id and variant_id",
    ):
        analyze(pd.concat([mart, mart.iloc[:1]]), config, "r", AT)


def two_metric_config(**purchases):
    document = copy.deepcopy(VALID)
    document["metrics"].append(
        {
            "id": "purchases",
            "event_name": "purchase",
            "aggregation": "count",
            "window": {"start_day": 0, "end_day": 14},
            **purchases,
        }
    )
    document["experiments"][0]["metrics"] = ["revenue", "purchases"]
    return parse_config(document, "test.yml")


@pytest.mark.parametrize("matured_only", [False, True])
def test_a_variant_whose_n_differs_between_metrics_is_refused(matured_only: bool) -> None:
    """Refused unless the smaller n is a metric's that counts only matured subjects.

    The analysis is the one place that checks it: `xp analyze` may follow a plain
    `dbt run`, without data tests.
    """
    config = two_metric_config(matured_subjects_only=matured_only)
    sums = (1.0, 1.0, 0.0, 0.0, 0.0)
    mart = pd.concat(
        [
            mart_rows(config, {"control": (10, *sums), "treatment": (10, *sums)}),
            mart_rows(config, {"control": (10, *sums), "treatment": (8, *sums)}).assign(
                metric_id="purchases"
            ),
        ],
        ignore_index=True,
    )
    if matured_only:
        assert len(analyze(mart, config, "r", AT).results) == 2
        return
    with pytest.raises(
        AnalysisError,
        match="experiment 'exp_a', variant 'treatment' has a different n for different "
        "metrics; the mart is corrupt",
    ):
        analyze(mart, config, "r", AT)


# Data problems that used to look like results (issue 17, item 4): each has its own status,
# names the metric and the arm, and writes nothing non-finite.


def _one_treatment(control: tuple, treatment: tuple) -> pd.Series:
    config = parse_config(copy.deepcopy(VALID), "test.yml")
    mart = mart_rows(config, {"control": control, "treatment": treatment})
    return analyze(mart, config, "r", AT).results.iloc[0]


def test_sums_that_imply_a_negative_variance_are_refused() -> None:
    # GrowthBook's t-test case with the control's Σy² cut to 52: below (Σy)²/n = 572.7.
    row = _one_treatment(
        (3407, 1396.87, 52.0, 0.0, 0.0, 0.0), (3461, 2422.7, 134698.29, 0.0, 0.0, 0.0)
    )
    assert row["status"] == "negative_variance"
    assert "control arm" in row["status_reason"] and "'revenue'" in row["status_reason"]
    assert row["verdict"] == "no_result" and row["verdict_reason"] == row["status_reason"]


def test_rounding_is_not_a_negative_variance() -> None:
    # A constant metric whose Σy² came out 1e-12 (relative) short in a parallel sum.
    n = 1000
    constant = (n, 100.0, 100.0**2 / n * (1 - 1e-12), 0.0, 0.0, 0.0)
    row = _one_treatment(constant, (n, 110.0, 14.0, 0.0, 0.0, 0.0))
    assert row["status"] == "ok"


@pytest.mark.parametrize(
    ("sums", "shown"),
    [
        ((3, 3e300, np.inf, 0.0, 0.0, 0.0), "sum_y_squares for metric 'revenue' is inf"),
        ((3, np.nan, np.nan, 0.0, 0.0, 0.0), "sum_y for metric 'revenue' is nan"),
        ((3, 6.0, 14.0, np.inf, 0.0, 0.0), "sum_x for metric 'revenue' is inf"),
    ],
)
def test_non_finite_sums_get_their_own_status(sums: tuple, shown: str) -> None:
    row = _one_treatment((3, 10.0, 34.0, 0.0, 0.0, 0.0), sums)
    assert row["status"] == "non_finite_input"
    assert f"the treatment arm's {shown}" in row["status_reason"]
    assert row["verdict"] == "no_result"
    numbers = pd.to_numeric(row[[c for c in row.index if isinstance(row[c], float)]])
    assert not np.isinf(numbers.to_numpy(dtype=float)).any()


def test_moments_that_overflow_get_the_non_finite_status() -> None:
    # Finite sums whose squares overflow a double: (Σy)² = inf.
    row = _one_treatment((3, 10.0, 34.0, 0.0, 0.0, 0.0), (3, 3e200, 1e301, 0.0, 0.0, 0.0))
    assert row["status"] == "non_finite_input"
    assert "sum_y² for metric 'revenue' overflows" in row["status_reason"]


def _ratio_config():
    document = copy.deepcopy(VALID)
    document["metrics"] += [
        {
            "id": "purchases",
            "event_name": "purchase",
            "aggregation": "count",
            "window": {"start_day": 0, "end_day": 14},
        },
        {
            "id": "order_value",
            "aggregation": "ratio",
            "numerator": "revenue",
            "denominator": "purchases",
        },
    ]
    document["experiments"][0]["metrics"] = ["order_value"]
    return parse_config(document, "test.yml")


@pytest.mark.parametrize("treatment_has_history", [False, True])
def test_ratio_cuped_without_pre_exposure_data_falls_back_to_the_unadjusted_ratio(
    treatment_has_history: bool,
) -> None:
    config = _ratio_config()
    rows = []
    rng = np.random.default_rng(5)
    for variant, has_history in (("control", False), ("treatment", treatment_has_history)):
        n = 400
        d = rng.poisson(2, n) + 1.0
        y = d * rng.gamma(2, 10, n)
        x = np.where(has_history, y * rng.uniform(0.5, 1.5, n), 0.0)
        w = np.where(has_history, d, 0.0)
        rows.append(
            {
                "experiment_id": "exp_a",
                "variant_id": variant,
                "metric_id": "order_value",
                "is_control": variant == "control",
                "expected_share": 0.5,
                "n": n,
                "sum_y": y.sum(),
                "sum_y_squares": (y * y).sum(),
                "sum_x": x.sum(),
                "sum_x_squares": (x * x).sum(),
                "sum_xy": (x * y).sum(),
                "sum_d": d.sum(),
                "sum_d_squares": (d * d).sum(),
                "sum_w": w.sum(),
                "sum_w_squares": (w * w).sum(),
                "sum_yd": (y * d).sum(),
                "sum_yw": (y * w).sum(),
                "sum_xd": (x * d).sum(),
                "sum_xw": (x * w).sum(),
                "sum_dw": (d * w).sum(),
                "n_with_pre_exposure_events": n if has_history else 0,
                "n_multi_variant_subjects": 0,
                "n_unknown_variant_subjects": 0,
                "config_hash": config.hash,
            }
        )
    row = analyze(pd.DataFrame(rows), config, "r", AT).results.iloc[0]
    assert row["status"] == "ok"
    assert "no pre-exposure data in the control arm" in row["cuped_fallback_reason"]
    assert "falls back to the unadjusted ratio" in row["cuped_fallback_reason"]
    for field in ("relative_effect", "relative_effect_ci_lower", "p_value"):
        assert row[f"cuped_{field}"] == row[field]
    assert row["decision_relative_effect"] == row["relative_effect"]
    assert row["cuped_theta"] == 0.0
    # With history in one arm only, the pre-exposure balance check fails the experiment.
    assert row["verdict"] == ("unhealthy" if treatment_has_history else "inconclusive")


def test_failing_health_withholds_every_verdict_but_keeps_the_numbers() -> None:
    config = three_arm_config()
    rng = np.random.default_rng(3)
    arms = {}
    for variant, n in (("control", 1000), ("b", 300), ("c", 500)):  # split 0.5 / 0.25 / 0.25
        y = rng.normal(10, 2, n)
        arms[variant] = (n, y.sum(), (y * y).sum(), 0.0, 0.0, 0.0)
    analysed = analyze(mart_rows(config, arms), config, "r", AT)
    assert analysed.diagnostics["srm_status"].iloc[0] == "fail"
    results = analysed.results
    assert (results["verdict"] == "unhealthy").all()
    assert (
        results["verdict_reason"]
        .str.startswith("experiment health is fail: sample ratio mismatch")
        .all()
    )
    assert results["decision_p_value"].notna().all()
    assert results["decision_ci_lower"].notna().all()


class _EveryMetricCountsAll:
    def matured_subjects_only(self, metric_id: str) -> bool:
        return metric_id == "matured"


@pytest.mark.parametrize("seed", range(4))
def test_same_n_check_names_the_first_inconsistent_arm_as_groupby_does(seed: int) -> None:
    from analysis_py.pipeline.comparisons import _check_same_n_per_metric

    rng = np.random.default_rng(seed)
    rows = 400
    mart = pd.DataFrame(
        {
            "experiment_id": rng.choice(["exp_b", "exp_a", "exp_c", "exp_10"], rows),
            "variant_id": rng.choice(["treatment", "control", "b"], rows),
            "metric_id": rng.choice(["m1", "m2", "matured"], rows),
            "n": rng.choice([10.0, 10.0, 10.0, 10.0, 9.0, np.nan], rows),
        }
    )
    counted = mart[mart["metric_id"] != "matured"]
    n_per_metric = counted.groupby(["experiment_id", "variant_id"])["n"].nunique()
    inconsistent = n_per_metric[n_per_metric > 1]
    if inconsistent.empty:
        _check_same_n_per_metric(mart, _EveryMetricCountsAll())  # type: ignore[arg-type]
        return
    experiment_id, variant_id = inconsistent.index[0]
    with pytest.raises(
        AnalysisError, match=f"experiment '{experiment_id}', variant '{variant_id}' has"
    ):
        _check_same_n_per_metric(mart, _EveryMetricCountsAll())  # type: ignore[arg-type]
    consistent = mart.assign(n=np.where(mart["n"].isna(), np.nan, 10.0))
    _check_same_n_per_metric(consistent, _EveryMetricCountsAll())  # type: ignore[arg-type]
