"""Normal-normal Bayesian analysis of the relative effect.

The data give a relative effect d with standard error s (delta method); the prior on the
effect is N(0, σ₀²). The posterior is normal with precision 1/σ₀² + 1/s² and mean
(d/s²)/(1/σ₀² + 1/s²) (GrowthBook eqs. 5-6, Eppo, Statsig). Chance to win is the posterior
probability that the effect goes the desired way; expected loss is the posterior mean of the
effect's shortfall in the desired direction, E[max(0, -θ)] for "increase" (GrowthBook's
treatment risk).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis_py.stats.distributions import normal_cdf, normal_pdf, normal_ppf, normal_sf


@dataclass(frozen=True)
class Posterior:
    """The normal posterior of the relative effect, per comparison (arrays).

    Attributes:
        mean: Posterior mean of the relative effect.
        std: Posterior standard deviation.
        ci_lower: Lower bound of the equal-tailed credible interval at the confidence level.
        ci_upper: Upper bound.
        chance_to_win: Posterior probability that the effect goes the desired way.
        expected_loss: Posterior mean shortfall in the desired direction (GrowthBook's risk).
    """

    mean: np.ndarray
    std: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    chance_to_win: np.ndarray
    expected_loss: np.ndarray


def relative_effect_posterior(
    effect: np.ndarray,
    std_error: np.ndarray,
    prior_sd: np.ndarray,
    confidence_level: np.ndarray,
    increase_is_good: np.ndarray,
) -> Posterior:
    """Posterior of the relative effect under a N(0, prior_sd²) prior.

    Example:
        >>> post = relative_effect_posterior(np.array([0.05]), np.array([0.02]),
        ...                                  np.array([0.3]), np.array([0.95]),
        ...                                  np.array([True]))
        >>> round(float(post.chance_to_win[0]), 3)
        0.994
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = 1 / prior_sd**2 + 1 / std_error**2
        mean = (effect / std_error**2) / precision
        std = np.sqrt(1 / precision)
    z = normal_ppf((1 + np.asarray(confidence_level)) / 2)
    ratio = mean / std
    density, below, above = normal_pdf(ratio), normal_cdf(-ratio), normal_cdf(ratio)
    loss_if_increase = std * density - mean * below
    loss_if_decrease = std * density + mean * above
    return Posterior(
        mean=mean,
        std=std,
        ci_lower=mean - z * std,
        ci_upper=mean + z * std,
        chance_to_win=np.where(increase_is_good, normal_sf(-ratio), below),
        expected_loss=np.where(increase_is_good, loss_if_increase, loss_if_decrease),
    )
