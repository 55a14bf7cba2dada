"""Planning: the subjects a target relative effect needs, from a metric's history.

The planned test compares each treatment's mean with the control's on the relative scale,
as the analysis reports it: lift = μ_t / μ_c - 1, with the delta-method variance of the
ratio of two independent means. With per-subject variance σ² in both arms (the history's),
baseline mean μ, target lift r and N subjects split w_c (control) and w_t (treatment),

    Var(lift) = σ² / (N μ²) · (1 / w_c + (1 + r)² / w_t),

and the test reaches power 1-β at level α when r / sqrt(Var(lift)) = z_{1-α/2} + z_{1-β}
(z_{1-α} for a one-sided test; the far tail of a two-sided test is left out, as
GrowthBook's and statsmodels' closed forms do). Solving for N:

    N = (z_{1-α/2} + z_{1-β})² σ² (1 / w_c + (1 + r)² / w_t) / (μ r)².

Without the (1 + r)² factor this is the textbook sample size for an absolute difference
δ = μ r, σ²(1/w_c + 1/w_t) (:func:`absolute_subjects_needed`; statsmodels'
``NormalIndPower``). GrowthBook's power calculator uses the relative form (docs:
statistics/power-technical). CUPED replaces σ² by σ²(1 - ρ²), ρ the correlation of the
metric with its pre-exposure covariate (Deng et al. 2013).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from analysis_py.stats.distributions import normal_cdf, normal_ppf
from analysis_py.stats.sufficient_statistics import ArmSums

Sides = Literal["two-sided", "one-sided"]


@dataclass(frozen=True)
class Design:
    """What the planned test looks like, the same for every metric of one experiment.

    Attributes:
        alpha: Level of each test, after the multiple-testing bound.
        power: The power the test should reach at the target effect.
        control_share: Share of subjects in the control arm.
        treatment_share: Share in the smallest treatment arm (the one that needs most).
    """

    alpha: float
    power: float
    control_share: float
    treatment_share: float


def critical_value(alpha: np.ndarray | float, sides: np.ndarray | str) -> np.ndarray:
    """z_{1-α/2} for a two-sided test, z_{1-α} for a one-sided one."""
    two_sided = np.asarray(sides) == "two-sided"
    return np.asarray(normal_ppf(1 - np.where(two_sided, np.asarray(alpha) / 2, alpha)))


def absolute_subjects_needed(
    variance: np.ndarray,
    absolute_effect: np.ndarray,
    design: Design,
    sides: np.ndarray | str = "two-sided",
) -> np.ndarray:
    """Total subjects (all arms of one comparison) to detect an absolute difference.

    N = (z + z_{power})² σ² (1/w_c + 1/w_t) / δ²: statsmodels' ``NormalIndPower`` with
    ``nobs1 = N w_c`` and ``ratio = w_t / w_c``.

    Example:
        >>> design = Design(alpha=0.05, power=0.8, control_share=0.5, treatment_share=0.5)
        >>> round(float(absolute_subjects_needed(np.array(1.0), np.array(0.1), design)), 1)
        3139.6
    """
    z = critical_value(design.alpha, sides) + normal_ppf(design.power)
    arms = 1 / design.control_share + 1 / design.treatment_share
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(z**2 * variance * arms / np.asarray(absolute_effect) ** 2)


def subjects_needed(
    variance: np.ndarray,
    mean: np.ndarray,
    relative_effect: np.ndarray | float,
    design: Design,
    sides: np.ndarray | str = "two-sided",
) -> np.ndarray:
    """Total subjects to detect a relative effect r, delta method (the module's formula).

    Infinite or NaN where the baseline mean is 0; not rounded.

    Example:
        >>> design = Design(alpha=0.05, power=0.8, control_share=0.5, treatment_share=0.5)
        >>> round(float(subjects_needed(np.array(1.0), np.array(10.0), 0.01, design)), 1)
        3171.1
    """
    r = np.asarray(relative_effect, dtype=float)
    z = critical_value(design.alpha, sides) + normal_ppf(design.power)
    arms = 1 / design.control_share + (1 + r) ** 2 / design.treatment_share
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(z**2 * variance * arms / (np.asarray(mean) * r) ** 2)


def relative_power(
    variance: np.ndarray,
    mean: np.ndarray,
    relative_effect: np.ndarray | float,
    subjects: np.ndarray | float,
    design: Design,
) -> np.ndarray:
    """Power of the two-sided relative test with ``subjects`` in all, both tails counted.

    The inverse of :func:`subjects_needed` (up to the far tail, which it includes, as
    GrowthBook's calculator does).
    """
    r = np.asarray(relative_effect, dtype=float)
    arms = 1 / design.control_share + (1 + r) ** 2 / design.treatment_share
    std_error = np.sqrt(variance * arms / (np.asarray(subjects) * np.asarray(mean) ** 2))
    z = critical_value(design.alpha, "two-sided")
    return np.asarray(1 - normal_cdf(z - r / std_error) + normal_cdf(-z - r / std_error))


@dataclass(frozen=True)
class History:
    """What a metric's history says, per metric (arrays).

    Attributes:
        mean: Baseline mean of the metric.
        variance: Its variance over subjects (n - 1).
        correlation: ρ, its correlation with the pre-exposure covariate (NaN where either
            has no variance).
        cuped_variance: σ²(1 - ρ²), the variance CUPED leaves (σ² where ρ is NaN).
    """

    mean: np.ndarray
    variance: np.ndarray
    correlation: np.ndarray
    cuped_variance: np.ndarray

    @property
    def variance_reduction(self) -> np.ndarray:
        """ρ²: the share of the variance CUPED removes (0 where ρ is NaN)."""
        return np.nan_to_num(self.correlation**2)


def history(sums: ArmSums) -> History:
    """Mean, variance and CUPED variance of each metric, from its history's sums.

    For ratio metrics (:class:`~analysis_py.stats.sufficient_statistics.RatioStatistics`
    sums) the mean is the ratio of means R, the variance n·Var(R) by the delta method and
    ρ the correlation of R with its covariate ratio, which ratio CUPED adjusts on; the
    planning formula then holds as is.
    """
    variance_x, variance_y = sums.variance_x, sums.variance_y
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = sums.covariance_xy / np.sqrt(variance_x * variance_y)
    correlation = np.where((variance_x > 0) & (variance_y > 0), correlation, np.nan)
    return History(
        mean=sums.mean_y,
        variance=variance_y,
        correlation=correlation,
        cuped_variance=variance_y * (1 - np.nan_to_num(correlation**2)),
    )
