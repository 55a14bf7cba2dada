"""The decision layer on top of the chosen estimate: multiple testing, sequential intervals,
the stored decision and verdict, Bayesian posterior, power and non-inferiority, each as
columns of the comparisons frame.

The estimate that decides is per experiment (``analysis.cuped``): CUPED++, CUPED or the
unadjusted one; the decision is computed here once, stored in the result tables
(``decision_*``, ``verdict``, ``verdict_reason``), and only read by the summary and the
report. Everything here is vectorised over all comparisons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_py.presentation.formatting import p_value_array, percent_array, signed_number
from analysis_py.stats import sequential
from analysis_py.stats.bayesian import relative_effect_posterior
from analysis_py.stats.multiple_testing import adjust_p_values, adjusted_alpha
from analysis_py.stats.noninferiority import noninferiority_p_value
from analysis_py.stats.power import power_analysis
from analysis_py.stats.ttest import ESTIMATE_FIELDS, interval

DECISION_ESTIMATE = {"multi": "cuped++", "single": "cuped", "none": "unadjusted"}
#: Column prefix of each estimate in the comparisons frame and the result tables.
ESTIMATE_PREFIX = {"cuped++": "cupedpp_", "cuped": "cuped_", "unadjusted": ""}


def decision_estimate(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The fields of the estimate each comparison decides on."""
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


#: The statuses whose comparisons have a test: they form the multiple-testing families.
TESTED_STATUSES = ("ok", "zero_control_mean")
#: verdict values, in the order of precedence in which they are decided.
VERDICTS = ("unhealthy", "no_result", "better", "worse", "inconclusive")
ESTIMATE_LABEL = {"cuped++": "CUPED++", "cuped": "CUPED", "unadjusted": "unadjusted"}
_METHOD_LABEL = {
    "holm": "Holm-adjusted ",
    "benjamini_hochberg": "BH-adjusted ",
    "bonferroni": "Bonferroni-adjusted ",
    "none": "",
}


