"""Quantile metrics: the difference of two arms' quantiles, with an interval for large samples.

Each arm's quantile and its standard error come from three order statistics that dbt picks
in SQL (models/marts/fct_variant_metric_quantiles.sql), so no subject row reaches Python.
The standard error is Deng, Knoblich & Yu's (2018) "outer" estimate: for the quantile at
level ν of n values, the order statistics at ranks L, U = nν ∓ z·√(nν(1-ν)) bound a
z-interval of the quantile (the rank of the true quantile is Binomial(n, ν)), so

    se(Ŷ_ν) = (Y_(U) - Y_(L)) · √(nν(1-ν)) / (U - L),

which is (Y_(U) - Y_(L)) / (2z) before the ranks are rounded outwards to whole numbers.
Arms are independent: the difference's standard error is the root of the sum of squares;
the relative difference uses the delta method. Intervals and p-values are normal (z), valid
as n grows; the unit is the subject, so no cluster adjustment is needed while subjects are
what is randomised.

References:
    Deng, A., Knoblich, U., Lu, J. (2018). Applying the Delta Method in Metric Analytics: A
    Practical Guide with Novel Ideas. KDD '18, section 4 (quantile metrics).
    Yao, Y., Li, Y., Lu, J. (2024). Scalable and accurate quantile inference (GrowthBook's
    algorithm 1, which this follows without the cluster step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis_py.stats.distributions import normal_ppf
from analysis_py.stats.ttest import EffectEstimate, interval, t_p_value

#: The z of the order statistics' ranks (a 95% band). It sets the bandwidth of the density
#: estimate, not the interval's level: the standard error is rescaled by the ranks' span.
#: The quantile mart writes it as rank_z; this is the value it uses.
RANK_Z = 1.959963984540054

#: Slack below n·ν before rounding up, so that n·ν = 900 is not read as 900.0000000001.
_RANK_SLACK = 1e-9


def quantile_ranks(
    n: np.ndarray, level: np.ndarray, z: float | np.ndarray = RANK_Z
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ranks (1-based) of the quantile and of its band's order statistics, unclipped.

    The quantile is the inverse of the empirical distribution function, Y_(⌈nν⌉); the band's
    ranks are ⌊nν - z√(nν(1-ν))⌋ and ⌈nν + z√(nν(1-ν))⌉ (rounded outwards). The quantile
    mart computes the same in SQL and clips the band to [1, n].

    Example:
        >>> [int(r) for r in quantile_ranks(np.array(1000.0), np.array(0.5))]
        [500, 469, 531]
    """
    n = np.asarray(n, dtype=float)
    level = np.asarray(level, dtype=float)
    half = z * np.sqrt(n * level * (1 - level))
    point = np.ceil(n * level - _RANK_SLACK)
    return point, np.floor(n * level - half), np.ceil(n * level + half)


@dataclass(frozen=True)
class QuantileStatistics:
    """One arm's quantile and the order statistics around it (arrays, one per comparison).

    Attributes:
        n: Subjects the quantile is over.
        quantile_level: The quantile's level ν.
        quantile_value: Y_(⌈nν⌉), the arm's quantile.
        rank_lower: L, the lower band rank after clipping to [1, n].
        rank_upper: U, the upper band rank after clipping.
        value_lower: Y_(L).
        value_upper: Y_(U).
        rank_z: The z the ranks were computed with.
    """

    n: np.ndarray
    quantile_level: np.ndarray
    quantile_value: np.ndarray
    rank_lower: np.ndarray
    rank_upper: np.ndarray
    value_lower: np.ndarray
    value_upper: np.ndarray
    rank_z: np.ndarray

    @classmethod
    def from_columns(cls, frame: pd.DataFrame, prefix: str = "") -> QuantileStatistics:
        """The statistics from columns named like the quantile mart's, after ``prefix``."""
        return cls(
            **{
                name: frame[prefix + name].to_numpy(dtype=float)
                for name in cls.__dataclass_fields__
            }
        )

    @property
    def std_error(self) -> np.ndarray:
        """se(Ŷ_ν) = (Y_(U) - Y_(L))·√(nν(1-ν)) / (U - L); NaN when U = L."""
        span = self.rank_upper - self.rank_lower
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(
                span > 0,
                (self.value_upper - self.value_lower)
                * np.sqrt(self.n * self.quantile_level * (1 - self.quantile_level))
                / span,
                np.nan,
            )

    @property
    def band_fits(self) -> np.ndarray:
        """Whether the band's ranks lay inside [1, n] before clipping.

        When they do not, the sample is too small for the large-sample interval at this level.
        """
        _, lower, upper = quantile_ranks(self.n, self.quantile_level, self.rank_z)
        return (lower >= 1) & (upper <= self.n)


