"""Sufficient statistics of a metric and its covariate, and the moments derived from them.

Every field may be a scalar or a numpy array (one element per variant, metric, ...), so
the same code serves one comparison or ten thousand at once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike


class _SubjectSums:
    """What the sums dataclasses share: float arrays, read by name, pooled by adding.

    Every field holds one element per comparison; ``from_columns`` reads a DataFrame's
    columns named after the fields, and ``+`` pools two groups of subjects.
    """

    n: Any

    def __post_init__(self) -> None:
        for name in _field_names(self):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float))
        if np.any(self.n < 0):
            raise ValueError("n must be >= 0")

    @classmethod
    def from_columns(cls, frame: Any, prefix: str = "") -> Any:
        """The sums in columns ``{prefix}n``, ``{prefix}sum_y``, ... of a DataFrame."""
        return cls(*(frame[f"{prefix}{name}"].to_numpy(dtype=float) for name in _field_names(cls)))

    def __add__(self, other: Any) -> Any:
        """Pool two groups of subjects (e.g. control and treatment)."""
        return type(self)(
            *(getattr(self, name) + getattr(other, name) for name in _field_names(self))
        )


@dataclass(frozen=True)
class SufficientStatistics(_SubjectSums):
    """Sums over the subjects of one arm: the metric ``y`` and its pre-exposure covariate ``x``.

    These are the columns of the dbt mart ``fct_variant_metric_statistics``.

    Attributes:
        n: Number of subjects.
        sum_y: Σ y.
        sum_y_squares: Σ y².
        sum_x: Σ x.
        sum_x_squares: Σ x².
        sum_xy: Σ x·y.

    Example:
        >>> arm = SufficientStatistics(n=3, sum_y=6.0, sum_y_squares=14.0,
        ...                            sum_x=3.0, sum_x_squares=5.0, sum_xy=8.0)
        >>> float(arm.mean_y), float(arm.variance_y), float(arm.covariance_xy)
        (2.0, 1.0, 1.0)
    """

    n: np.ndarray
    sum_y: np.ndarray
    sum_y_squares: np.ndarray
    sum_x: np.ndarray
    sum_x_squares: np.ndarray
    sum_xy: np.ndarray

    @property
    def mean_y(self) -> np.ndarray:
        """Mean of y, Σy / n; NaN when n = 0."""
        return _divide(self.sum_y, self.n)

    @property
    def mean_x(self) -> np.ndarray:
        """Mean of x, Σx / n; NaN when n = 0."""
        return _divide(self.sum_x, self.n)

    @property
    def variance_y(self) -> np.ndarray:
        """Sample variance of y (n - 1 in the denominator); NaN when n < 2."""
        return np.maximum(self._comoment(self.sum_y_squares, self.sum_y, self.sum_y), 0.0)

    @property
    def variance_x(self) -> np.ndarray:
        """Sample variance of x; NaN when n < 2."""
        return np.maximum(self._comoment(self.sum_x_squares, self.sum_x, self.sum_x), 0.0)

    @property
    def covariance_xy(self) -> np.ndarray:
        """Sample covariance of x and y; NaN when n < 2."""
        return self._comoment(self.sum_xy, self.sum_x, self.sum_y)

    def _comoment(
        self, sum_products: np.ndarray, sum_a: np.ndarray, sum_b: np.ndarray
    ) -> np.ndarray:
        """(Σab - Σa·Σb/n) / (n - 1): the sample covariance of a and b from their sums."""
        centred = sum_products - _divide(sum_a * sum_b, self.n)
        return _divide(centred, self.n - 1)


def _field_names(sums: Any) -> list[str]:
    """The dataclass fields of a sums class or instance, in order."""
    return [field.name for field in fields(sums)]


def _divide(numerator: ArrayLike, denominator: ArrayLike) -> np.ndarray:
    """Numerator / denominator, NaN where the denominator is not positive."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


@dataclass(frozen=True)
class MultiCovariateStatistics:
    """Sums over the subjects of one arm: the metric ``y`` and k covariates ``x``.

    Shapes: ``n``, ``sum_y``, ``sum_y_squares`` (C,); ``sum_x``, ``sum_yx`` (C, k);
    ``sum_xx`` (C, k, k), for C comparisons at once. Covariates a comparison does not have
    are zero columns (they get a zero coefficient).
    """

    n: np.ndarray
    sum_y: np.ndarray
    sum_y_squares: np.ndarray
    sum_x: np.ndarray
    sum_yx: np.ndarray
    sum_xx: np.ndarray

    def __add__(self, other: MultiCovariateStatistics) -> MultiCovariateStatistics:
        """Pool two groups of subjects (e.g. control and treatment)."""
        return MultiCovariateStatistics(
            *(
                getattr(self, f) + getattr(other, f)
                for f in ("n", "sum_y", "sum_y_squares", "sum_x", "sum_yx", "sum_xx")
            )
        )

    @property
    def mean_y(self) -> np.ndarray:
        """Mean of y, (C,); NaN when n = 0."""
        return _divide(self.sum_y, self.n)

    @property
    def mean_x(self) -> np.ndarray:
        """Mean of each covariate, (C, k); NaN when n = 0."""
        return _divide(self.sum_x, self.n[:, None])

    @property
    def variance_y(self) -> np.ndarray:
        """Sample variance of y, (C,); NaN when n < 2."""
        centred = self.sum_y_squares - _divide(self.sum_y**2, self.n)
        return np.maximum(_divide(centred, self.n - 1), 0.0)

    @property
    def covariance_yx(self) -> np.ndarray:
        """Sample covariance of y with each covariate, (C, k); NaN when n < 2."""
        n = self.n[:, None]
        return _divide(self.sum_yx - _divide(self.sum_y[:, None] * self.sum_x, n), n - 1)

    @property
    def covariance_xx(self) -> np.ndarray:
        """Sample covariance matrix of the covariates, (C, k, k); NaN when n < 2."""
        n = self.n[:, None, None]
        outer = self.sum_x[:, :, None] * self.sum_x[:, None, :]
        return _divide(self.sum_xx - _divide(outer, n), n - 1)


