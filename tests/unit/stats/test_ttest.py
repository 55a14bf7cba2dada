"""Welch and CUPED tests against independent implementations on the same per-subject data.

References: scipy.stats.ttest_ind (Welch), statsmodels OLS (regression adjustment),
tea-tasting's Mean metric with a covariate (CUPED with θ over both arms pooled).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
import tea_tasting as tt
from scipy import stats

from analysis_py.stats.sufficient_statistics import SufficientStatistics
from analysis_py.stats.ttest import cuped_test, unadjusted_test

# Floating-point agreement of two exact computations of the same formula.
EXACT = 1e-9


def sums(y: np.ndarray, x: np.ndarray) -> SufficientStatistics:
    return SufficientStatistics(
        n=len(y),
        sum_y=y.sum(),
        sum_y_squares=(y * y).sum(),
        sum_x=x.sum(),
        sum_x_squares=(x * x).sum(),
        sum_xy=(x * y).sum(),
    )


def simulate(
    seed: int,
    n_control: int = 800,
    n_treatment: int = 900,
    effect: float = 0.3,
    balance_covariate: bool = False,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_control + n_treatment
    x = rng.gamma(2.0, 2.0, size=n)
    treated = np.r_[np.zeros(n_control), np.ones(n_treatment)]
    # Unequal noise in the two arms, so that Welch and the pooled t-test differ.
    noise = rng.normal(0, 1 + 0.5 * treated, size=n)
    y = 1.0 + 0.7 * x + effect * treated + noise
    if balance_covariate:
        # Shift the treatment's covariate so that both arms have exactly the same mean.
        shift = x[treated == 1].mean() - x[treated == 0].mean()
        x = x - shift * treated
    return pd.DataFrame({"y": y, "x": x, "treatment": treated.astype(int)})


def arms(data: pd.DataFrame) -> tuple[SufficientStatistics, SufficientStatistics]:
    control, treatment = data[data.treatment == 0], data[data.treatment == 1]
    return (
        sums(control.y.to_numpy(), control.x.to_numpy()),
        sums(treatment.y.to_numpy(), treatment.x.to_numpy()),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("confidence_level", [0.95, 0.9])
def test_unadjusted_equals_scipy_welch(seed: int, confidence_level: float) -> None:
    data = simulate(seed)
    control, treatment = arms(data)
    estimate = unadjusted_test(control, treatment, confidence_level)
    reference = stats.ttest_ind(
        data.y[data.treatment == 1], data.y[data.treatment == 0], equal_var=False
    )
    interval = reference.confidence_interval(confidence_level)
    assert estimate.t_statistic == pytest.approx(reference.statistic, rel=EXACT)
    assert estimate.p_value == pytest.approx(reference.pvalue, rel=EXACT)
    assert estimate.degrees_of_freedom == pytest.approx(reference.df, rel=EXACT)
    assert estimate.absolute_effect_ci_lower == pytest.approx(interval.low, rel=EXACT)
    assert estimate.absolute_effect_ci_upper == pytest.approx(interval.high, rel=EXACT)


def test_relative_effect_is_the_delta_method_by_hand() -> None:
    data = simulate(4)
    control_y = data.y[data.treatment == 0].to_numpy()
    treatment_y = data.y[data.treatment == 1].to_numpy()
    estimate = unadjusted_test(*arms(data), 0.95)

    mean_c, mean_t = control_y.mean(), treatment_y.mean()
    var_c, var_t = control_y.var(ddof=1), treatment_y.var(ddof=1)
    n_c, n_t = len(control_y), len(treatment_y)
    std_error = np.sqrt(var_t / (n_t * mean_c**2) + mean_t**2 * var_c / (n_c * mean_c**4))
    assert estimate.relative_effect == pytest.approx(mean_t / mean_c - 1, rel=EXACT)
    assert estimate.relative_effect_std_error == pytest.approx(std_error, rel=EXACT)
    half_width = (estimate.relative_effect_ci_upper - estimate.relative_effect_ci_lower) / 2
    quantile = stats.t.ppf(0.975, estimate.degrees_of_freedom)
    assert half_width == pytest.approx(quantile * std_error, rel=EXACT)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_cuped_equals_tea_tasting(seed: int) -> None:
    data = simulate(seed)
    estimate = cuped_test(*arms(data), 0.95)
    experiment = tt.Experiment(y=tt.Mean("y", covariate="x"), variant="treatment")
    reference = experiment.analyze(data, control=0).to_dicts()[0]
    assert estimate.control_mean == pytest.approx(reference["control"], rel=EXACT)
    assert estimate.treatment_mean == pytest.approx(reference["treatment"], rel=EXACT)
    assert estimate.absolute_effect == pytest.approx(reference["effect_size"], rel=EXACT)
    assert estimate.absolute_effect_ci_lower == pytest.approx(
        reference["effect_size_ci_lower"], rel=EXACT
    )
    assert estimate.absolute_effect_ci_upper == pytest.approx(
        reference["effect_size_ci_upper"], rel=EXACT
    )
    assert estimate.p_value == pytest.approx(reference["pvalue"], rel=EXACT)
    assert estimate.relative_effect == pytest.approx(reference["rel_effect_size"], rel=EXACT)
    # tea-tasting's relative interval is on the log scale, ours is the delta method: they
    # agree to first order only (here within 2% of the interval's width).
    width = estimate.relative_effect_ci_upper - estimate.relative_effect_ci_lower
    assert estimate.relative_effect_ci_lower == pytest.approx(
        reference["rel_effect_size_ci_lower"], abs=0.02 * width
    )


def test_cuped_equals_ols_when_covariate_means_match() -> None:
    # With equal covariate means in both arms, θ over the pooled arms equals the OLS
    # coefficient of x in y ~ treatment + x, so the effects must agree exactly.
    data = simulate(8, balance_covariate=True)
    estimate = cuped_test(*arms(data), 0.95)
    ols = smf.ols("y ~ treatment + x", data=data).fit(cov_type="HC2")
    assert estimate.absolute_effect == pytest.approx(ols.params["treatment"], rel=EXACT)
    assert estimate.theta == pytest.approx(ols.params["x"], rel=EXACT)
    # Welch on adjusted values ignores the estimation of θ; HC2 accounts for it. At these
    # sizes the two standard errors agree within 1%.
    assert estimate.absolute_effect_std_error == pytest.approx(ols.bse["treatment"], rel=0.01)


@pytest.mark.parametrize("seed", [9, 10])
def test_cuped_close_to_ols_in_general(seed: int) -> None:
    data = simulate(seed)
    estimate = cuped_test(*arms(data), 0.95)
    ols = smf.ols("y ~ treatment + x", data=data).fit(cov_type="HC2")
    # θ over the pooled arms differs from OLS's within-arm slope by the between-arm term,
    # which randomisation keeps small: the effects agree within 5% of a standard error.
    assert abs(estimate.absolute_effect - ols.params["treatment"]) < 0.05 * ols.bse["treatment"]
    assert estimate.absolute_effect_std_error == pytest.approx(ols.bse["treatment"], rel=0.01)


def test_cuped_variance_reduction_is_about_rho_squared() -> None:
    data = simulate(11, n_control=20_000, n_treatment=20_000)
    estimate = cuped_test(*arms(data), 0.95)
    rho = np.corrcoef(data.x, data.y)[0, 1]
    assert estimate.variance_reduction == pytest.approx(rho**2, abs=0.02)
    assert estimate.variance_reduction > 0.5


def test_cuped_without_covariate_variance_is_the_unadjusted_test() -> None:
    data = simulate(12)
    data["x"] = 0.0
    control, treatment = arms(data)
    cuped = cuped_test(control, treatment, 0.95)
    plain = unadjusted_test(control, treatment, 0.95)
    assert cuped.theta == 0
    assert cuped.p_value == pytest.approx(plain.p_value, rel=EXACT)
    assert cuped.variance_reduction == pytest.approx(0.0, abs=EXACT)


def test_many_comparisons_at_once_equal_one_at_a_time() -> None:
    datasets = [simulate(seed, effect=seed / 10) for seed in (13, 14, 15)]
    pairs = [arms(d) for d in datasets]

    def stacked(index: int) -> SufficientStatistics:
        fields = ("n", "sum_y", "sum_y_squares", "sum_x", "sum_x_squares", "sum_xy")
        return SufficientStatistics(
            **{f: np.array([getattr(pair[index], f) for pair in pairs]) for f in fields}
        )

    together = cuped_test(stacked(0), stacked(1), np.array([0.95, 0.9, 0.8]))
    for i, (control, treatment) in enumerate(pairs):
        alone = cuped_test(control, treatment, [0.95, 0.9, 0.8][i])
        assert together.p_value[i] == pytest.approx(float(alone.p_value), rel=EXACT)
        assert together.relative_effect_ci_upper[i] == pytest.approx(
            float(alone.relative_effect_ci_upper), rel=EXACT
        )


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_welch_test_equals_scipy(alternative: str) -> None:
    rng = np.random.default_rng(31)
    control, treatment = rng.gamma(2, 5, 300), rng.gamma(2, 5.6, 280)

    def sums(values: np.ndarray) -> SufficientStatistics:
        return SufficientStatistics(len(values), values.sum(), (values**2).sum(), 0, 0, 0)

    estimate = unadjusted_test(sums(control), sums(treatment), 0.95, alternative)
    reference = stats.ttest_ind(treatment, control, equal_var=False, alternative=alternative)
    assert estimate.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert estimate.absolute_effect_ci_lower == pytest.approx(low, rel=1e-9)
    assert estimate.absolute_effect_ci_upper == pytest.approx(high, rel=1e-9)
    assert np.isinf(high if alternative == "greater" else low)
