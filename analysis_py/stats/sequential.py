"""Always-valid confidence intervals and p-values (an asymptotic confidence sequence).

Waudby-Smith, Arnold, Wu, Ramdas (2023), "Time-uniform central limit theory and asymptotic
confidence sequences", eq. 9 (interval) and 155 (p-value), as GrowthBook implements it:
with N = n_C + n_T subjects so far, s² = N·Var(estimate), and the tuning N* (the sample size
at which the sequence is tightest),

    ρ² = (-2 log α + log(-2 log α + 1)) / N*
    half-width = sqrt(s²) · sqrt( 2(Nρ² + 1) / (Nρ)² · log( sqrt(Nρ² + 1) / α ) )
    p = min(1, sqrt(Nρ² + 1) · exp(-ρ² N Δ² / (2 Var (Nρ² + 1))) )

The interval holds at every look at once, so a result may be checked every night without
inflating the false-positive rate; p < α exactly when the interval excludes 0.
"""

from __future__ import annotations

import numpy as np


def rho_squared(alpha: np.ndarray, tuning: np.ndarray) -> np.ndarray:
    """The sequence's ρ², which makes it tightest at ``tuning`` subjects (eq. 9).

    Example:
        >>> round(float(rho_squared(np.array(0.05), np.array(10_000.0))), 7)
        0.0007936
    """
    log_alpha = np.log(alpha)
    return (-2 * log_alpha + np.log(-2 * log_alpha + 1)) / tuning


def half_width(
    std_error: np.ndarray,
    n_total: np.ndarray,
    alpha: np.ndarray,
    tuning: np.ndarray,
    interval_alpha: np.ndarray | None = None,
) -> np.ndarray:
    """Half-width of the always-valid interval around an estimate with this standard error.

    ρ² is tuned for ``alpha``; ``interval_alpha`` (default ``alpha``) is the level of the
    interval itself. With the same ρ², the interval at level a excludes 0 exactly when
    :func:`p_value` < a, so a multiplicity-adjusted interval is the one at
    a = α·p/p_adjusted (as for the fixed-horizon intervals in multiple_testing.py).

    Example:
        >>> n = np.array(10_000.0)
        >>> round(float(half_width(np.array(0.5), n, np.array(0.05), n)), 4)
        1.5176
    """
    rho2 = rho_squared(alpha, tuning)
    level = alpha if interval_alpha is None else interval_alpha
    n_rho2 = n_total * rho2
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            std_error
            * np.sqrt(n_total)
            * np.sqrt(2 * (n_rho2 + 1) / (n_total * n_rho2) * np.log(np.sqrt(n_rho2 + 1) / level))
        )


def p_value(
    estimate: np.ndarray,
    std_error: np.ndarray,
    n_total: np.ndarray,
    alpha: np.ndarray,
    tuning: np.ndarray,
) -> np.ndarray:
    """Always-valid p-value of H0: the effect is 0 (eq. 155, capped at 1).

    Example:
        >>> n = np.array(10_000.0)
        >>> round(float(p_value(np.array(1.5), np.array(0.5), n, np.array(0.05), n)), 4)
        0.0549
    """
    rho2 = rho_squared(alpha, tuning)
    tr2p1 = n_total * rho2 + 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z_squared = (estimate / std_error) ** 2
        value = np.sqrt(tr2p1) * np.exp(-rho2 * n_total * z_squared / (2 * tr2p1))
    return np.minimum(value, 1.0)