@dataclass(frozen=True)
class RatioStatistics(_SubjectSums):
    """Sums over the subjects of one arm for a ratio metric, numerator over denominator.

    The numerator ``y`` has the covariate ``x``, the denominator ``d`` the covariate ``w``
    (the mart's columns for ratio metrics). It offers the moments
    :class:`SufficientStatistics` does, for the ratio of means R = ȳ/d̄ and its covariate
    ratio R_x = x̄/w̄, linearised with the delta method (Deng et al. 2013, appendix B):
    ``variance_y`` is n·Var(R), ``variance_x`` n·Var(R_x) and ``covariance_xy``
    n·Cov(R, R_x), so the Welch and CUPED tests run on it unchanged.

    Example:
        >>> arm = RatioStatistics(n=4, sum_y=10.0, sum_y_squares=30.0, sum_x=0.0,
        ...     sum_x_squares=0.0, sum_xy=0.0, sum_d=8.0, sum_d_squares=18.0, sum_w=0.0,
        ...     sum_w_squares=0.0, sum_yd=22.0, sum_yw=0.0, sum_xd=0.0, sum_xw=0.0, sum_dw=0.0)
        >>> float(arm.mean_y)
        1.25
    """

    n: np.ndarray
    sum_y: np.ndarray
    sum_y_squares: np.ndarray
    sum_x: np.ndarray
    sum_x_squares: np.ndarray
    sum_xy: np.ndarray
    sum_d: np.ndarray
    sum_d_squares: np.ndarray
    sum_w: np.ndarray
    sum_w_squares: np.ndarray
    sum_yd: np.ndarray
    sum_yw: np.ndarray
    sum_xd: np.ndarray
    sum_xw: np.ndarray
    sum_dw: np.ndarray

    def _mean(self, total: np.ndarray) -> np.ndarray:
        """Total / n; NaN when n = 0."""
        return _divide(total, self.n)

    def _cov(self, sum_products: np.ndarray, sum_a: np.ndarray, sum_b: np.ndarray) -> np.ndarray:
        """Sample covariance of a and b from Σab, Σa and Σb; NaN when n < 2."""
        return _divide(sum_products - _divide(sum_a * sum_b, self.n), self.n - 1)

    def _ratio_cov(self, a: str, b: str, c: str, e: str) -> np.ndarray:
        """n·Cov(ā/b̄, c̄/ē) by the delta method, from the sums of a, b, c, e."""
        sums = {"y": self.sum_y, "d": self.sum_d, "x": self.sum_x, "w": self.sum_w}
        products = {
            "yy": self.sum_y_squares,
            "dd": self.sum_d_squares,
            "xx": self.sum_x_squares,
            "ww": self.sum_w_squares,
            "yd": self.sum_yd,
            "yw": self.sum_yw,
            "xy": self.sum_xy,
            "xd": self.sum_xd,
            "xw": self.sum_xw,
            "dw": self.sum_dw,
        }

        def cov(p: str, q: str) -> np.ndarray:
            key = p + q if p + q in products else q + p
            return self._cov(products[key], sums[p], sums[q])

        mean_b, mean_e = self._mean(sums[b]), self._mean(sums[e])
        left, right = _ratio(self._mean(sums[a]), mean_b), _ratio(self._mean(sums[c]), mean_e)
        return _ratio(
            cov(a, c) - cov(a, e) * right - cov(b, c) * left + cov(b, e) * left * right,
            mean_b * mean_e,
        )

    @property
    def mean_y(self) -> np.ndarray:
        """The ratio of means ȳ/d̄."""
        return _ratio(self.sum_y, self.sum_d)

    @property
    def mean_x(self) -> np.ndarray:
        """The covariate's ratio of means x̄/w̄."""
        return _ratio(self.sum_x, self.sum_w)

    @property
    def variance_y(self) -> np.ndarray:
        """n·Var(ȳ/d̄) by the delta method: the variance a t-test divides by n."""
        return np.maximum(self._ratio_cov("y", "d", "y", "d"), 0.0)

    @property
    def variance_x(self) -> np.ndarray:
        """n·Var(x̄/w̄) by the delta method."""
        return np.maximum(self._ratio_cov("x", "w", "x", "w"), 0.0)

    @property
    def covariance_xy(self) -> np.ndarray:
        """n·Cov(ȳ/d̄, x̄/w̄) by the delta method: what CUPED's θ is computed from."""
        return self._ratio_cov("y", "d", "x", "w")


def _ratio(numerator: ArrayLike, denominator: ArrayLike) -> np.ndarray:
    """Numerator / denominator, NaN where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator != 0, numerator / np.where(denominator != 0, denominator, 1), np.nan
        )


#: The sums of one arm that the t-tests take: a plain metric's or a ratio metric's.
ArmSums = SufficientStatistics | RatioStatistics
