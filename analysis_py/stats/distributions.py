"""The t, normal and chi-square distributions, as ``scipy.stats`` computes them, value for value.

On the usual arguments each function calls the ``scipy.special`` function that
``scipy.stats`` itself calls, without the argument checks that cost as much as the function
over 10,000s of comparisons. A NaN argument gives NaN, as in ``scipy.stats``. The others
(infinite, a level outside (0, 1), df <= 0) go through ``scipy.stats``, imported only then:
importing it costs about 0.5 s, a sixth of a nightly run's start-up.
tests/unit/stats/test_distributions.py checks every function bit for bit against
``scipy.stats``, edge cases included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

#: scipy's constant for the normal density, sqrt(2π), to the same double.
_SQRT_2PI = np.sqrt(2 * np.pi)


def t_sf(x: ArrayLike, degrees_of_freedom: ArrayLike) -> np.ndarray:
    """``stats.t.sf(x, degrees_of_freedom)``: ``scipy.special.stdtr(df, -x)``.

    Example:
        >>> [round(float(p), 4) for p in t_sf(np.array([2.0, np.inf]), 30.0)]
        [0.0273, 0.0]
    """
    x, df = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(degrees_of_freedom, dtype=float)
    )
    usual = (df > 0) & np.isfinite(x)
    return _usual_or_scipy((x, df), usual, lambda x, df: special.stdtr(df, -x), "t.sf")


def t_ppf(q: ArrayLike, degrees_of_freedom: ArrayLike) -> np.ndarray:
    """``stats.t.ppf(q, degrees_of_freedom)``: ``scipy.special.stdtrit``.

    Scaled as ``stats.t.ppf`` scales it (``* 1.0 + 0.0``: the same zero's sign).

    Example:
        >>> [round(float(t), 4) for t in t_ppf(np.array([0.975, 1.0]), 30.0)]
        [2.0423, inf]
    """
    q, df = np.broadcast_arrays(
        np.asarray(q, dtype=float), np.asarray(degrees_of_freedom, dtype=float)
    )
    with np.errstate(invalid="ignore"):
        usual = (df > 0) & (q > 0) & (q < 1)
    return _usual_or_scipy(
        (q, df),
        usual,
        lambda q, df: special.stdtrit(df, q) * 1.0 + 0.0,
        "t.ppf",
    )


def normal_pdf(x: ArrayLike) -> np.ndarray:
    """``stats.norm.pdf(x)``: exp(-x²/2) / sqrt(2π)."""
    x = np.asarray(x, dtype=float)
    return _usual_or_scipy(
        (x,), np.isfinite(x), lambda x: np.exp(-(x**2) / 2.0) / _SQRT_2PI, "norm.pdf"
    )


def normal_cdf(x: ArrayLike) -> np.ndarray:
    """``stats.norm.cdf(x)``: ``scipy.special.ndtr``."""
    x = np.asarray(x, dtype=float)
    return _usual_or_scipy((x,), np.isfinite(x), special.ndtr, "norm.cdf")


def normal_sf(x: ArrayLike) -> np.ndarray:
    """``stats.norm.sf(x)``: ``ndtr(-x)``."""
    x = np.asarray(x, dtype=float)
    return _usual_or_scipy((x,), np.isfinite(x), lambda x: special.ndtr(-x), "norm.sf")


def normal_ppf(q: ArrayLike) -> np.ndarray:
    """``stats.norm.ppf(q)``: ``scipy.special.ndtri``, scaled as ``stats.norm`` scales it."""
    q = np.asarray(q, dtype=float)
    with np.errstate(invalid="ignore"):
        usual = (q > 0) & (q < 1)
    return _usual_or_scipy((q,), usual, lambda q: special.ndtri(q) * 1.0 + 0.0, "norm.ppf")


def chi2_sf(x: ArrayLike, degrees_of_freedom: ArrayLike) -> np.ndarray:
    """``stats.chi2.sf(x, degrees_of_freedom)``: ``scipy.special.chdtrc(df, x)``.

    Example:
        >>> [round(float(p), 4) for p in chi2_sf(np.array([3.84, 0.0]), 1)]
        [0.05, 1.0]
    """
    x, df = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(degrees_of_freedom, dtype=float)
    )
    with np.errstate(invalid="ignore"):
        usual = (df > 0) & (x >= 0) & np.isfinite(x)
    return _usual_or_scipy((x, df), usual, lambda x, df: special.chdtrc(df, x), "chi2.sf")


def _usual_or_scipy(
    arguments: tuple[np.ndarray, ...],
    usual: np.ndarray,
    fast: Callable[..., Any],
    scipy: str,
) -> np.ndarray:
    """``fast(*arguments)`` where ``usual``, ``scipy.stats.<scipy>`` elsewhere.

    A NaN argument gives NaN, as in scipy.stats, without importing it: a metric with no
    variance has NaN statistics, and most nights have one.
    """
    if usual.all():
        return np.asarray(fast(*arguments), dtype=float)
    out = np.empty(usual.shape)
    out[usual] = fast(*(a[usual] for a in arguments))
    unusual = ~usual & ~np.isnan(arguments).any(axis=0)
    out[~usual & ~unusual] = np.nan
    if unusual.any():
        from scipy import stats

        distribution, function = scipy.split(".")
        out[unusual] = getattr(getattr(stats, distribution), function)(
            *(a[unusual] for a in arguments)
        )
    return out
