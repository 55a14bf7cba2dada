"""Power: the smallest effect detectable now, and the sample a target effect needs.

For a two-sided test at level α with power 1-β, an effect is detectable when it exceeds
MDE = (z_{1-α/2} + z_{1-β}) · SE. The standard error shrinks as 1/sqrt(n), so the total
sample a target relative effect r needs is n · (MDE_rel / r)², and progress toward it is
(r / MDE_rel)², capped at 1 (Eppo's progress bar: (target precision / precision)²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis_py.stats.distributions import normal_ppf


@dataclass(frozen=True)
class PowerAnalysis:
    """What the current sample can detect, and how far it is from the target (arrays).

    Attributes:
        minimum_detectable_relative_effect: MDE / |control mean| at the current sample.
        subjects_needed: Total subjects (both arms) at which the target relative effect
            becomes detectable, n · (MDE_rel / r)², rounded up.
        progress: (r / MDE_rel)², capped at 1: the share of the needed precision reached.
    """

    minimum_detectable_relative_effect: np.ndarray
    subjects_needed: np.ndarray
    progress: np.ndarray


def power_analysis(
    absolute_std_error: np.ndarray,
    control_mean: np.ndarray,
    n_total: np.ndarray,
    confidence_level: np.ndarray,
    *,
    power: np.ndarray,
    target_relative_effect: np.ndarray,
) -> PowerAnalysis:
    """MDE (relative to the control mean) at the current sample, and the sample needed.

    MDE_rel = (z_{(1+c)/2} + z_{power}) · SE / |control mean| for confidence level c. Where
    the control mean or the target effect is 0 the figures are infinite or NaN, not an error.

    Example:
        >>> result = power_analysis(np.array(0.5), np.array(10.0), np.array(10_000.0),
        ...                         np.array(0.95), power=np.array(0.8),
        ...                         target_relative_effect=np.array(0.05))
        >>> round(float(result.minimum_detectable_relative_effect), 4)
        0.1401
        >>> float(result.subjects_needed), round(float(result.progress), 4)
        (78489.0, 0.1274)
    """
    z = normal_ppf((1 + np.asarray(confidence_level)) / 2) + normal_ppf(power)
    with np.errstate(divide="ignore", invalid="ignore"):
        mde = z * absolute_std_error / np.abs(control_mean)
        needed = np.ceil(n_total * (mde / target_relative_effect) ** 2)
        progress = np.minimum(1.0, (target_relative_effect / mde) ** 2)
    return PowerAnalysis(
        minimum_detectable_relative_effect=mde, subjects_needed=needed, progress=progress
    )