def quantile_test(
    control: QuantileStatistics,
    treatment: QuantileStatistics,
    confidence_level: float | np.ndarray,
    alternative: str | np.ndarray = "two-sided",
) -> EffectEstimate:
    """The treatment's quantile against the control's: z intervals and p-values.

    H0: the arms' quantiles at level ν are equal. The absolute effect is Ŷ_T - Ŷ_C with
    se = √(se_T² + se_C²); the relative effect Ŷ_T/Ŷ_C - 1 has the delta-method se
    √(se_T²/Ŷ_C² + Ŷ_T²·se_C²/Ŷ_C⁴) (NaN when Ŷ_C = 0). Each scale's interval excludes 0
    exactly when its p-value is below 1 - confidence level. ``degrees_of_freedom`` is
    infinite (normal quantiles).

    Example:
        >>> def arm(q, lower, upper):
        ...     return QuantileStatistics(*map(np.array, (2000.0, 0.5, q, 956, 1045,
        ...                                               lower, upper, RANK_Z)))
        >>> est = quantile_test(arm(10.0, 9.0, 11.0), arm(11.0, 10.0, 12.0), 0.95)
        >>> round(float(est.absolute_effect), 3), round(float(est.p_value), 4)
        (1.0, 0.1594)
    """
    alternative = np.asarray(alternative, dtype=object)
    alpha = 1 - np.asarray(confidence_level, dtype=float)
    control_se, treatment_se = control.std_error, treatment.std_error
    control_q, treatment_q = control.quantile_value, treatment.quantile_value
    infinite = np.full(np.broadcast(control_q, treatment_q).shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        absolute = treatment_q - control_q
        std_error = np.sqrt(control_se**2 + treatment_se**2)
        z_statistic = absolute / std_error
        safe_control = np.where(control_q != 0, control_q, np.nan)
        relative = treatment_q / safe_control - 1
        relative_se = np.sqrt(
            treatment_se**2 / safe_control**2 + treatment_q**2 * control_se**2 / safe_control**4
        )
        relative_z = relative / relative_se
    absolute_lower, absolute_upper = interval(absolute, std_error, alpha, infinite, alternative)
    relative_lower, relative_upper = interval(relative, relative_se, alpha, infinite, alternative)
    return EffectEstimate(
        control_mean=control_q,
        treatment_mean=treatment_q,
        absolute_effect=absolute,
        absolute_effect_std_error=std_error,
        absolute_effect_ci_lower=absolute_lower,
        absolute_effect_ci_upper=absolute_upper,
        relative_effect=relative,
        relative_effect_std_error=relative_se,
        relative_effect_ci_lower=relative_lower,
        relative_effect_ci_upper=relative_upper,
        degrees_of_freedom=infinite,
        t_statistic=z_statistic,
        p_value=t_p_value(z_statistic, infinite, alternative),
        relative_p_value=t_p_value(relative_z, infinite, alternative),
    )


def quantile_interval(
    arm: QuantileStatistics, confidence_level: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided normal interval of one arm's quantile, Ŷ_ν ± z_{1-α/2}·se."""
    half = normal_ppf((1 + np.asarray(confidence_level, dtype=float)) / 2) * arm.std_error
    return arm.quantile_value - half, arm.quantile_value + half


def sample_statistics(values: np.ndarray, level: float, z: float = RANK_Z) -> dict[str, float]:
    """The quantile mart's figures for one arm's values, computed in numpy.

    What the SQL computes, for tests and simulations: the order statistics at the ranks of
    :func:`quantile_ranks`, the band clipped to [1, n].

    Example:
        >>> float(sample_statistics(np.arange(1.0, 11.0), 0.5)["quantile_value"])
        5.0
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    point, lower, upper = (int(r) for r in quantile_ranks(np.array(n), np.array(level), z))
    lower, upper, point = max(lower, 1), min(upper, n), min(max(point, 1), n)
    return {
        "n": float(n),
        "quantile_level": level,
        "quantile_value": ordered[point - 1],
        "rank_lower": float(lower),
        "rank_upper": float(upper),
        "value_lower": ordered[lower - 1],
        "value_upper": ordered[upper - 1],
        "rank_z": z,
    }
