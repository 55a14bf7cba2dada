"""Every interval agrees with its p-value, on thousands of random marts (issue 17, item 2).

For each row of experiment_results and each estimate family (unadjusted, CUPED, adjusted,
sequential, decision; absolute and relative scale), the interval excludes 0 exactly when its
p-value is below α = 1 - confidence_level, and the verdict follows the decision columns.
The marts are drawn at random: 2,000 experiments (each an independent mart: 2 or 3 arms,
arms from 2 to 100,000 subjects, negative and near-zero means, ratio metrics, sometimes no
pre-exposure data), analysed in one call with random confidence levels, CUPED modes,
multiple-testing methods and sequential settings. Rows whose p-value lies within 1e-9
(relative) of α are left out: there the two comparisons are the same up to rounding.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from analysis_py.config import parse_config
from analysis_py.marts import RATIO_SUM_COLUMNS
from analysis_py.pipeline.comparisons import analyze
from analysis_py.stats.sufficient_statistics import MultiCovariateStatistics
from analysis_py.stats.ttest import multi_cuped_test

AT = datetime(2026, 3, 1, 12, 0)
N_EXPERIMENTS = 2000
BOUNDARY = 1e-9

#: (lower bound, upper bound, p-value) of every interval in experiment_results.
FAMILIES = [
    (
        f"{prefix}{scale}_effect_ci_lower",
        f"{prefix}{scale}_effect_ci_upper",
        f"{prefix}{'relative_' if scale == 'relative' else ''}p_value",
    )
    for prefix in ("", "cuped_")
    for scale in ("absolute", "relative")
] + [
    ("adjusted_absolute_effect_ci_lower", "adjusted_absolute_effect_ci_upper", "adjusted_p_value"),
    (
        "adjusted_relative_effect_ci_lower",
        "adjusted_relative_effect_ci_upper",
        "adjusted_relative_p_value",
    ),
    (
        "sequential_absolute_effect_ci_lower",
        "sequential_absolute_effect_ci_upper",
        "sequential_p_value",
    ),
    (
        "sequential_relative_effect_ci_lower",
        "sequential_relative_effect_ci_upper",
        "sequential_relative_p_value",
    ),
    ("decision_ci_lower", "decision_ci_upper", "decision_p_value"),
]


def random_config_and_mart(seed: int) -> tuple[object, pd.DataFrame]:
    """A config of N_EXPERIMENTS experiments and a mart of valid random sums for it."""
    rng = np.random.default_rng(seed)
    metrics = [
        {
            "id": "revenue",
            "event_name": "purchase",
            "aggregation": "sum",
            "window": {"start_day": 0, "end_day": 14},
        },
        {
            "id": "purchases",
            "event_name": "purchase",
            "aggregation": "count",
            "window": {"start_day": 0, "end_day": 14},
            "direction": "decrease",
        },
        {
            "id": "order_value",
            "aggregation": "ratio",
            "numerator": "revenue",
            "denominator": "purchases",
        },
        {
            "id": "revenue_greater",
            "event_name": "purchase",
            "aggregation": "sum",
            "window": {"start_day": 0, "end_day": 14},
            "alternative": "greater",
        },
        {
            "id": "purchases_less",
            "event_name": "purchase",
            "aggregation": "count",
            "window": {"start_day": 0, "end_day": 14},
            "direction": "decrease",
            "alternative": "less",
        },
    ]
    experiments, rows = [], []
    for e in range(N_EXPERIMENTS):
        variants = ["control", "b"] if rng.random() < 0.7 else ["control", "b", "c"]
        experiment_id = f"e{e}"
        experiments.append(
            {
                "id": experiment_id,
                "variants": variants,
                "control": "control",
                "traffic": {v: 1 / len(variants) for v in variants},
                "metrics": {
                    "primary": ["revenue"],
                    "secondary": ["order_value"]
                    if rng.random() < 0.5
                    else ["order_value", "purchases"],
                    **({"guardrail": ["purchases"]} if rng.random() < 0.3 else {}),
                },
                "lookback_days": 14,
                "confidence_level": float(rng.choice([0.8, 0.9, 0.95, 0.99])),
                "analysis": {
                    "cuped": str(rng.choice(["single", "none"])),
                    "multiple_testing": str(
                        rng.choice(["holm", "benjamini_hochberg", "bonferroni", "none"])
                    ),
                    "sequential": bool(rng.random() < 0.5),
                },
            }
        )
        if "purchases" in experiments[-1]["metrics"].get("guardrail", []):
            experiments[-1]["metrics"]["secondary"] = ["order_value"]
        if not experiments[-1]["analysis"]["sequential"] and rng.random() < 0.5:
            experiments[-1]["metrics"]["secondary"] += ["revenue_greater", "purchases_less"]
        base = rng.normal(0, 10 ** rng.uniform(-2, 3), 4)  # (y, x, d, w) means, any sign
        subjects = rng.multinomial(
            int(10 ** rng.uniform(0.8, 5.2)), [1 / len(variants)] * len(variants)
        )
        for variant, n in zip(variants, np.maximum(subjects, 2).tolist(), strict=True):
            means = base + rng.normal(0, np.abs(base).max() * rng.choice([0, 0.05, 0.5]), 4)
            loading = rng.normal(0, 10 ** rng.uniform(-1, 2), (4, 4))
            covariance = loading @ loading.T
            if rng.random() < 0.1:  # no pre-exposure data at all
                means[[1, 3]] = 0.0
                covariance[[1, 3], :] = covariance[:, [1, 3]] = 0.0
            total = n * means
            products = (n - 1) * covariance + n * np.outer(means, means)
            y, x, d, w = range(4)

            def sums(
                a: int, b: int, total: np.ndarray = total, products: np.ndarray = products
            ) -> dict[str, float]:
                return {
                    "sum_y": total[a],
                    "sum_y_squares": products[a, a],
                    "sum_x": total[b],
                    "sum_x_squares": products[b, b],
                    "sum_xy": products[a, b],
                }

            shared = {
                "experiment_id": experiment_id,
                "variant_id": variant,
                "is_control": variant == "control",
                "expected_share": 1 / len(variants),
                "n": n,
                "n_with_pre_exposure_events": n // 2,
                "n_multi_variant_subjects": 0,
                "n_unknown_variant_subjects": 0,
            }
            ratio = {
                "sum_d": total[d],
                "sum_d_squares": products[d, d],
                "sum_w": total[w],
                "sum_w_squares": products[w, w],
                "sum_yd": products[y, d],
                "sum_yw": products[y, w],
                "sum_xd": products[x, d],
                "sum_xw": products[x, w],
                "sum_dw": products[d, w],
            }
            rows.append(
                {**shared, "metric_id": "revenue", **sums(y, x), **dict.fromkeys(RATIO_SUM_COLUMNS)}
            )
            rows.append(
                {
                    **shared,
                    "metric_id": "purchases",
                    **sums(d, w),
                    **dict.fromkeys(RATIO_SUM_COLUMNS),
                }
            )
            rows.append({**shared, "metric_id": "order_value", **sums(y, x), **ratio})
            for metric_id, (a, b) in (("revenue_greater", (y, x)), ("purchases_less", (d, w))):
                rows.append(
                    {
                        **shared,
                        "metric_id": metric_id,
                        **sums(a, b),
                        **dict.fromkeys(RATIO_SUM_COLUMNS),
                    }
                )
    config = parse_config({"metrics": metrics, "experiments": experiments}, "random.yml")
    mart = pd.DataFrame(rows)
    mart["config_hash"] = config.hash
    return config, mart


def incoherent_rows(results: pd.DataFrame, lower: str, upper: str, p: str) -> pd.DataFrame:
    """Rows where the interval's exclusion of 0 and p < α disagree (boundary rows apart).

    A one-sided interval's open bound is null (unbounded).
    """
    alpha = 1 - results["confidence_level"]
    checked = results[p].notna() & results[[lower, upper]].notna().any(axis=1)
    checked &= (results[p] / alpha - 1).abs() > BOUNDARY
    excludes_zero = (results[lower] > 0) | (results[upper] < 0)
    significant = results[p] < alpha
    return results[checked & (excludes_zero != significant)]


@pytest.fixture(scope="module")
def analysed() -> object:
    config, mart = random_config_and_mart(seed=17)
    return analyze(mart, config, "r", AT)


@pytest.fixture(scope="module")
def results(analysed) -> pd.DataFrame:
    return analysed.results


@pytest.mark.parametrize(("lower", "upper", "p"), FAMILIES, ids=[f[2] for f in FAMILIES])
def test_every_interval_excludes_zero_exactly_when_its_p_value_is_significant(
    results: pd.DataFrame, lower: str, upper: str, p: str
) -> None:
    bad = incoherent_rows(results, lower, upper, p)
    assert bad.empty, bad[["experiment_id", "metric_id", lower, upper, p]].head().to_string()
    # The draw covers both outcomes, or the property would be vacuous.
    checked = results[p].notna() & results[[lower, upper]].notna().any(axis=1)
    significant = results[p] < 1 - results["confidence_level"]
    assert (checked & significant).sum() > 200 and (checked & ~significant).sum() > 200


def test_the_draw_covers_what_the_property_is_about(results: pd.DataFrame) -> None:
    assert len(results) > 5000
    assert (results["control_n"] < 10).sum() > 100  # tiny arms
    assert (results["decision_control_mean"] < 0).sum() > 500  # negative means
    assert (results["decision_method"] == "sequential").sum() > 2000
    assert set(results["multiple_testing_method"]) == {
        "holm",
        "benjamini_hochberg",
        "bonferroni",
        "none",
    }
    ratio = results["metric_id"] == "order_value"
    assert (ratio & (results["status"] == "ok")).sum() > 1000
    assert (results["cuped_fallback_reason"].str.contains("falls back")).sum() > 50
    for alternative, open_bound in (
        ("greater", "decision_ci_upper"),
        ("less", "decision_ci_lower"),
    ):
        one_sided = (results["alternative"] == alternative) & (results["status"] == "ok")
        assert one_sided.sum() > 500
        assert results.loc[one_sided, open_bound].isna().all()


def test_verdicts_follow_the_decision_columns(analysed) -> None:
    results, diagnostics = analysed.results, analysed.diagnostics
    failing = set(diagnostics.loc[diagnostics["health_status"] == "fail", "experiment_id"])
    unhealthy = results["verdict"] == "unhealthy"
    assert (unhealthy == results["experiment_id"].isin(failing)).all()
    assert 0 < unhealthy.sum() < len(results) / 2
    assert (
        results.loc[unhealthy, "verdict_reason"].str.startswith("experiment health is fail: ").all()
    )
    alpha = 1 - results["confidence_level"]
    tested = ~results["verdict"].isin(["no_result", "unhealthy"])
    assert (results.loc[tested, "status"].isin(["ok", "zero_control_mean"])).all()
    significant = results["decision_p_value"] < alpha
    assert (results.loc[tested & significant, "verdict"].isin(["better", "worse"])).all()
    assert (results.loc[tested & ~significant, "verdict"] == "inconclusive").all()
    went_up = (
        results["decision_relative_effect"].where(
            results["decision_scale"] == "relative", results["decision_absolute_effect"]
        )
        > 0
    )
    good = went_up == (results["metric_direction"] == "increase")
    decided = tested & significant
    assert ((results.loc[decided, "verdict"] == "better") == good[decided]).all()
    assert results["verdict_reason"].str.len().gt(0).all()


def test_nothing_non_finite_is_written(results: pd.DataFrame) -> None:
    numbers = results.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(numbers).any()


def test_the_check_catches_an_interval_paired_with_the_wrong_p_value(results: pd.DataFrame) -> None:
    # Before issue 17 the adjusted relative interval was backed out from the absolute p.
    assert not incoherent_rows(
        results,
        "adjusted_relative_effect_ci_lower",
        "adjusted_relative_effect_ci_upper",
        "adjusted_p_value",
    ).empty
    broken = results.copy()
    row = broken.index[(broken["decision_ci_lower"] > 0).to_numpy()][0]
    broken.loc[row, "decision_ci_lower"] = -1e-12
    assert (
        len(incoherent_rows(broken, "decision_ci_lower", "decision_ci_upper", "decision_p_value"))
        == 1
    )


def test_cuped_plus_plus_intervals_agree_with_their_p_values() -> None:
    rng = np.random.default_rng(23)
    comparisons, k = 3000, 3
    arms = []
    for _ in range(2):
        n = np.floor(10 ** rng.uniform(0.5, 4.5, comparisons))
        means = rng.normal(0, 5, (comparisons, k + 1))
        loading = rng.normal(0, 1, (comparisons, k + 1, k + 1))
        covariance = loading @ np.swapaxes(loading, 1, 2)
        total = n[:, None] * means
        products = (n - 1)[:, None, None] * covariance + n[:, None, None] * means[
            :, :, None
        ] * means[:, None, :]
        arms.append(
            MultiCovariateStatistics(
                n,
                total[:, 0],
                products[:, 0, 0],
                total[:, 1:],
                products[:, 0, 1:],
                products[:, 1:, 1:],
            )
        )
    level = rng.choice([0.9, 0.95, 0.99], comparisons)
    estimate = multi_cuped_test(arms[0], arms[1], level)
    frame = pd.DataFrame(
        {
            name: np.asarray(getattr(estimate, name))
            for name in (
                "absolute_effect_ci_lower",
                "absolute_effect_ci_upper",
                "p_value",
                "relative_effect_ci_lower",
                "relative_effect_ci_upper",
                "relative_p_value",
            )
        }
    )
    frame["confidence_level"] = level
    for lower, upper, p in FAMILIES[:2]:
        assert incoherent_rows(frame, lower, upper, p).empty
        assert (frame[p] < 1 - level).sum() > 300 and (frame[p] >= 1 - level).sum() > 300
