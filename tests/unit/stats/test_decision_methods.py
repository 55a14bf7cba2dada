"""The decision layer against independent implementations.

statsmodels (multipletests, OLS with several covariates, power), tea-tasting (multiple
testing), and GrowthBook's gbstats (sequential interval, Bayesian posterior, SRM).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
import tea_tasting as tt
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

from analysis_py.stats import sequential
from analysis_py.stats.bayesian import relative_effect_posterior
from analysis_py.stats.multiple_testing import adjust_p_values, adjusted_alpha
from analysis_py.stats.noninferiority import noninferiority_p_value
from analysis_py.stats.power import power_analysis
from analysis_py.stats.sufficient_statistics import MultiCovariateStatistics, SufficientStatistics
from analysis_py.stats.ttest import interval_quantile, multi_cuped_test, unadjusted_test
from tests.conftest import REPO

EXACT = 1e-9

# Produced by scripts/gbstats_reference.py with gbstats 0.8.0 in a separate environment
# (gbstats pins numpy<2); the script's docstring says how to regenerate the file.
GBSTATS = json.loads((REPO / "tests" / "data" / "gbstats_reference.json").read_text())


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("holm", "holm"), ("benjamini_hochberg", "fdr_bh"), ("bonferroni", "bonferroni")],
)
def test_adjusted_p_values_equal_statsmodels(ours: str, theirs: str) -> None:
    rng = np.random.default_rng(0)
    p_values = np.concatenate([rng.uniform(0, 0.2, 7), rng.uniform(0, 1, 5)])
    families = np.array(["a"] * 7 + ["b"] * 5, dtype=object)
    adjusted = adjust_p_values(p_values, families, np.array([ours] * 12))
    for family in ("a", "b"):
        mask = families == family
        expected = multipletests(p_values[mask], method=theirs)[1]
        np.testing.assert_allclose(adjusted[mask], expected, rtol=EXACT)


@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("benjamini_hochberg", "fdr_bh")])
def test_many_families_at_once_equal_statsmodels_per_family(ours: str, theirs: str) -> None:
    # 3,000 families adjusted in one vectorised call, tiny and ordinary p-values mixed.
    rng = np.random.default_rng(9)
    families = np.repeat(np.arange(3000).astype(str), 4).astype(object)
    p_values = rng.uniform(0, 1e-6, families.size) * rng.choice([1, 1e5], families.size)
    adjusted = adjust_p_values(p_values, families, np.array([ours] * families.size))
    for family in map(str, range(0, 3000, 37)):
        mask = families == family
        expected = multipletests(p_values[mask], method=theirs)[1]
        np.testing.assert_allclose(adjusted[mask], expected, rtol=EXACT)


def test_comparisons_outside_families_keep_their_p_value() -> None:
    p_values = np.array([0.01, 0.02, np.nan, 0.03])
    families = np.array(["a", None, "a", "a"], dtype=object)
    methods = np.array(["holm", "holm", "holm", "none"])
    adjusted = adjust_p_values(p_values, families, methods)
    assert adjusted[1] == 0.02 and adjusted[3] == 0.03 and np.isnan(adjusted[2])
    assert adjusted[0] == pytest.approx(0.01)  # alone in its family


@pytest.mark.parametrize("method", ["holm", "benjamini_hochberg"])
def test_adjusted_p_values_equal_tea_tasting(method: str) -> None:
    rng = np.random.default_rng(1)
    n = 400
    data = pd.DataFrame({"variant": np.repeat([0, 1], n)})
    for i, effect in enumerate([0.0, 0.15, 0.25, 0.05]):
        data[f"m{i}"] = rng.normal(1 + effect * data["variant"], 1)
    experiment = tt.Experiment({f"m{i}": tt.Mean(f"m{i}") for i in range(4)})
    result = experiment.analyze(data)
    if method == "holm":  # Holm-Bonferroni = tea-tasting's FWER with arbitrary dependence
        reference = tt.adjust_fwer(result, method="bonferroni", arbitrary_dependence=True)
    else:
        reference = tt.adjust_fdr(result)
    rows = reference.to_dicts()
    raw = np.array([row["pvalue"] for row in rows])
    expected = np.array([row["pvalue_adj"] for row in rows])
    ours = adjust_p_values(raw, np.array(["e"] * 4, dtype=object), np.array([method] * 4))
    np.testing.assert_allclose(ours, expected, rtol=EXACT)


def test_adjusted_interval_excludes_zero_exactly_when_adjusted_p_is_significant() -> None:
    rng = np.random.default_rng(2)
    p_values = np.concatenate([rng.uniform(0, 0.02, 20), rng.uniform(0, 1, 20)])
    families = np.repeat(["a", "b", "c", "d"], 10).astype(object)
    methods = np.array(["holm"] * 20 + ["benjamini_hochberg"] * 20)
    adjusted = adjust_p_values(p_values, families, methods)
    df = rng.uniform(50, 5000, 40)
    level = np.full(40, 0.95)
    # An effect and standard error with exactly this two-sided t p-value.
    std_error = rng.uniform(0.5, 2, 40)
    effect = stats.t.isf(p_values / 2, df) * std_error
    quantile = interval_quantile(adjusted_alpha(p_values, adjusted, 1 - level), df)
    excludes_zero = effect - quantile * std_error > 0
    np.testing.assert_array_equal(excludes_zero, adjusted < 0.05)
    assert 0 < excludes_zero.sum() < 40  # both outcomes occur


@pytest.mark.parametrize("case", range(len(GBSTATS["cases"])))
def test_sequential_interval_and_p_value_equal_gbstats(case: int) -> None:
    reference = GBSTATS["cases"][case]
    control = SufficientStatistics(*reference["control"], 0, 0, 0)
    treatment = SufficientStatistics(*reference["treatment"], 0, 0, 0)
    estimate = unadjusted_test(control, treatment, 0.95)
    n_total = control.n + treatment.n
    for kind, effect, se in (
        ("absolute", estimate.absolute_effect, estimate.absolute_effect_std_error),
        ("relative", estimate.relative_effect, estimate.relative_effect_std_error),
    ):
        half = sequential.half_width(se, n_total, 0.05, 5000.0)
        expected = reference[f"sequential_{kind}"]
        assert effect - half == pytest.approx(expected["ci"][0], rel=EXACT)
        assert effect + half == pytest.approx(expected["ci"][1], rel=EXACT)
        assert sequential.p_value(effect, se, n_total, 0.05, 5000.0) == pytest.approx(
            expected["p_value"], rel=EXACT
        )


@pytest.mark.parametrize("case", range(len(GBSTATS["cases"])))
def test_fixed_horizon_intervals_and_p_values_equal_gbstats_on_both_scales(case: int) -> None:
    # gbstats tests the relative effect on its own scale: our relative_p_value is that test,
    # and p_value the absolute one (the last case is gbstats' own, where they disagree).
    reference = GBSTATS["cases"][case]
    estimate = unadjusted_test(
        SufficientStatistics(*reference["control"], 0, 0, 0),
        SufficientStatistics(*reference["treatment"], 0, 0, 0),
        0.95,
    )
    for scale, p_value in (("relative", estimate.relative_p_value), ("absolute", estimate.p_value)):
        expected = reference[f"fixed_{scale}"]
        assert getattr(estimate, f"{scale}_effect_ci_lower") == pytest.approx(
            expected["ci"][0], rel=EXACT
        )
        assert getattr(estimate, f"{scale}_effect_ci_upper") == pytest.approx(
            expected["ci"][1], rel=EXACT
        )
        assert p_value == pytest.approx(expected["p_value"], rel=EXACT)


def test_sums_gbstats_refuses_get_the_negative_variance_status() -> None:
    from tests.unit.pipeline.test_comparisons import _one_treatment

    refused = GBSTATS["impossible"]
    assert refused["error_message"] == "ZERO_NEGATIVE_VARIANCE"
    row = _one_treatment(
        (*refused["control"], 0.0, 0.0, 0.0), (*refused["treatment"], 0.0, 0.0, 0.0)
    )
    assert row["status"] == "negative_variance" and row["verdict"] == "no_result"


def test_arm_mean_intervals_equal_statsmodels() -> None:
    from statsmodels.stats.weightstats import DescrStatsW

    from analysis_py.stats.ttest import mean_interval

    rng = np.random.default_rng(8)
    for n, level in ((3, 0.9), (40, 0.95), (2500, 0.99)):
        values = rng.lognormal(1, 1, n) - 2
        arm = SufficientStatistics(n, values.sum(), (values**2).sum(), 0, 0, 0)
        expected = DescrStatsW(values).tconfint_mean(alpha=1 - level)
        np.testing.assert_allclose(mean_interval(arm, level), expected, rtol=EXACT)


def test_sequential_interval_is_wider_than_the_fixed_horizon_one() -> None:
    se, n = np.array([0.1]), np.array([10_000.0])
    assert sequential.half_width(se, n, 0.05, 5000.0) > 1.96 * se


@pytest.mark.parametrize("case", range(len(GBSTATS["cases"])))
def test_bayesian_posterior_equals_gbstats(case: int) -> None:
    reference = GBSTATS["cases"][case]
    estimate = unadjusted_test(
        SufficientStatistics(*reference["control"], 0, 0, 0),
        SufficientStatistics(*reference["treatment"], 0, 0, 0),
        0.95,
    )
    posterior = relative_effect_posterior(
        estimate.relative_effect,
        estimate.relative_effect_std_error,
        np.array(0.3),
        np.array(0.95),
        np.array(True),
    )
    expected = reference["bayesian_relative"]
    assert posterior.mean == pytest.approx(expected["mean"], rel=EXACT)
    assert posterior.std == pytest.approx(expected["stddev"], rel=EXACT)
    assert posterior.ci_lower == pytest.approx(expected["ci"][0], rel=EXACT)
    assert posterior.ci_upper == pytest.approx(expected["ci"][1], rel=EXACT)
    assert posterior.chance_to_win == pytest.approx(expected["chance_to_win"], rel=EXACT)
    # gbstats' risk of choosing the treatment is our expected loss.
    assert posterior.expected_loss == pytest.approx(expected["risk_treatment"], rel=1e-7)
    flipped = relative_effect_posterior(
        estimate.relative_effect,
        estimate.relative_effect_std_error,
        np.array(0.3),
        np.array(0.95),
        np.array(False),
    )
    assert flipped.chance_to_win == pytest.approx(1 - expected["chance_to_win"], rel=1e-7)


def test_srm_p_value_equals_gbstats() -> None:
    from analysis_py.pipeline.comparisons import analyze
    from tests.unit.pipeline.test_comparisons import AT, mart_rows, three_arm_config

    reference = GBSTATS["srm"]
    config = three_arm_config()
    arms = dict(zip(["control", "b", "c"], reference["users"], strict=True))
    mart = mart_rows(config, {v: (n, 1.0, 1.0, 0.0, 0.0, 0.0) for v, n in arms.items()})
    diagnostics = analyze(mart, config, "r", AT).diagnostics.iloc[0]
    assert diagnostics["srm_p_value"] == pytest.approx(reference["p_value"], rel=1e-7)


def multi_covariate_data(seed: int, balance: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    treated = rng.integers(0, 2, n)
    x = rng.gamma(2.0, 1.0, size=(n, 3))
    x[:, 2] = 0.5 * x[:, 0] + rng.normal(0, 0.5, n)  # correlated covariates
    noise = rng.normal(0, 1 + treated * 0.3, n)
    y = 1 + x @ np.array([0.6, 0.3, 0.4]) + 0.2 * treated + noise
    if balance:
        for j in range(3):
            x[treated == 1, j] -= x[treated == 1, j].mean() - x[treated == 0, j].mean()
    return pd.DataFrame({"y": y, "treatment": treated, "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2]})


def multi_arm(frame: pd.DataFrame) -> MultiCovariateStatistics:
    x = frame[["x0", "x1", "x2"]].to_numpy()
    y = frame["y"].to_numpy()
    return MultiCovariateStatistics(
        n=np.array([len(y)], dtype=float),
        sum_y=np.array([y.sum()]),
        sum_y_squares=np.array([(y * y).sum()]),
        sum_x=x.sum(axis=0)[None, :],
        sum_yx=(y[:, None] * x).sum(axis=0)[None, :],
        sum_xx=(x.T @ x)[None, :, :],
    )


@pytest.mark.parametrize("balance", [True, False])
def test_cuped_plus_plus_equals_ols_with_several_covariates(balance: bool) -> None:
    data = multi_covariate_data(3, balance)
    estimate = multi_cuped_test(
        multi_arm(data[data.treatment == 0]), multi_arm(data[data.treatment == 1]), 0.95
    )
    ols = smf.ols("y ~ treatment + x0 + x1 + x2", data=data).fit(cov_type="HC2")
    if balance:
        # Equal covariate means: the pooled β is the OLS slope and the effects agree exactly.
        assert estimate.absolute_effect[0] == pytest.approx(ols.params["treatment"], rel=EXACT)
        np.testing.assert_allclose(
            estimate.coefficients[0], ols.params[["x0", "x1", "x2"]], rtol=EXACT
        )
    else:
        # The between-arm term of the pooled covariance moves β a little: within 5% of an SE.
        difference = abs(estimate.absolute_effect[0] - ols.params["treatment"])
        assert difference < 0.05 * ols.bse["treatment"]
    assert estimate.absolute_effect_std_error[0] == pytest.approx(ols.bse["treatment"], rel=0.01)


def test_power_equals_statsmodels_for_equal_variances() -> None:
    n_control, n_treatment, sigma, mean = 4000, 6000, 2.0, 10.0
    se = sigma * np.sqrt(1 / n_control + 1 / n_treatment)
    result = power_analysis(
        np.array(se),
        np.array(mean),
        np.array(10_000.0),
        np.array(0.95),
        power=np.array(0.8),
        target_relative_effect=np.array(0.02),
    )
    standardized = NormalIndPower().solve_power(
        nobs1=n_control, alpha=0.05, power=0.8, ratio=n_treatment / n_control
    )
    # statsmodels adds the far tail's tiny power; agreement to 1e-4 relative.
    assert result.minimum_detectable_relative_effect == pytest.approx(
        standardized * sigma / mean, rel=1e-4
    )
    # With the sample it asks for (same split), statsmodels gives the target effect 80% power.
    needed_control = float(result.subjects_needed) * n_control / 10_000
    achieved = NormalIndPower().power(
        effect_size=0.02 * mean / sigma,
        nobs1=needed_control,
        alpha=0.05,
        ratio=n_treatment / n_control,
    )
    assert achieved == pytest.approx(0.8, abs=1e-3)
    assert result.progress == pytest.approx(min(1.0, 10_000 / result.subjects_needed))


@pytest.mark.parametrize("increase", [True, False])
def test_noninferiority_p_value_matches_its_one_sided_bound(increase: bool) -> None:
    rng = np.random.default_rng(4)
    relative = rng.normal(0, 0.05, 200)
    se = rng.uniform(0.005, 0.03, 200)
    df = rng.uniform(100, 10_000, 200)
    margin = np.full(200, 0.05)
    p = noninferiority_p_value(relative, se, df, margin, np.full(200, increase))
    quantile = stats.t.ppf(0.95, df)
    if increase:
        inside = relative - quantile * se > -margin
    else:
        inside = relative + quantile * se < margin
    np.testing.assert_array_equal(p < 0.05, inside)
    assert 0 < inside.sum() < 200
