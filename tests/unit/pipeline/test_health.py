"""Health checks on literal rows shaped like the statistics mart: each can fire."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from analysis_py.config import parse_config
from analysis_py.pipeline.comparisons import analyze
from analysis_py.pipeline.health import _first_per_experiment, _group_codes
from tests.unit.config.test_config import VALID
from tests.unit.pipeline.test_comparisons import AT, mart_rows


def two_arm_config(**analysis):
    document = copy.deepcopy(VALID)
    if analysis:
        document["experiments"][0]["analysis"] = analysis
    return parse_config(document, "test.yml")


def arm(n: int, y: tuple[float, float], x: tuple[float, float], cov: float):
    """The six sums of an arm with these sample moments: y and x as (mean, variance)."""
    (mean_y, var_y), (mean_x, var_x) = y, x
    return (
        n,
        n * mean_y,
        (n - 1) * var_y + n * mean_y**2,
        n * mean_x,
        (n - 1) * var_x + n * mean_x**2,
        (n - 1) * cov + n * mean_x * mean_y,
    )


def diagnostics(control, treatment, multi: int = 0, **analysis):
    config = two_arm_config(**analysis)
    mart = mart_rows(config, {"control": control, "treatment": treatment}, multi=multi)
    return analyze(mart, config, "r", AT).diagnostics.iloc[0]


HEALTHY = (arm(2000, (10.0, 4.0), (9.0, 4.0), 2.0), arm(2000, (10.2, 4.0), (9.0, 4.0), 2.0))


def test_a_healthy_experiment_is_ok_everywhere() -> None:
    row = diagnostics(*HEALTHY)
    for check in (
        "srm",
        "multi_variant",
        "unknown_variant",
        "pre_exposure_balance",
        "cuped_sanity",
        "sample_size",
        "large_lift",
        "pre_exposure_data",
    ):
        assert row[f"{check}_status"] == "ok", (check, row[f"{check}_reason"])
    assert row["health_status"] == "ok"


def test_subjects_in_variants_the_config_does_not_list_warn() -> None:
    """A variant renamed in the data leaves its subjects out of every comparison.

    Here 'cheap' for 'treatment' in 1,192 subjects' rows: the check names their count and
    share.
    """
    config = two_arm_config()
    mart = mart_rows(config, {"control": HEALTHY[0], "treatment": HEALTHY[1]})
    mart["n_unknown_variant_subjects"] = 1192
    row = analyze(mart, config, "r", AT).diagnostics.iloc[0]
    assert row["unknown_variant_status"] == "warning"
    assert row["unknown_variant_share"] == pytest.approx(1192 / (4000 + 1192))
    assert row["unknown_variant_reason"] == (
        "1192 subjects (22.96%) were exposed only to variants the config does not list and "
        "are excluded: add the variants to the experiment, or check the assignment code"
    )
    assert row["health_status"] == "warning"


def test_pre_exposure_imbalance_fails() -> None:
    row = diagnostics(
        arm(2000, (10.0, 4.0), (9.0, 4.0), 2.0), arm(2000, (10.2, 4.0), (9.6, 4.0), 2.0)
    )
    assert row["pre_exposure_balance_status"] == "fail"
    assert (
        "'revenue' before exposure, control against 'treatment'"
        in row["pre_exposure_balance_reason"]
    )
    assert row["health_status"] == "fail"


def test_cuped_estimate_outside_the_unadjusted_interval_warns() -> None:
    # A strong covariate that differs between arms moves the CUPED estimate a lot.
    row = diagnostics(
        arm(400, (10.0, 4.0), (9.0, 4.0), 3.9), arm(400, (10.0, 4.0), (9.5, 4.0), 3.9)
    )
    assert row["cuped_sanity_status"] == "warning"
    assert row["cuped_sanity_reason"].startswith("1 CUPED estimate(s) fall outside")


def test_cuped_off_makes_the_check_not_applicable() -> None:
    row = diagnostics(*HEALTHY, cuped="none")
    assert row["cuped_sanity_status"] == "not_applicable"


def test_small_arms_large_lifts_and_many_multi_variant_subjects_warn() -> None:
    row = diagnostics(
        arm(100, (1.0, 1.0), (1.0, 1.0), 0.5), arm(100, (1.8, 1.0), (1.0, 1.0), 0.5), multi=10
    )
    assert row["sample_size_status"] == "warning"
    assert (
        row["sample_size_reason"] == "smallest arm has 100 subjects; below 150, results are fragile"
    )
    assert row["large_lift_status"] == "warning"
    assert "largest lift 'revenue' for 'treatment'" in row["large_lift_reason"]
    assert row["multi_variant_status"] == "warning"
    assert row["multi_variant_share"] == pytest.approx(10 / 210)
    assert row["health_status"] == "warning"


def test_scarce_pre_exposure_data_warns() -> None:
    config = two_arm_config()
    mart = mart_rows(config, {"control": HEALTHY[0], "treatment": HEALTHY[1]})
    mart["n_with_pre_exposure_events"] = 40  # 2% of 4000 subjects
    row = analyze(mart, config, "r", AT).diagnostics.iloc[0]
    assert row["pre_exposure_data_share"] == pytest.approx(80 / 4000)
    assert row["pre_exposure_data_status"] == "warning"


def test_turning_methods_off_leaves_their_columns_null() -> None:
    config = two_arm_config(bayesian=False, sequential=False, cuped="none")
    mart = mart_rows(config, {"control": HEALTHY[0], "treatment": HEALTHY[1]})
    results = analyze(mart, config, "r", AT).results.iloc[0]
    assert results["decision_estimate"] == "unadjusted"
    for column in (
        "bayes_prior_sd",
        "bayes_chance_to_win",
        "bayes_expected_loss",
        "sequential_p_value",
        "cupedpp_p_value",
    ):
        assert pd.isna(results[column]), column
    assert results["adjusted_p_value"] == results["p_value"]  # one comparison: nothing to adjust


def lexsort_first_per_experiment(codes, n_experiments, values, largest=False):
    """The reference: the first row per experiment after a stable sort on (code, value)."""
    key = np.where(np.isnan(values), np.inf, -values if largest else values)
    first = np.full(n_experiments, -1)
    for row in np.lexsort((key, codes))[::-1]:  # the earliest sorted row of a code wins
        first[codes[row]] = row
    return first


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("largest", [False, True])
@pytest.mark.parametrize("grouped", [True, False])
def test_first_per_experiment_is_the_sorted_reference(seed, largest, grouped) -> None:
    rng = np.random.default_rng(seed)
    n_experiments = 40
    codes = rng.integers(0, n_experiments - 5, 600)  # some experiments without rows
    codes = np.sort(codes) if grouped else codes
    values = rng.choice([0.0, -0.0, 0.5, 1.0, np.nan, -2.0, np.inf], 600)  # ties and NaN
    spread = rng.random(600) < 0.3
    values[spread] = rng.normal(size=spread.sum())
    assert (
        _first_per_experiment(codes, n_experiments, values, largest=largest).tolist()
        == lexsort_first_per_experiment(codes, n_experiments, values, largest).tolist()
    )


@pytest.mark.parametrize("seed", range(3))
def test_group_codes_are_groupby_ngroup(seed) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "experiment_id": rng.choice(["b", "a", "c"], 200),
            "day": rng.choice(pd.date_range("2026-01-01", periods=4), 200),
            "n": rng.integers(0, 9, 200),
        }
    )
    for keys in (["experiment_id"], ["experiment_id", "day"], ["day", "n"]):
        assert (
            _group_codes(frame, keys).tolist()
            == frame.groupby(keys, sort=False).ngroup().to_numpy().tolist()
        )
