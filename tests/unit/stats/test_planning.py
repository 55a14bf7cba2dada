"""The planner's sample-size formulas against statsmodels and GrowthBook's calculator."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from analysis_py.stats.planning import (
    Design,
    absolute_subjects_needed,
    history,
    relative_power,
    subjects_needed,
)
from analysis_py.stats.sufficient_statistics import SufficientStatistics


@pytest.mark.parametrize(
    ("alpha", "power", "control_share", "treatment_share", "alternative"),
    [
        (0.05, 0.8, 0.5, 0.5, "two-sided"),
        (0.01, 0.9, 0.5, 0.25, "two-sided"),
        (0.05 / 6, 0.8, 0.7, 0.3, "two-sided"),
        (0.05, 0.8, 0.5, 0.5, "larger"),
    ],
)
def test_absolute_sample_size_matches_statsmodels_normal_power(
    alpha: float, power: float, control_share: float, treatment_share: float, alternative: str
) -> None:
    variance, effect = 4.0, 0.07
    design = Design(alpha, power, control_share, treatment_share)
    sides = "two-sided" if alternative == "two-sided" else "one-sided"
    ours = absolute_subjects_needed(np.array(variance), np.array(effect), design, sides)
    nobs1 = NormalIndPower().solve_power(
        effect_size=effect / np.sqrt(variance),
        alpha=alpha,
        power=power,
        ratio=treatment_share / control_share,
        alternative=alternative,
    )
    # statsmodels counts the far tail of a two-sided test (below 1e-6 of power here) and
    # solves numerically: the closed form agrees to 1e-5 relative.
    assert float(ours) * control_share == pytest.approx(nobs1, rel=1e-5)


def test_absolute_sample_size_is_close_to_the_t_test_for_large_samples() -> None:
    """The normal approximation against statsmodels' t-based solve: within 0.1% above 5,000."""
    design = Design(0.05, 0.8, 0.5, 0.5)
    ours = absolute_subjects_needed(np.array(1.0), np.array(0.05), design)
    nobs1 = TTestIndPower().solve_power(effect_size=0.05, alpha=0.05, power=0.8, ratio=1.0)
    assert float(ours) / 2 > 5000
    assert float(ours) / 2 == pytest.approx(nobs1, rel=1e-3)


def test_relative_sample_size_tends_to_the_absolute_one_for_small_effects() -> None:
    design = Design(0.05, 0.8, 0.5, 0.5)
    relative = subjects_needed(np.array(2.0), np.array(5.0), 1e-6, design)
    absolute = absolute_subjects_needed(np.array(2.0), np.array(5.0 * 1e-6), design)
    assert float(relative) == pytest.approx(float(absolute), rel=1e-5)


def test_relative_power_inverts_the_sample_size() -> None:
    design = Design(0.05, 0.8, 0.5, 0.25)
    n = subjects_needed(np.array(3.0), np.array(2.0), 0.05, design)
    # Power at exactly N is 0.8 plus the far tail (below 1e-6 here).
    assert float(relative_power(np.array(3.0), np.array(2.0), 0.05, n, design)) == pytest.approx(
        0.8, abs=1e-6
    )


def test_growthbook_calculator_example() -> None:
    """GrowthBook's worked power-calculator example.

    docs.growthbook.io/statistics/power, "How do I interpret power analysis results?"
    (growthbook/growthbook docs/docs/statistics/power.mdx): 2,195 users a week, a binomial
    metric at 14.41%, a 20% expected effect, 2 variations, α = 0.05. The page reports power
    41% after week 1, a week-1 MDE of 34.5%, and 80% power first reached in week 3.
    """
    p = 0.1441
    variance, mean = np.array(p * (1 - p)), np.array(p)
    design = Design(0.05, 0.8, 0.5, 0.5)
    weekly = 2195
    assert float(relative_power(variance, mean, 0.20, weekly, design)) == pytest.approx(
        0.41, abs=0.005
    )
    # The MDE after a week: the effect whose sample size is one week of users.
    effects = np.linspace(0.30, 0.40, 10_001)
    needed = subjects_needed(variance, mean, effects, design)
    mde = effects[np.argmin(np.abs(needed - weekly))]
    # The page rounds its inputs (about 2,195 users, 14.41%) and its output to 0.1 point.
    assert mde == pytest.approx(0.345, abs=0.001)
    weeks = float(subjects_needed(variance, mean, 0.20, design)) / weekly
    assert 2 < weeks <= 3


def test_history_moments_and_cuped_reduction_match_numpy() -> None:
    rng = np.random.default_rng(7)
    x = rng.gamma(2.0, 3.0, 5000)
    y = 0.6 * x + rng.normal(0, 2.0, 5000)
    sums = SufficientStatistics(
        n=len(y),
        sum_y=y.sum(),
        sum_y_squares=(y * y).sum(),
        sum_x=x.sum(),
        sum_x_squares=(x * x).sum(),
        sum_xy=(x * y).sum(),
    )
    found = history(sums)
    rho = np.corrcoef(x, y)[0, 1]
    assert float(found.mean) == pytest.approx(y.mean(), rel=1e-12)
    assert float(found.variance) == pytest.approx(y.var(ddof=1), rel=1e-9)
    assert float(found.correlation) == pytest.approx(rho, rel=1e-9)
    assert float(found.cuped_variance) == pytest.approx(y.var(ddof=1) * (1 - rho**2), rel=1e-9)


def test_history_without_covariate_variance_has_no_reduction() -> None:
    sums = SufficientStatistics(
        n=4, sum_y=10.0, sum_y_squares=30.0, sum_x=0.0, sum_x_squares=0.0, sum_xy=0.0
    )
    found = history(sums)
    assert np.isnan(found.correlation)
    assert float(found.variance_reduction) == 0.0
    assert float(found.cuped_variance) == float(found.variance)
