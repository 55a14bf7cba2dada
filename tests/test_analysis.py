"""The analysis step on literal rows shaped like the statistics mart."""

from __future__ import annotations

import copy
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis_py.analysis import RATIO_SUM_COLUMNS, AnalysisError, analyze
from analysis_py.config import parse_config
from analysis_py.result_tables import column_names
from tests.test_config import VALID

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
        rows.append({
            "experiment_id": experiment.id, "variant_id": variant, "metric_id": "revenue",
            "is_control": variant == experiment.control,
            "expected_share": experiment.traffic[variant], "n": n, "sum_y": sy,
            "sum_y_squares": syy, "sum_x": sx, "sum_x_squares": sxx, "sum_xy": sxy,
            **dict.fromkeys(RATIO_SUM_COLUMNS),  # null: not a ratio metric
            "n_with_pre_exposure_events": n // 2,
            "n_multi_variant_subjects": multi, "n_unknown_variant_subjects": 0,
            "config_hash": config.hash,
        })
    return pd.DataFrame(rows)


def test_one_row_per_treatment_with_the_contract_columns() -> None:
    config = three_arm_config()
    mart = mart_rows(config, {
        "control": (1000, 5000.0, 40000.0, 4000.0, 30000.0, 25000.0),
        "b": (480, 2500.0, 20000.0, 1900.0, 14000.0, 12000.0),
        "c": (520, 2500.0, 19000.0, 2100.0, 15000.0, 12500.0),
    }, multi=12)
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
    mart = mart_rows(config, {
        "control": (10, 0.0, 0.0, 0.0, 0.0, 0.0),   # every value 0: control mean 0
        "b": (1, 3.0, 9.0, 0.0, 0.0, 0.0),          # one subject
        "c": (10, 5.0, 5.0, 0.0, 0.0, 0.0),          # converts at 50%
    })
    results = analyze(mart, config, "r", AT).results.set_index("treatment_variant_id")
    assert results.loc["b", "status"] == "too_few_subjects"
    assert "an arm has 1 subject(s)" in results.loc["b", "status_reason"]
    assert np.isnan(results.loc["b", "p_value"])
    assert results.loc["c", "status"] == "zero_control_mean"
    assert np.isnan(results.loc["c", "relative_effect"])
    assert results.loc["c", "absolute_effect"] == pytest.approx(0.5)

    constant = mart_rows(config, {v: (10, 10.0, 10.0, 0.0, 0.0, 0.0)
                                  for v in ("control", "b", "c")})
    statuses = analyze(constant, config, "r", AT).results["status"]
    assert (statuses == "zero_variance").all()


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
    with pytest.raises(AnalysisError, match="no row for experiment 'exp_a', variant 'c', "
                                            "metric 'revenue'"):
        analyze(mart, config, "r", AT)


def test_duplicate_mart_rows_are_refused() -> None:
    config = three_arm_config()
    mart = mart_rows(config, {v: (10, 1.0, 1.0, 0.0, 0.0, 0.0) for v in ("control", "b", "c")})
    with pytest.raises(AnalysisError, match="more than one row for the same experiment_id, "
                                            "metric_id and variant_id"):
        analyze(pd.concat([mart, mart.iloc[:1]]), config, "r", AT)
