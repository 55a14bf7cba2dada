"""The decision layer on top of the chosen estimate, as columns of the comparisons frame.

Multiple testing, sequential intervals, the stored decision and verdict, Bayesian
posterior, power and non-inferiority.

The estimate that decides is per experiment (``analysis.cuped``): CUPED++, CUPED or the
unadjusted one; the decision is computed here once, stored in the result tables
(``decision_*``, ``verdict``, ``verdict_reason``), and only read by the summary and the
report. Everything here is vectorised over all comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis_py.formats import (
    p_value_array,
    percent_array,
    signed_number,
    texts_per_combination,
)
from analysis_py.stats import sequential
from analysis_py.stats.bayesian import relative_effect_posterior
from analysis_py.stats.multiple_testing import (
    adjust_p_values_by_code,
    adjusted_alpha,
    family_codes,
)
from analysis_py.stats.noninferiority import noninferiority_p_value
from analysis_py.stats.power import power_analysis
from analysis_py.stats.ttest import ESTIMATE_FIELDS, interval, interval_quantile

#: The estimate that decides, per ``analysis.cuped`` mode.
DECISION_ESTIMATE = {"multi": "cuped++", "single": "cuped", "none": "unadjusted"}
#: Column prefix of each estimate in the comparisons frame and the result tables.
ESTIMATE_PREFIX = {"cuped++": "cupedpp_", "cuped": "cuped_", "unadjusted": ""}
#: The statuses whose comparisons have a test: they form the multiple-testing families.
TESTED_STATUSES = ("ok", "zero_control_mean")
#: Each estimate's name in verdict reasons and the report.
ESTIMATE_LABEL = {"cuped++": "CUPED++", "cuped": "CUPED", "unadjusted": "unadjusted"}
_METHOD_LABEL = {
    "holm": "Holm-adjusted ",
    "benjamini_hochberg": "BH-adjusted ",
    "bonferroni": "Bonferroni-adjusted ",
    "none": "",
}
#: The values of some text columns, picked by position: cheaper than making 10,000s of strings.
_DECISION_METHODS = np.array(["fixed_horizon", "sequential"], dtype=object)
_DECISION_SCALES = np.array(["absolute", "relative"], dtype=object)
_VERDICTS = np.array(["no_result", "better", "worse", "inconclusive"], dtype=object)
#: The decision columns that are text: plain object columns, as converting 10,000s of
#: strings to Arrow costs more than computing them.
_TEXT_COLUMNS = (
    "decision_estimate",
    "multiple_testing_method",
    "decision_method",
    "decision_scale",
    "verdict",
    "verdict_reason",
)


def one_or_each(values: np.ndarray) -> str | np.ndarray:
    """The one value every row has, else ``values``.

    The tests compare the alternative with each of its names several times; a single name
    is compared once, and broadcasts to the same values.
    """
    if len(values) and (values == values[0]).all() and isinstance(values[0], str):
        return str(values[0])
    return values


def decision_estimate(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The fields of the estimate each comparison decides on.

    Args:
        frame: The comparisons, with cuped_mode and every estimate's columns.

    Returns:
        Each of ESTIMATE_FIELDS, per comparison, from its deciding estimate.
    """
    mode = frame["cuped_mode"].to_numpy(dtype=object)
    modes = {
        cuped_mode: rows for cuped_mode in DECISION_ESTIMATE if (rows := mode == cuped_mode).any()
    }  # only the modes in use
    chosen = {}
    for name in ESTIMATE_FIELDS:
        value = np.full(len(frame), np.nan)
        for cuped_mode, rows in modes.items():
            estimate = DECISION_ESTIMATE[cuped_mode]
            value[rows] = frame[ESTIMATE_PREFIX[estimate] + name].to_numpy(dtype=float)[rows]
        chosen[name] = value
    return chosen