def with_decisions(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparisons frame with the decision columns added (collected, then joined once).

    Every interval here comes with the p-value it agrees with: it excludes 0 exactly when
    that p-value is below α = 1 - confidence level (decision record 0010). The relative and
    absolute scales each have their own test; multiple-testing adjustment runs per scale
    over the experiment's family, and intervals are taken at the level α·p/p_adjusted.
    """
    estimate = decision_estimate(frame)
    columns: dict[str, object] = {
        "decision_estimate": np.array(
            [DECISION_ESTIMATE[mode] for mode in frame["cuped_mode"].to_numpy(dtype=object)],
            dtype=object,
        )
    }
    level = frame["confidence_level"].to_numpy(dtype=float)
    alpha = 1 - level
    effect, se = estimate["absolute_effect"], estimate["absolute_effect_std_error"]
    relative, relative_se = estimate["relative_effect"], estimate["relative_effect_std_error"]
    df = estimate["degrees_of_freedom"]
    increase_is_good = (frame["metric_direction"] == "increase").to_numpy()
    role = frame["metric_role"].to_numpy()

    # Multiple testing: one family per experiment (primary and secondary metrics × treatments
    # with a usable test); guardrails are tested on their own.
    usable = frame["status"].isin(TESTED_STATUSES).to_numpy()
    no_family = np.full(len(frame), None, dtype=object)
    family = np.where(
        (role != "guardrail") & usable, frame["family"].to_numpy(dtype=object), no_family
    )
    methods = np.where(
        role == "guardrail", "none", frame["multiple_testing"].to_numpy(dtype=object)
    )
    columns["multiple_testing_method"] = methods

    alternative = frame["alternative"].to_numpy(dtype=object)

    def adjusted_fixed(
        p_raw: np.ndarray, value: np.ndarray, std_error: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p_adjusted = adjust_p_values(p_raw, family, methods)
        lower, upper = interval(
            value, std_error, adjusted_alpha(p_raw, p_adjusted, alpha), df, alternative
        )
        return p_adjusted, lower, upper

    absolute_p, relative_p = estimate["p_value"], estimate["relative_p_value"]
    p_adjusted, lower, upper = adjusted_fixed(absolute_p, effect, se)
    columns |= {
        "adjusted_p_value": p_adjusted,
        "adjusted_absolute_effect_ci_lower": lower,
        "adjusted_absolute_effect_ci_upper": upper,
    }
    p_adjusted, lower, upper = adjusted_fixed(relative_p, relative, relative_se)
    columns |= {
        "adjusted_relative_p_value": p_adjusted,
        "adjusted_relative_effect_ci_lower": lower,
        "adjusted_relative_effect_ci_upper": upper,
    }

    # Sequential: always-valid p-values, adjusted in the same families, and the intervals
    # that agree with them, for experiments that ask for them.
    is_sequential = frame["sequential"].to_numpy(dtype=bool)
    n_total = (frame["control_n"] + frame["treatment_n"]).to_numpy(dtype=float)
    tuning = frame["sequential_tuning"].to_numpy(dtype=float)

    def adjusted_sequential(
        value: np.ndarray, std_error: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        p_raw = sequential.p_value(value, std_error, n_total, alpha, tuning)
        p_adjusted = adjust_p_values(p_raw, family, methods)
        half = sequential.half_width(
            std_error, n_total, alpha, tuning, adjusted_alpha(p_raw, p_adjusted, alpha)
        )
        return p_raw, p_adjusted, value - half, value + half

    sequential_absolute = adjusted_sequential(effect, se)
    sequential_relative = adjusted_sequential(relative, relative_se)
    for name, value in {
        "sequential_p_value": sequential_absolute[1],
        "sequential_absolute_effect_ci_lower": sequential_absolute[2],
        "sequential_absolute_effect_ci_upper": sequential_absolute[3],
        "sequential_relative_p_value": sequential_relative[1],
        "sequential_relative_effect_ci_lower": sequential_relative[2],
        "sequential_relative_effect_ci_upper": sequential_relative[3],
    }.items():
        columns[name] = np.where(is_sequential, value, np.nan)

    # The decision: the relative scale where the relative effect exists (a non-zero control
    # mean), else the absolute one; fixed-horizon or sequential as the experiment says. The
    # decision p-values are adjusted as one family, so a zero control mean still counts.
    on_relative = ~np.isnan(relative_p)
    fixed_raw = np.where(on_relative, relative_p, absolute_p)
    raw = np.where(
        is_sequential,
        np.where(on_relative, sequential_relative[0], sequential_absolute[0]),
        fixed_raw,
    )
    decision_p = adjust_p_values(raw, family, methods)
    decision_value = np.where(on_relative, relative, effect)
    decision_se = np.where(on_relative, relative_se, se)
    level_alpha = adjusted_alpha(raw, decision_p, alpha)
    lower, upper = interval(decision_value, decision_se, level_alpha, df, alternative)
    with np.errstate(invalid="ignore"):  # sequential: always two-sided (config.py checks)
        half = sequential.half_width(decision_se, n_total, alpha, tuning, level_alpha)
    lower = np.where(is_sequential, decision_value - half, lower)
    upper = np.where(is_sequential, decision_value + half, upper)
    columns |= {
        "decision_method": np.where(is_sequential, "sequential", "fixed_horizon").astype(object),
        "decision_scale": np.where(on_relative, "relative", "absolute").astype(object),
        "decision_control_mean": estimate["control_mean"],
        "decision_treatment_mean": estimate["treatment_mean"],
        "decision_absolute_effect": effect,
        "decision_relative_effect": relative,
        "decision_ci_lower": lower,
        "decision_ci_upper": upper,
        "decision_p_value": decision_p,
    }
    columns["verdict"], columns["verdict_reason"] = _verdicts(
        frame, columns, decision_value, alpha, increase_is_good
    )

    # Bayesian: normal-normal on the relative effect (prior sd null: turned off, all null).
    prior_sd = frame["bayes_prior_sd"].to_numpy(dtype=float)
    posterior = relative_effect_posterior(relative, relative_se, prior_sd, level, increase_is_good)
    columns["bayes_relative_effect_mean"] = posterior.mean
    columns["bayes_relative_effect_ci_lower"] = posterior.ci_lower
    columns["bayes_relative_effect_ci_upper"] = posterior.ci_upper
    columns["bayes_chance_to_win"] = posterior.chance_to_win
    columns["bayes_expected_loss"] = posterior.expected_loss

    # Power at the current sample size.
    # A one-sided test at level 1 - α has the power of a two-sided one at level 1 - 2α.
    power_level = np.where(alternative == "two-sided", level, 2 * level - 1)
    power = power_analysis(
        se,
        estimate["control_mean"],
        n_total,
        power_level,
        frame["power"].to_numpy(dtype=float),
        frame["power_target_relative_effect"].to_numpy(dtype=float),
    )
    columns["power_minimum_detectable_relative_effect"] = power.minimum_detectable_relative_effect
    columns["power_subjects_needed"] = power.subjects_needed
    columns["power_progress"] = power.progress

    # Non-inferiority of guardrails against their margin.
    margin = frame["noninferiority_margin"].to_numpy(dtype=float)
    p_noninferior = noninferiority_p_value(relative, relative_se, df, margin, increase_is_good)
    has_margin = ~np.isnan(margin) & ~np.isnan(p_noninferior)
    columns["noninferiority_p_value"] = np.where(has_margin, p_noninferior, np.nan)
    columns["is_noninferior"] = pd.arrays.BooleanArray(
        np.where(has_margin, p_noninferior < alpha, False), mask=~has_margin
    )
    # Text columns stay plain object arrays: converting 10,000s of strings to Arrow costs
    # more than the rest of this function.
    text = pd.DataFrame(
        {
            name: columns.pop(name)
            for name in (
                "decision_estimate",
                "multiple_testing_method",
                "decision_method",
                "decision_scale",
                "verdict",
                "verdict_reason",
            )
        },
        index=frame.index,
        dtype=object,
    )
    return pd.concat([frame, text, pd.DataFrame(columns, index=frame.index)], axis=1)


def _verdicts(
    frame: pd.DataFrame,
    columns: dict[str, object],
    decision_value: np.ndarray,
    alpha: np.ndarray,
    increase_is_good: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Verdict and verdict_reason per comparison, from the decision columns alone.

    better / worse: the decision interval excludes 0 (decision_p_value < α), on the side the
    metric's direction calls good / bad; inconclusive: it contains 0; no_result: the
    comparison has no usable test (its status says why). unhealthy is set afterwards, from
    the experiment's health (:func:`with_health_verdicts`).
    """
    p = np.asarray(columns["decision_p_value"], dtype=float)
    lower = np.asarray(columns["decision_ci_lower"], dtype=float)
    upper = np.asarray(columns["decision_ci_upper"], dtype=float)
    status = frame["status"].to_numpy(dtype=object)
    no_result = ~np.isin(status, TESTED_STATUSES) | np.isnan(p) | np.isnan(decision_value)
    significant = ~no_result & (p < alpha)
    went_up = decision_value > 0
    verdict = np.select(
        [no_result, significant & (went_up == increase_is_good), significant],
        ["no_result", "better", "worse"],
        "inconclusive",
    ).astype(object)
    reasons = np.asarray(frame["status_reason"].to_numpy(dtype=object), dtype=object).copy()
    reasons[no_result & (reasons == "")] = "the decision estimate could not be computed"
    reasons[~no_result] = _reasons(columns, decision_value, lower, upper, p, alpha, verdict)[
        ~no_result
    ]
    return verdict, reasons


def _reasons(
    columns: dict[str, object],
    value: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    p: np.ndarray,
    alpha: np.ndarray,
    verdict: np.ndarray,
) -> np.ndarray:
    """One line per comparison: the estimate and interval the verdict rests on, and why it
    is what it is. Built with numpy string operations: a nightly run may have 10,000s.
    """
    scale = np.asarray(columns["decision_scale"], dtype=object)
    absolute = np.flatnonzero(scale == "absolute")  # a zero control mean: rare
    figures = []
    for v in (value, lower, upper):
        text = percent_array(v)
        for i in absolute.tolist():
            text[i] = signed_number(v[i])
        figures.append(text)

    def texts(name: str) -> list[str]:
        return np.asarray(columns[name], dtype=object).tolist()

    labels = [ESTIMATE_LABEL.get(e, e) for e in texts("decision_estimate")]
    kinds = [
        ("always-valid " if method == "sequential" else "") + _METHOD_LABEL.get(c, "")
        for method, c in zip(
            texts("decision_method"), texts("multiple_testing_method"), strict=True
        )
    ]
    return np.array(
        [
            f"{label} {s} effect {v}, {kind}interval [{lo}, {hi}], p = {p_text}: the interval "
            + (
                f"contains 0 (p >= {a:g})"
                if outcome == "inconclusive"
                else f"excludes 0 (p < {a:g})"
            )
            for label, s, v, kind, lo, hi, p_text, a, outcome in zip(
                labels,
                scale,
                *figures[:1],
                kinds,
                *figures[1:],
                p_value_array(p),
                alpha.tolist(),
                verdict,
                strict=True,
            )
        ],
        dtype=object,
    )


def with_health_verdicts(results: pd.DataFrame, diagnostics: pd.DataFrame) -> pd.DataFrame:
    """Set verdict ``unhealthy`` on every row of an experiment whose health is ``fail``, with
    the failing checks' reasons; its numbers stay as they are.
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
    """Set verdict ``unhealthy`` on the rows of a slice (a day, a dimension value) whose own
    sample-ratio check fails.
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
