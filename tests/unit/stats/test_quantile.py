"""The quantile test's pieces against independent references on literal and simulated data.

References: numpy's inverted-CDF quantile (the empirical distribution's inverse), scipy's
normal distribution, and the asymptotic variance ν(1-ν)/(n f(q)²) of a sample quantile for a
distribution whose density f is known.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis_py.stats.quantile import (
    RANK_Z,
    QuantileStatistics,
    quantile_interval,
    quantile_ranks,
    quantile_test,
    sample_statistics,
)


def arm(values: np.ndarray, level: float) -> QuantileStatistics:
    return QuantileStatistics(
        **{k: np.array([v]) for k, v in sample_statistics(values, level).items()}
    )


@pytest.mark.parametrize("level", [0.001, 0.1, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("n", [1, 7, 1000, 2001])
def test_the_quantile_is_the_inverse_of_the_empirical_distribution(level, n) -> None:
    values = np.random.default_rng(n).lognormal(size=n)
    expected = np.quantile(values, level, method="inverted_cdf")
    assert sample_statistics(values, level)["quantile_value"] == expected


def test_an_exact_n_times_level_is_not_rounded_up() -> None:
    # 1000 · 0.9 = 900 (0.9 is not exact in binary): the 900th value, as numpy says.
    values = np.arange(1.0, 1001.0)
    assert sample_statistics(values, 0.9)["quantile_value"] == 900.0
    assert np.quantile(values, 0.9, method="inverted_cdf") == 900.0


def test_band_ranks_are_n_level_plus_minus_z_sd_rounded_outwards() -> None:
    # n = 2000, ν = 0.9: nν = 1800, z·√(nν(1-ν)) = 1.96·√180 = 26.30.
    point, lower, upper = quantile_ranks(np.array(2000.0), np.array(0.9))
    assert (point, lower, upper) == (1800, 1773, 1827)
    statistics = sample_statistics(np.arange(1.0, 2001.0), 0.9)
    assert (statistics["value_lower"], statistics["value_upper"]) == (1773.0, 1827.0)


def test_small_samples_clip_the_band_and_say_it_does_not_fit() -> None:
    statistics = arm(np.arange(1.0, 11.0), 0.9)
    assert statistics.rank_upper[0] == 10  # ⌈9 + 1.96·0.95⌉ = 11, clipped to n
    assert not statistics.band_fits[0]
    assert arm(np.arange(1.0, 2001.0), 0.9).band_fits[0]


def test_the_standard_error_is_the_order_statistics_spread_over_2z() -> None:
    # With ranks that need no rounding the rescaled estimate is (Y_U - Y_L) / (2z).
    statistics = QuantileStatistics(
        n=np.array(10_000.0),
        quantile_level=np.array(0.5),
        quantile_value=np.array(0.0),
        rank_lower=np.array(5000 - 2 * 50.0),
        rank_upper=np.array(5000 + 2 * 50.0),
        value_lower=np.array(-1.0),
        value_upper=np.array(1.0),
        rank_z=np.array(2.0),
    )
    assert statistics.std_error == pytest.approx(2.0 / (2 * 2.0), rel=1e-12)


@pytest.mark.parametrize("level", [0.5, 0.9])
def test_the_standard_error_matches_the_asymptotic_variance(level) -> None:
    # Exponential(1): q = -log(1-ν), f(q) = 1-ν, Var = ν(1-ν)/(n f(q)²). Each estimate
    # spreads by about 1/√(U - L) (6% here); the mean of 40 samples is within 4% of it.
    n = 20_000
    rng = np.random.default_rng(7)
    estimates = [arm(rng.exponential(size=n), level).std_error[0] for _ in range(40)]
    expected = np.sqrt(level * (1 - level) / n) / (1 - level)
    assert np.mean(estimates) == pytest.approx(expected, rel=0.04)


def test_the_test_combines_arms_like_a_hand_z_test() -> None:
    rng = np.random.default_rng(3)
    control, treatment = arm(rng.lognormal(size=3000), 0.9), arm(rng.lognormal(size=2500), 0.9)
    estimate = quantile_test(control, treatment, 0.95)
    q_c, q_t = control.quantile_value[0], treatment.quantile_value[0]
    se_c, se_t = control.std_error[0], treatment.std_error[0]
    se = np.hypot(se_c, se_t)
    z = stats.norm.ppf(0.975)
    assert estimate.absolute_effect[0] == pytest.approx(q_t - q_c, rel=1e-12)
    assert estimate.absolute_effect_std_error[0] == pytest.approx(se, rel=1e-12)
    assert estimate.absolute_effect_ci_lower[0] == pytest.approx(q_t - q_c - z * se, rel=1e-12)
    assert estimate.p_value[0] == pytest.approx(2 * stats.norm.sf(abs(q_t - q_c) / se), rel=1e-9)
    relative_se = np.sqrt(se_t**2 / q_c**2 + q_t**2 * se_c**2 / q_c**4)
    assert estimate.relative_effect_std_error[0] == pytest.approx(relative_se, rel=1e-12)
    assert estimate.relative_p_value[0] == pytest.approx(
        2 * stats.norm.sf(abs(q_t / q_c - 1) / relative_se), rel=1e-9
    )
    assert np.isinf(estimate.degrees_of_freedom[0])
    lower, upper = quantile_interval(control, 0.95)
    assert (lower[0], upper[0]) == pytest.approx((q_c - z * se_c, q_c + z * se_c), rel=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_intervals_exclude_zero_exactly_when_p_is_below_alpha(alternative) -> None:
    rng = np.random.default_rng(11)
    for shift in np.linspace(0.0, 0.3, 16):
        control = arm(rng.lognormal(size=2000), 0.5)
        treatment = arm(rng.lognormal(size=2000) + shift, 0.5)
        estimate = quantile_test(control, treatment, 0.95, alternative)
        for scale in ("absolute", "relative"):
            lower = getattr(estimate, f"{scale}_effect_ci_lower")[0]
            upper = getattr(estimate, f"{scale}_effect_ci_upper")[0]
            p = estimate.p_value[0] if scale == "absolute" else estimate.relative_p_value[0]
            assert (lower > 0 or upper < 0) == (p < 0.05)


def test_a_zero_control_quantile_has_no_relative_effect() -> None:
    values = np.concatenate([np.zeros(1500), np.ones(500)])
    estimate = quantile_test(arm(values, 0.5), arm(values + 1, 0.5), 0.95)
    assert np.isnan(estimate.relative_effect[0])
    assert estimate.absolute_effect[0] == 1.0


def test_rank_z_is_the_95_percent_normal_quantile() -> None:
    assert stats.norm.ppf(0.975) == pytest.approx(RANK_Z, rel=1e-15)