@dataclass(frozen=True)
class _Tests:
    """What the tests of each comparison share, per comparison.

    Attributes:
        estimate: The fields of the deciding estimate (:func:`decision_estimate`).
        alpha: 1 - confidence level.
        alternative: two-sided, greater or less; one name when every comparison has it.
        family: The multiple-testing family, as :func:`family_codes` (-1: tested on its own).
        methods: The multiple-testing method ("none" for guardrails).
        n_total: Subjects in both arms.
        tuning: The sequential tuning parameter N*.
        is_sequential: Whether the experiment decides on always-valid p-values.
        increase_is_good: Whether the metric should go up.
        known_quantiles: The (α, t quantile) pairs computed so far, for :meth:`quantile`.
        seeds: (degrees of freedom, t quantile) pairs computed before, at α = ``alpha``
            (the tests' own intervals), for :meth:`quantile`.
    """

    estimate: dict[str, np.ndarray]
    alpha: np.ndarray
    alternative: str | np.ndarray
    family: np.ndarray
    methods: np.ndarray
    n_total: np.ndarray
    tuning: np.ndarray
    is_sequential: np.ndarray
    increase_is_good: np.ndarray
    known_quantiles: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    seeds: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    @classmethod
    def of(
        cls, frame: pd.DataFrame, seeds: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    ) -> _Tests:
        """The tests' settings of the comparisons in ``frame``.

        Multiple testing: one family per experiment (primary and secondary metrics ×
        treatments with a usable test); guardrails are tested on their own. ``seeds``: see
        the attribute.
        """
        role = frame["metric_role"].to_numpy()
        usable = np.isin(frame["status"].to_numpy(dtype=object), TESTED_STATUSES)
        no_family = np.full(len(frame), None, dtype=object)
        return cls(
            estimate=decision_estimate(frame),
            alpha=1 - frame["confidence_level"].to_numpy(dtype=float),
            alternative=one_or_each(frame["alternative"].to_numpy(dtype=object)),
            family=family_codes(
                np.where(
                    (role != "guardrail") & usable,
                    frame["family"].to_numpy(dtype=object),
                    no_family,
                )
            ),
            methods=np.where(
                role == "guardrail", "none", frame["multiple_testing"].to_numpy(dtype=object)
            ),
            n_total=(frame["control_n"] + frame["treatment_n"]).to_numpy(dtype=float),
            tuning=frame["sequential_tuning"].to_numpy(dtype=float),
            is_sequential=frame["sequential"].to_numpy(dtype=bool),
            increase_is_good=_increase_is_good(frame),
            seeds=seeds,
        )

    @property
    def degrees_of_freedom(self) -> np.ndarray:
        """Welch's degrees of freedom of the deciding estimate."""
        return self.estimate["degrees_of_freedom"]

    def adjust(self, p_raw: np.ndarray) -> np.ndarray:
        """The p-values adjusted within their families."""
        return adjust_p_values_by_code(p_raw, self.family, self.methods)

    def quantile(self, alpha: np.ndarray) -> np.ndarray:
        """The t quantile of an interval at level 1 - α on the deciding estimate's df.

        A row whose α an earlier call had gets that call's value: the decision interval
        and most adjusted ones repeat a level, and the t quantile is the costly part. So
        does a row whose α and degrees of freedom a seed had (both bitwise equal).
        """
        quantile = np.full(len(alpha), np.nan)
        todo = np.ones(len(alpha), dtype=bool)
        if self.seeds:
            at_level = alpha == self.alpha
            for seed_df, seed_quantile in self.seeds:
                same = todo & at_level & (seed_df == self.degrees_of_freedom)
                quantile[same] = seed_quantile[same]
                todo &= ~same
        for known_alpha, known_quantile in self.known_quantiles:
            same = todo & (known_alpha == alpha)
            quantile[same] = known_quantile[same]
            todo &= ~same
        if todo.any():
            quantile[todo] = interval_quantile(
                alpha[todo],
                self.degrees_of_freedom[todo],
                self.alternative if isinstance(self.alternative, str) else self.alternative[todo],
            )
        self.known_quantiles.append((alpha, quantile))
        return quantile

    def interval(
        self, value: np.ndarray, std_error: np.ndarray, alpha: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The t interval at level 1 - α (per comparison) around ``value``."""
        return interval(
            value,
            std_error,
            alpha,
            self.degrees_of_freedom,
            self.alternative,
            quantile=self.quantile(alpha),
        )

    def adjusted(
        self, p_raw: np.ndarray, value: np.ndarray, std_error: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fixed-horizon: the adjusted p-value and the interval at α·p/p_adjusted."""
        p_adjusted = self.adjust(p_raw)
        lower, upper = self.interval(
            value, std_error, adjusted_alpha(p_raw, p_adjusted, self.alpha)
        )
        return p_adjusted, lower, upper

    def sequential(
        self, value: np.ndarray, std_error: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sequential: the always-valid p-value, raw and adjusted, and the interval.

        The interval agrees with the adjusted p-value.
        """
        p_raw = sequential.p_value(value, std_error, self.n_total, self.alpha, self.tuning)
        p_adjusted = self.adjust(p_raw)
        half = sequential.half_width(
            std_error,
            self.n_total,
            self.alpha,
            self.tuning,
            adjusted_alpha(p_raw, p_adjusted, self.alpha),
        )
        return p_raw, p_adjusted, value - half, value + half


def with_decisions(
    frame: pd.DataFrame, *, quantile_seeds: list[tuple[np.ndarray, np.ndarray]] | None = None
) -> pd.DataFrame:
    """The comparisons frame with the decision columns added (collected, then joined once).

    Every interval here comes with the p-value it agrees with: it excludes 0 exactly when
    that p-value is below α = 1 - confidence level (decision record 0010). The relative and
    absolute scales each have their own test; multiple-testing adjustment runs per scale
    over the experiment's family, and intervals are taken at the level α·p/p_adjusted.

    Args:
        frame: The comparisons, with their settings, estimates and status.
        quantile_seeds: t quantiles already computed at the comparisons' own level, each
            with its degrees of freedom (per row), reused where they apply.

    Returns:
        ``frame`` with the adjusted, sequential, decision, verdict, Bayesian, power and
        non-inferiority columns.
    """
    tests = _Tests.of(frame, tuple(quantile_seeds or ()))
    columns: dict[str, object] = {
        "decision_estimate": np.array(
            texts_per_combination(
                DECISION_ESTIMATE.__getitem__, frame["cuped_mode"].to_numpy(dtype=object)
            ),
            dtype=object,
        ),
        "multiple_testing_method": tests.methods,
    }
    columns |= _adjusted_columns(tests)
    sequential_columns, sequential_raw = _sequential_columns(tests)
    columns |= sequential_columns
    columns |= _decision_columns(tests, sequential_raw)
    columns["verdict"], columns["verdict_reason"] = _verdicts(frame, columns, tests)
    columns |= _bayesian_columns(frame, tests)
    columns |= _power_columns(frame, tests)
    columns |= _noninferiority_columns(frame, tests)
    text = pd.DataFrame(
        {name: columns.pop(name) for name in _TEXT_COLUMNS}, index=frame.index, dtype=object
    )
    return pd.concat([frame, text, pd.DataFrame(columns, index=frame.index)], axis=1)


def _adjusted_columns(tests: _Tests) -> dict[str, np.ndarray]:
    """The multiplicity-adjusted p-values and intervals, on both scales."""
    estimate = tests.estimate
    columns: dict[str, np.ndarray] = {}
    for scale, p_name, p_raw in (
        ("absolute", "adjusted_p_value", estimate["p_value"]),
        ("relative", "adjusted_relative_p_value", estimate["relative_p_value"]),
    ):
        p_adjusted, lower, upper = tests.adjusted(
            p_raw, estimate[f"{scale}_effect"], estimate[f"{scale}_effect_std_error"]
        )
        columns |= {
            p_name: p_adjusted,
            f"adjusted_{scale}_effect_ci_lower": lower,
            f"adjusted_{scale}_effect_ci_upper": upper,
        }
    return columns


def _sequential_columns(
    tests: _Tests,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Always-valid p-values and intervals, for experiments that ask for them (else NaN).

    The p-values are adjusted in the same families, and the intervals agree with them.
    Also returns the raw always-valid p-value per scale, for the decision.
    """
    estimate = tests.estimate
    columns, raw = {}, {}
    if not tests.is_sequential.any():  # the usual case: nothing to compute
        nothing = np.full(len(tests.alpha), np.nan)
        for scale, p_name in (
            ("absolute", "sequential_p_value"),
            ("relative", "sequential_relative_p_value"),
        ):
            raw[scale] = nothing
            for name in (
                p_name,
                f"sequential_{scale}_effect_ci_lower",
                f"sequential_{scale}_effect_ci_upper",
            ):
                columns[name] = nothing.copy()
        return columns, raw
    for scale, p_name in (
        ("absolute", "sequential_p_value"),
        ("relative", "sequential_relative_p_value"),
    ):
        raw[scale], p_adjusted, lower, upper = tests.sequential(
            estimate[f"{scale}_effect"], estimate[f"{scale}_effect_std_error"]
        )
        for name, value in (
            (p_name, p_adjusted),
            (f"sequential_{scale}_effect_ci_lower", lower),
            (f"sequential_{scale}_effect_ci_upper", upper),
        ):
            columns[name] = np.where(tests.is_sequential, value, np.nan)
    return columns, raw


def _decision_columns(
    tests: _Tests, sequential_raw: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The decision columns.

    The relative scale where the relative effect exists (a non-zero control mean), else
    the absolute one; fixed-horizon or sequential as the experiment says. The decision
    p-values are adjusted as one family, so a zero control mean still counts.
    """
    estimate = tests.estimate
    on_relative = ~np.isnan(estimate["relative_p_value"])
    is_sequential = tests.is_sequential
    raw = np.where(
        is_sequential,
        np.where(on_relative, sequential_raw["relative"], sequential_raw["absolute"]),
        np.where(on_relative, estimate["relative_p_value"], estimate["p_value"]),
    )
    decision_p = tests.adjust(raw)
    value = np.where(on_relative, estimate["relative_effect"], estimate["absolute_effect"])
    std_error = np.where(
        on_relative, estimate["relative_effect_std_error"], estimate["absolute_effect_std_error"]
    )
    level_alpha = adjusted_alpha(raw, decision_p, tests.alpha)
    lower, upper = tests.interval(value, std_error, level_alpha)
    if is_sequential.any():
        # Sequential: always two-sided (the config refuses a one-sided sequential metric).
        with np.errstate(invalid="ignore"):
            half = sequential.half_width(
                std_error, tests.n_total, tests.alpha, tests.tuning, level_alpha
            )
        lower = np.where(is_sequential, value - half, lower)
        upper = np.where(is_sequential, value + half, upper)
    return {
        "decision_method": _DECISION_METHODS[is_sequential.astype(np.intp)],
        "decision_scale": _DECISION_SCALES[on_relative.astype(np.intp)],
        "decision_control_mean": estimate["control_mean"],
        "decision_treatment_mean": estimate["treatment_mean"],
        "decision_absolute_effect": estimate["absolute_effect"],
        "decision_relative_effect": estimate["relative_effect"],
        "decision_ci_lower": lower,
        "decision_ci_upper": upper,
        "decision_p_value": decision_p,
    }


def _decision_value(columns: dict[str, object]) -> np.ndarray:
    """The effect the decision is on: relative, or absolute where decision_scale says so."""
    return np.where(
        np.asarray(columns["decision_scale"], dtype=object) == "relative",
        np.asarray(columns["decision_relative_effect"], dtype=float),
        np.asarray(columns["decision_absolute_effect"], dtype=float),
    )


def _increase_is_good(frame: pd.DataFrame) -> np.ndarray:
    """Per comparison, whether its metric should go up."""
    return frame["metric_direction"].to_numpy(dtype=object) == "increase"


def _verdicts(
    frame: pd.DataFrame, columns: dict[str, object], tests: _Tests
) -> tuple[np.ndarray, np.ndarray]:
    """Verdict and verdict_reason per comparison, from the decision columns alone.

    better / worse: the decision interval excludes 0 (decision_p_value < α), on the side the
    metric's direction calls good / bad; inconclusive: it contains 0; no_result: the
    comparison has no usable test (its status says why). unhealthy is set afterwards, from
    the experiment's health (:func:`with_health_verdicts`).
    """
    p = np.asarray(columns["decision_p_value"], dtype=float)
    decision_value = _decision_value(columns)
    status = frame["status"].to_numpy(dtype=object)
    no_result = ~np.isin(status, TESTED_STATUSES) | np.isnan(p) | np.isnan(decision_value)
    significant = ~no_result & (p < tests.alpha)
    went_up = decision_value > 0
    verdict = _VERDICTS[
        np.select(
            [no_result, significant & (went_up == tests.increase_is_good), significant],
            [0, 1, 2],
            3,
        )
    ]
    reasons = np.asarray(frame["status_reason"].to_numpy(dtype=object), dtype=object).copy()
    reasons[no_result & (reasons == "")] = "the decision estimate could not be computed"
    reasons[~no_result] = _reasons(columns, tests.alpha, verdict)[~no_result]
    return verdict, reasons


def _reasons(columns: dict[str, object], alpha: np.ndarray, verdict: np.ndarray) -> np.ndarray:
    """One line per comparison: the estimate and interval the verdict rests on, and why.

    The figures are formatted a column at a time (:func:`percent_array`), and the words
    once per distinct combination of what they say: a nightly run may have 10,000s of
    comparisons and a handful of settings.
    """
    scale = np.asarray(columns["decision_scale"], dtype=object)
    absolute = np.flatnonzero(scale == "absolute")  # a zero control mean: rare
    figures = []
    for name in ("value", "decision_ci_lower", "decision_ci_upper"):
        values = (
            _decision_value(columns) if name == "value" else np.asarray(columns[name], dtype=float)
        )
        text = percent_array(values)
        for i in absolute.tolist():
            text[i] = signed_number(values[i])
        figures.append(text)

    def texts(name: str) -> np.ndarray:
        return np.asarray(columns[name], dtype=object)

    prefixes = texts_per_combination(
        lambda estimate, s: f"{ESTIMATE_LABEL.get(estimate, estimate)} {s} effect ",
        texts("decision_estimate"),
        scale,
    )
    kinds = texts_per_combination(
        lambda method, c: (
            ("always-valid " if method == "sequential" else "") + _METHOD_LABEL.get(c, "")
        ),
        texts("decision_method"),
        texts("multiple_testing_method"),
    )
    endings = texts_per_combination(
        lambda outcome, a: (
            f": the interval contains 0 (p >= {a:g})"
            if outcome == "inconclusive"
            else f": the interval excludes 0 (p < {a:g})"
        ),
        np.asarray(verdict, dtype=object),
        np.asarray(alpha, dtype=float),
    )
    return np.array(
        [
            f"{prefix}{v}, {kind}interval [{lo}, {hi}], p = {p_text}{ending}"
            for prefix, v, kind, lo, hi, p_text, ending in zip(
                prefixes,
                *figures[:1],
                kinds,
                *figures[1:],
                p_value_array(np.asarray(columns["decision_p_value"], dtype=float)),
                endings,
                strict=True,
            )
        ],
        dtype=object,
    )


def _bayesian_columns(frame: pd.DataFrame, tests: _Tests) -> dict[str, np.ndarray]:
    """Normal-normal posterior of the relative effect (prior sd null: turned off, all null).

    Computed on the rows with a prior only (each row's posterior is its own).
    """
    prior_sd = frame["bayes_prior_sd"].to_numpy(dtype=float)
    rows = ~np.isnan(prior_sd)
    columns = {
        name: np.full(len(frame), np.nan)
        for name in (
            "bayes_relative_effect_mean",
            "bayes_relative_effect_ci_lower",
            "bayes_relative_effect_ci_upper",
            "bayes_chance_to_win",
            "bayes_expected_loss",
        )
    }
    if not rows.any():
        return columns
    posterior = relative_effect_posterior(
        tests.estimate["relative_effect"][rows],
        tests.estimate["relative_effect_std_error"][rows],
        prior_sd[rows],
        frame["confidence_level"].to_numpy(dtype=float)[rows],
        tests.increase_is_good[rows],
    )
    for name, values in (
        ("bayes_relative_effect_mean", posterior.mean),
        ("bayes_relative_effect_ci_lower", posterior.ci_lower),
        ("bayes_relative_effect_ci_upper", posterior.ci_upper),
        ("bayes_chance_to_win", posterior.chance_to_win),
        ("bayes_expected_loss", posterior.expected_loss),
    ):
        columns[name][rows] = values
    return columns


def _power_columns(frame: pd.DataFrame, tests: _Tests) -> dict[str, np.ndarray]:
    """Power at the current sample size."""
    level = frame["confidence_level"].to_numpy(dtype=float)
    # A one-sided test at level 1 - α has the power of a two-sided one at level 1 - 2α.
    power_level = np.where(tests.alternative == "two-sided", level, 2 * level - 1)
    power = power_analysis(
        tests.estimate["absolute_effect_std_error"],
        tests.estimate["control_mean"],
        tests.n_total,
        power_level,
        power=frame["power"].to_numpy(dtype=float),
        target_relative_effect=frame["power_target_relative_effect"].to_numpy(dtype=float),
    )
    return {
        "power_minimum_detectable_relative_effect": power.minimum_detectable_relative_effect,
        "power_subjects_needed": power.subjects_needed,
        "power_progress": power.progress,
    }


def _noninferiority_columns(frame: pd.DataFrame, tests: _Tests) -> dict[str, object]:
    """Non-inferiority of guardrails against their margin (null without a margin)."""
    margin = frame["noninferiority_margin"].to_numpy(dtype=float)
    p_noninferior = noninferiority_p_value(
        tests.estimate["relative_effect"],
        tests.estimate["relative_effect_std_error"],
        tests.degrees_of_freedom,
        margin,
        tests.increase_is_good,
    )
    has_margin = ~np.isnan(margin) & ~np.isnan(p_noninferior)
    return {
        "noninferiority_p_value": np.where(has_margin, p_noninferior, np.nan),
        "is_noninferior": pd.arrays.BooleanArray(
            np.where(has_margin, p_noninferior < tests.alpha, False), mask=~has_margin
        ),
    }


def with_health_verdicts(results: pd.DataFrame, diagnostics: pd.DataFrame) -> pd.DataFrame:
    """Set verdict ``unhealthy`` on every row of an experiment whose health is ``fail``.

    The verdict reason gives the failing checks' reasons; the numbers stay as they are.

    Args:
        results: The comparisons, with verdict and verdict_reason.
        diagnostics: One row per experiment, with each check's ``<check>_status`` and
            ``<check>_reason`` and health_status.

    Returns:
        ``results``, the verdicts of failing experiments replaced.
    """
    failing = diagnostics[diagnostics["health_status"] == "fail"]
    if failing.empty:
        return results
    checks = [
        c[: -len("_status")]
        for c in diagnostics.columns
        if c.endswith("_status")
        and c != "health_status"
        and c[: -len("_status")] + "_reason" in diagnostics.columns
    ]
    failed: list[list[str]] = [[] for _ in range(len(failing))]
    for check in checks:  # a column at a time: the diagnostics are wide
        statuses = failing[f"{check}_status"].to_numpy(dtype=object)
        reasons = failing[f"{check}_reason"].to_numpy(dtype=object)
        for i in np.flatnonzero(statuses == "fail").tolist():
            failed[i].append(str(reasons[i]))
    why = {
        experiment_id: "experiment health is fail: " + "; ".join(reasons)
        for experiment_id, reasons in zip(failing["experiment_id"].tolist(), failed, strict=True)
    }
    rows = results["experiment_id"].isin(why).to_numpy()
    verdict = results["verdict"].to_numpy(dtype=object).copy()
    reason = results["verdict_reason"].to_numpy(dtype=object).copy()
    verdict[rows] = "unhealthy"
    reason[rows] = [why[e] for e in results["experiment_id"].to_numpy(dtype=object)[rows]]
    return results.assign(verdict=verdict, verdict_reason=reason)


def with_slice_health_verdicts(results: pd.DataFrame) -> pd.DataFrame:
    """Set verdict ``unhealthy`` on the rows of a slice whose own sample-ratio check fails.

    A slice is a day or a dimension value.

    Args:
        results: The sliced comparisons, with slice_srm_status and slice_srm_p_value.

    Returns:
        ``results``, the verdicts of failing slices replaced.
    """
    rows = (results["slice_srm_status"] == "fail").to_numpy()
    if not rows.any():
        return results
    results = results.copy()
    results.loc[rows, "verdict"] = "unhealthy"
    results.loc[rows, "verdict_reason"] = [
        f"sample ratio mismatch within this slice (p = {p:.2g}): its results are not trustworthy"
        for p in results.loc[rows, "slice_srm_p_value"]
    ]
    return results
