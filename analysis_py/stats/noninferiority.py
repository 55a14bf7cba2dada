"""Non-inferiority tests for guardrail metrics, on the relative effect.

With a margin m and the metric's desired direction, H0 says the treatment is worse by at
least m: θ <= -m for "increase" metrics, θ >= m for "decrease" ones. The one-sided p-value
uses the relative effect's delta-method standard error and the Welch degrees of freedom; the
guardrail holds (is_noninferior) when p < α = 1 - confidence level, which is exactly when
the one-sided bound of the relative effect stays inside the margin.
"""

from __future__ import annotations

import numpy as np

from analysis_py.stats.distributions import t_sf


def noninferiority_p_value(
    relative_effect: np.ndarray,
    relative_std_error: np.ndarray,
    degrees_of_freedom: np.ndarray,
    margin: np.ndarray,
    increase_is_good: np.ndarray,
) -> np.ndarray:
    """One-sided p-value of H0: the treatment is worse than the margin allows.

    NaN where the margin is NaN (no non-inferiority test for that comparison).

    Example:
        >>> p = noninferiority_p_value(0.01, 0.02, 1000, np.array([0.05, np.nan]), True)
        >>> [round(float(v), 4) for v in p]
        [0.0014, nan]
    """
    relative_effect, relative_std_error, degrees_of_freedom, margin = np.broadcast_arrays(
        *(
            np.asarray(a, dtype=float)
            for a in (relative_effect, relative_std_error, degrees_of_freedom, margin)
        )
    )
    distance = np.where(increase_is_good, relative_effect + margin, margin - relative_effect)
    p_value = np.full(distance.shape, np.nan)
    tested = ~np.isnan(margin)  # the t distribution is costly: only where there is a margin
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value[tested] = t_sf(
            distance[tested] / relative_std_error[tested], degrees_of_freedom[tested]
        )
    return p_value
