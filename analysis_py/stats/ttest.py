"""Welch t-tests of treatment against control, unadjusted and CUPED-adjusted.

All functions are vectorised: each argument may hold one comparison or many.

References:
    Welch, B. L. (1947). The generalization of "Student's" problem when several different
    population variances are involved. Biometrika 34, 28-35.
    Deng, A., Xu, Y., Kohavi, R., Walker, T. (2013). Improving the sensitivity of online
    controlled experiments by utilizing pre-experiment data (CUPED). WSDM '13.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from analysis_py.stats.distributions import t_ppf, t_sf
from analysis_py.stats.sufficient_statistics import (
    ArmSums,
    ArrayLike,
    MultiCovariateStatistics,
    SufficientStatistics,  # noqa: F401  (the doctests use it)
    _divide,
)


@dataclass(frozen=True)
class EffectEstimate:
    """Treatment against control for one or many comparisons (arrays of equal shape).

    Attributes:
        control_mean: Mean of the control arm (CUPED: adjusted to the pooled covariate mean).
        treatment_mean: Mean of the treatment arm (likewise).
        absolute_effect: treatment_mean - control_mean.
        absolute_effect_std_error: Its standard error, sqrt(s²_T/n_T + s²_C/n_C).
        absolute_effect_ci_lower: Lower bound of the two-sided confidence interval.
        absolute_effect_ci_upper: Upper bound.
        relative_effect: treatment_mean / control_mean - 1 (NaN when control_mean is 0).
        relative_effect_std_error: Its delta-method standard error.
        relative_effect_ci_lower: relative_effect - q * relative_effect_std_error.
        relative_effect_ci_upper: relative_effect + q * relative_effect_std_error.
        degrees_of_freedom: Welch-Satterthwaite degrees of freedom.
        t_statistic: absolute_effect / absolute_effect_std_error.
        p_value: Two-sided p-value of H0: the arm means are equal (absolute scale); below
            1 - confidence level exactly when the absolute interval excludes 0.
        relative_p_value: Two-sided p-value of H0: the relative effect is 0, from
            relative_effect / relative_effect_std_error on the same degrees of freedom
            (GrowthBook's relative test); below 1 - confidence level exactly when the
            relative interval excludes 0.
        t_quantile: The t quantile both intervals use (:func:`interval_quantile` of
            1 - confidence level on ``degrees_of_freedom``), for later intervals at that
            level on those degrees of freedom; None when not computed.
    """

    control_mean: np.ndarray
    treatment_mean: np.ndarray
    absolute_effect: np.ndarray
    absolute_effect_std_error: np.ndarray
    absolute_effect_ci_lower: np.ndarray
    absolute_effect_ci_upper: np.ndarray
    relative_effect: np.ndarray
    relative_effect_std_error: np.ndarray
    relative_effect_ci_lower: np.ndarray
    relative_effect_ci_upper: np.ndarray
    degrees_of_freedom: np.ndarray
    t_statistic: np.ndarray
    p_value: np.ndarray
    relative_p_value: np.ndarray
    t_quantile: np.ndarray | None = None


#: The fields of an EffectEstimate, in the order the result tables list them.
ESTIMATE_FIELDS = (
    "control_mean",
    "treatment_mean",
    "absolute_effect",
    "absolute_effect_std_error",
    "absolute_effect_ci_lower",
    "absolute_effect_ci_upper",
    "relative_effect",
    "relative_effect_ci_lower",
    "relative_effect_ci_upper",
    "relative_effect_std_error",
    "degrees_of_freedom",
    "p_value",
    "relative_p_value",
)


@dataclass(frozen=True)
class CupedEstimate(EffectEstimate):
    """An :class:`EffectEstimate` after CUPED adjustment, with the adjustment's figures.

    Attributes:
        theta: The CUPED coefficient cov(x, y) / var(x) over both arms pooled.
        variance_reduction: 1 - Var(CUPED absolute effect) / Var(unadjusted absolute effect).
    """

    theta: np.ndarray = None  # type: ignore[assignment]
    variance_reduction: np.ndarray = None  # type: ignore[assignment]


def welch_test(
    *,
    control_mean: np.ndarray,
    control_variance: np.ndarray,
    control_n: np.ndarray,
    treatment_mean: np.ndarray,
    treatment_variance: np.ndarray,
    treatment_n: np.ndarray,
    confidence_level: float | np.ndarray,
    alternative: str | np.ndarray = "two-sided",
) -> EffectEstimate:
    """Welch's unequal-variance t-test from arm means, sample variances and sizes.

    H0: the two arm means are equal; H1 per ``alternative``: "two-sided", "greater" (the
    treatment's mean is higher) or "less", with one-sided intervals (the open bound
    infinite) for the one-sided ones. The relative effect's interval uses the
    delta method, Var(m_T/m_C) ≈ s²_T/(n_T m_C²) + m_T² s²_C/(n_C m_C⁴), with the same
    t quantile as the absolute effect. Each scale has its own p-value, so that each interval
    excludes 0 exactly when its p-value is below 1 - confidence level (decision record 0010):
    ``p_value`` tests the absolute difference, ``relative_p_value`` the relative effect
    (t = relative_effect / relative_effect_std_error, as GrowthBook does).

    The arguments are keyword-only: six moments in a row are easy to pass in the wrong order.

    Example:
        >>> est = welch_test(control_mean=10.0, control_variance=4.0, control_n=100,
        ...                  treatment_mean=11.0, treatment_variance=4.0, treatment_n=100,
        ...                  confidence_level=0.95)
        >>> round(float(est.absolute_effect), 3), round(float(est.p_value), 4)
        (1.0, 0.0005)
    """
    welch = _welch(
        control_mean=control_mean,
        control_variance=control_variance,
        control_n=control_n,
        treatment_mean=treatment_mean,
        treatment_variance=treatment_variance,
        treatment_n=treatment_n,
    )
    alpha = 1 - np.asarray(confidence_level, dtype=float)
    control_mean = np.asarray(control_mean, dtype=float)
    treatment_mean = np.asarray(treatment_mean, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_control_mean = np.where(control_mean != 0, control_mean, np.nan)
        relative_effect = treatment_mean / safe_control_mean - 1
        relative_std_error = np.sqrt(
            welch.treatment_var_of_mean / safe_control_mean**2
            + treatment_mean**2 * welch.control_var_of_mean / safe_control_mean**4
        )
        relative_t = relative_effect / relative_std_error
    df = welch.degrees_of_freedom
    quantile = interval_quantile(alpha, df, alternative)
    absolute_lower, absolute_upper = interval(
        welch.absolute_effect, welch.std_error, alpha, df, alternative, quantile=quantile
    )
    relative_lower, relative_upper = interval(
        relative_effect, relative_std_error, alpha, df, alternative, quantile=quantile
    )
    return EffectEstimate(
        control_mean=control_mean,
        treatment_mean=treatment_mean,
        absolute_effect=welch.absolute_effect,
        absolute_effect_std_error=welch.std_error,
        absolute_effect_ci_lower=absolute_lower,
        absolute_effect_ci_upper=absolute_upper,
        relative_effect=relative_effect,
        relative_effect_std_error=relative_std_error,
        relative_effect_ci_lower=relative_lower,
        relative_effect_ci_upper=relative_upper,
        degrees_of_freedom=df,
        t_statistic=welch.t_statistic,
        p_value=t_p_value(welch.t_statistic, df, alternative),
        relative_p_value=t_p_value(relative_t, df, alternative),
        t_quantile=quantile,
    )


def t_p_value(
    t_statistic: np.ndarray,
    degrees_of_freedom: np.ndarray,
    alternative: str | np.ndarray = "two-sided",
) -> np.ndarray:
    """The p-value of a t statistic with these degrees of freedom.

    Two-sided: 2·P(T > |t|); "greater": P(T > t); "less": P(T < t).

    Example:
        >>> [round(float(t_p_value(2.0, 30, a)), 4) for a in ("two-sided", "greater", "less")]
        [0.0546, 0.0273, 0.9727]
    """
    alternative = np.asarray(alternative, dtype=object)
    t_statistic = np.asarray(t_statistic, dtype=float)
    # One call of the t distribution (costly over 10,000s of comparisons): -|t| two-sided.
    signed = np.where(
        alternative == "two-sided",
        np.abs(t_statistic),
        np.where(alternative == "less", -t_statistic, t_statistic),
    )
    tail = t_sf(signed, degrees_of_freedom)
    return np.where(alternative == "two-sided", 2 * tail, tail)


def interval_quantile(
    alpha: np.ndarray, degrees_of_freedom: np.ndarray, alternative: str | np.ndarray = "two-sided"
) -> np.ndarray:
    """The t quantile of :func:`interval`: t_{1-α/2}, or t_{1-α} for a one-sided one."""
    one_sided = np.asarray(alternative, dtype=object) != "two-sided"
    alpha = np.asarray(alpha, dtype=float)
    return t_ppf(1 - np.where(one_sided, alpha, alpha / 2), degrees_of_freedom)


def interval(
    estimate: np.ndarray,
    std_error: np.ndarray,
    alpha: np.ndarray,
    degrees_of_freedom: np.ndarray,
    alternative: str | np.ndarray = "two-sided",
    *,
    quantile: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The t interval at level 1 - α that agrees with :func:`t_p_value`.

    It excludes 0 exactly when the p-value is below α. Two-sided: estimate ± t_{1-α/2}·se;
    "greater": [estimate - t_{1-α}·se, +inf); "less": (-inf, estimate + t_{1-α}·se].
    ``quantile``, when given, is :func:`interval_quantile`'s value for these arguments,
    computed once for several intervals on the same degrees of freedom.

    Example:
        >>> [round(float(v), 3) for v in interval(1.0, 0.5, 0.05, 30)]
        [-0.021, 2.021]
    """
    alternative = np.asarray(alternative, dtype=object)
    if quantile is None:
        quantile = interval_quantile(alpha, degrees_of_freedom, alternative)
    estimate = np.asarray(estimate, dtype=float)
    with np.errstate(invalid="ignore"):
        lower = np.where(alternative == "less", -np.inf, estimate - quantile * std_error)
        upper = np.where(alternative == "greater", np.inf, estimate + quantile * std_error)
    return lower, upper


def welch_p_value(
    control_mean: np.ndarray,
    control_variance: np.ndarray,
    control_n: np.ndarray,
    *,
    treatment_mean: np.ndarray,
    treatment_variance: np.ndarray,
    treatment_n: np.ndarray,
) -> np.ndarray:
    """The two-sided p-value of :func:`welch_test` alone (no interval to compute).

    Example:
        >>> p = welch_p_value(10.0, 4.0, 100, treatment_mean=11.0, treatment_variance=4.0,
        ...                   treatment_n=100)
        >>> round(float(p), 4)
        0.0005
    """
    return _welch(
        control_mean=control_mean,
        control_variance=control_variance,
        control_n=control_n,
        treatment_mean=treatment_mean,
        treatment_variance=treatment_variance,
        treatment_n=treatment_n,
    ).p_value


class _Welch(NamedTuple):
    """The parts of Welch's test that :func:`welch_test` and :func:`welch_p_value` share."""

    absolute_effect: np.ndarray
    std_error: np.ndarray
    degrees_of_freedom: np.ndarray
    t_statistic: np.ndarray
    control_var_of_mean: np.ndarray
    treatment_var_of_mean: np.ndarray

    @property
    def p_value(self) -> np.ndarray:
        """Two-sided p-value (computed on demand: welch_test takes its own per alternative)."""
        return 2 * t_sf(np.abs(self.t_statistic), self.degrees_of_freedom)


def _welch(
    *,
    control_mean: np.ndarray,
    control_variance: np.ndarray,
    control_n: np.ndarray,
    treatment_mean: np.ndarray,
    treatment_variance: np.ndarray,
    treatment_n: np.ndarray,
) -> _Welch:
    """Effect, standard error, Welch-Satterthwaite df, two-sided t and p, and each arm's s²/n.

    df = (s²_T/n_T + s²_C/n_C)² / ((s²_T/n_T)²/(n_T - 1) + (s²_C/n_C)²/(n_C - 1)).
    """
    control_n = np.asarray(control_n, dtype=float)
    treatment_n = np.asarray(treatment_n, dtype=float)
    control_var_of_mean = _divide(control_variance, control_n)
    treatment_var_of_mean = _divide(treatment_variance, treatment_n)
    variance = control_var_of_mean + treatment_var_of_mean
    std_error = np.sqrt(variance)
    degrees_of_freedom = _divide(
        variance**2,
        _divide(treatment_var_of_mean**2, treatment_n - 1)
        + _divide(control_var_of_mean**2, control_n - 1),
    )
    absolute_effect = np.asarray(treatment_mean, dtype=float) - control_mean
    t_statistic = _divide(absolute_effect, std_error)
    return _Welch(
        absolute_effect=absolute_effect,
        std_error=std_error,
        degrees_of_freedom=degrees_of_freedom,
        t_statistic=t_statistic,
        control_var_of_mean=control_var_of_mean,
        treatment_var_of_mean=treatment_var_of_mean,
    )


def mean_interval(
    arm: ArmSums, confidence_level: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided t interval of one arm's mean, ȳ ± t_{n-1} · s/√n.

    For a ratio metric's :class:`RatioStatistics`, s² is its delta-method variance.

    Example:
        >>> arm = SufficientStatistics(4, 10.0, 30.0, 0.0, 0.0, 0.0)
        >>> [round(float(bound), 4) for bound in mean_interval(arm, 0.95)]
        [0.4457, 4.5543]
    """
    quantile = repeated_t_quantile((1 + np.asarray(confidence_level)) / 2, arm.n - 1)
    half = quantile * np.sqrt(_divide(arm.variance_y, arm.n))
    return arm.mean_y - half, arm.mean_y + half


def repeated_t_quantile(q: ArrayLike, degrees_of_freedom: ArrayLike) -> np.ndarray:
    """``stats.t.ppf(q, degrees_of_freedom)``, computed once per distinct pair of arguments.

    For arguments that repeat (an arm's n - 1 is the same for all its metrics): the t
    quantile costs far more than finding the distinct pairs, and each value is the one
    ``stats.t.ppf`` gives for its pair.

    Example:
        >>> repeated_t_quantile(np.array([0.975, 0.975, 0.95]), np.array([30.0, 30.0, 30.0]))
        array([2.04227246, 2.04227246, 1.69726089])
    """
    q_values, df_values = np.broadcast_arrays(
        np.asarray(q, dtype=float), np.asarray(degrees_of_freedom, dtype=float)
    )
    if q_values.ndim != 1:
        return t_ppf(q_values, df_values)
    # NaNs fall in one group per argument: their quantile is NaN whatever the other one is.
    _, q_codes = np.unique(q_values, return_inverse=True)
    df_unique, df_codes = np.unique(df_values, return_inverse=True)
    _, first, inverse = np.unique(
        q_codes.astype(np.int64) * len(df_unique) + df_codes,
        return_index=True,
        return_inverse=True,
    )
    return t_ppf(q_values[first], df_values[first])[inverse]


def unadjusted_test(
    control: ArmSums,
    treatment: ArmSums,
    confidence_level: float | np.ndarray,
    alternative: str | np.ndarray = "two-sided",
) -> EffectEstimate:
    """Welch's t-test on the metric alone (the covariate is ignored)."""
    return welch_test(
        control_mean=control.mean_y,
        control_variance=control.variance_y,
        control_n=control.n,
        treatment_mean=treatment.mean_y,
        treatment_variance=treatment.variance_y,
        treatment_n=treatment.n,
        confidence_level=confidence_level,
        alternative=alternative,
    )


def cuped_test(
    control: ArmSums,
    treatment: ArmSums,
    confidence_level: float | np.ndarray,
    alternative: str | np.ndarray = "two-sided",
) -> CupedEstimate:
    """Welch's t-test on CUPED-adjusted means (Deng et al. 2013).

    θ = cov(x, y) / var(x), computed over both arms pooled (as GrowthBook and tea-tasting
    do); θ = 0 when the pooled covariate has no variance. Each arm's mean is adjusted to the
    pooled covariate mean, ȳ_adj = ȳ - θ(x̄ - x̄_pooled), so the absolute effect is
    (ȳ_T - ȳ_C) - θ(x̄_T - x̄_C); each arm's variance becomes s²_y + θ²s²_x - 2θ s_xy.
    The Welch test then runs on the adjusted means and variances.

    Example:
        >>> control = SufficientStatistics(4, 10.0, 30.0, 6.0, 14.0, 20.0)
        >>> treatment = SufficientStatistics(4, 14.0, 54.0, 6.0, 14.0, 26.0)
        >>> est = cuped_test(control, treatment, 0.95)
        >>> round(float(est.theta), 4), round(float(est.absolute_effect), 4)
        (1.0, 1.0)
    """
    pooled = control + treatment
    theta = np.where(
        pooled.variance_x > 0,
        _divide(pooled.covariance_xy, np.where(pooled.variance_x > 0, pooled.variance_x, 1)),
        0.0,
    )
    theta = np.nan_to_num(theta, nan=0.0)
    pooled_mean_x = pooled.mean_x

    def adjusted(arm: ArmSums) -> tuple[np.ndarray, np.ndarray]:
        mean = arm.mean_y - theta * (arm.mean_x - pooled_mean_x)
        variance = arm.variance_y + theta**2 * arm.variance_x - 2 * theta * arm.covariance_xy
        return mean, np.maximum(variance, 0.0)

    control_mean, control_variance = adjusted(control)
    treatment_mean, treatment_variance = adjusted(treatment)
    estimate = welch_test(
        control_mean=control_mean,
        control_variance=control_variance,
        control_n=control.n,
        treatment_mean=treatment_mean,
        treatment_variance=treatment_variance,
        treatment_n=treatment.n,
        confidence_level=confidence_level,
        alternative=alternative,
    )
    unadjusted_variance = _divide(control.variance_y, control.n) + _divide(
        treatment.variance_y, treatment.n
    )
    variance_reduction = 1 - _divide(estimate.absolute_effect_std_error**2, unadjusted_variance)
    return CupedEstimate(**vars(estimate), theta=theta, variance_reduction=variance_reduction)


@dataclass(frozen=True)
class MultiCupedEstimate(EffectEstimate):
    """An :class:`EffectEstimate` after regression on several covariates (CUPED++).

    Attributes:
        coefficients: β per covariate, (C, k).
    """

    coefficients: np.ndarray = None  # type: ignore[assignment]


def multi_cuped_test(
    control: MultiCovariateStatistics,
    treatment: MultiCovariateStatistics,
    confidence_level: float | np.ndarray,
    alternative: str | np.ndarray = "two-sided",
) -> MultiCupedEstimate:
    """Welch's t-test after adjustment on several pre-exposure covariates (CUPED++).

    The multivariate form of :func:`cuped_test`: β = Σ_xx⁻¹ Σ_xy over both arms pooled
    (a pseudo-inverse, so collinear or empty covariates get a minimum-norm β), each arm's
    mean adjusted to the pooled covariate means, ȳ - β·(x̄ - x̄_pooled), and its variance
    s²_y - 2 β·s_xy + βᵀ S_xx β. Eppo's CUPED++ regresses on the pre-exposure values of all
    the experiment's metrics in the same spirit (it fits per arm with ridge; here β is
    pooled, as for single-covariate CUPED).

    Example (one covariate: the figures of :func:`cuped_test`'s example):
        >>> control = MultiCovariateStatistics(np.array([4.0]), np.array([10.0]),
        ...     np.array([30.0]), np.array([[6.0]]), np.array([[20.0]]), np.array([[[14.0]]]))
        >>> treatment = MultiCovariateStatistics(np.array([4.0]), np.array([14.0]),
        ...     np.array([54.0]), np.array([[6.0]]), np.array([[26.0]]), np.array([[[14.0]]]))
        >>> est = multi_cuped_test(control, treatment, 0.95)
        >>> est.coefficients.round(4).tolist(), est.absolute_effect.round(4).tolist()
        ([[1.0]], [1.0])
    """
    pooled = control + treatment
    coefficients = np.einsum(
        "cij,cj->ci",
        np.linalg.pinv(np.nan_to_num(pooled.covariance_xx)),
        np.nan_to_num(pooled.covariance_yx),
    )
    pooled_mean_x = pooled.mean_x

    def adjusted(arm: MultiCovariateStatistics) -> tuple[np.ndarray, np.ndarray]:
        mean = arm.mean_y - np.einsum("ci,ci->c", coefficients, arm.mean_x - pooled_mean_x)
        variance = (
            arm.variance_y
            - 2 * np.einsum("ci,ci->c", coefficients, arm.covariance_yx)
            + np.einsum("ci,cij,cj->c", coefficients, arm.covariance_xx, coefficients)
        )
        return mean, np.maximum(variance, 0.0)

    control_mean, control_variance = adjusted(control)
    treatment_mean, treatment_variance = adjusted(treatment)
    estimate = welch_test(
        control_mean=control_mean,
        control_variance=control_variance,
        control_n=control.n,
        treatment_mean=treatment_mean,
        treatment_variance=treatment_variance,
        treatment_n=treatment.n,
        confidence_level=confidence_level,
        alternative=alternative,
    )
    return MultiCupedEstimate(**vars(estimate), coefficients=coefficients)
