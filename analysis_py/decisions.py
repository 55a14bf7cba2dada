"""The decision layer on top of the chosen estimate: multiple testing, sequential intervals,
Bayesian posterior, power and non-inferiority, each as columns of the comparisons frame.

The estimate that decides is per experiment (``analysis.cuped``): CUPED++, CUPED or the
unadjusted one. Everything here is vectorised over all comparisons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_py import sequential
from analysis_py.bayesian import relative_effect_posterior
from analysis_py.multiple_testing import adjust_p_values, adjusted_quantile
from analysis_py.noninferiority import noninferiority_p_value
from analysis_py.power import power_analysis
from analysis_py.ttest import ESTIMATE_FIELDS

DECISION_ESTIMATE = {"multi": "cuped++", "single": "cuped", "none": "unadjusted"}
#: Column prefix of each estimate in the comparisons frame and the result tables.
ESTIMATE_PREFIX = {"cuped++": "cupedpp_", "cuped": "cuped_", "unadjusted": ""}


def decision_estimate(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The fields of the estimate each comparison decides on."""
    mode = frame["cuped_mode"].to_numpy(dtype=object)
    modes = {cuped_mode: rows for cuped_mode in DECISION_ESTIMATE
             if (rows := mode == cuped_mode).any()}  # only the modes in use
    chosen = {}
    for name in ESTIMATE_FIELDS:
        value = np.full(len(frame), np.nan)
        for cuped_mode, rows in modes.items():
            estimate = DECISION_ESTIMATE[cuped_mode]
            value[rows] = frame[ESTIMATE_PREFIX[estimate] + name].to_numpy(dtype=float)[rows]
        chosen[name] = value
    return chosen


def with_decisions(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparisons frame with the decision columns added (collected, then joined once)."""
    estimate = decision_estimate(frame)
    columns: dict[str, object] = {
        "decision_estimate": np.array([DECISION_ESTIMATE[mode] for mode in
                                       frame["cuped_mode"].to_numpy(dtype=object)], dtype=object)}
    level = frame["confidence_level"].to_numpy(dtype=float)
    alpha = 1 - level
    effect, se = estimate["absolute_effect"], estimate["absolute_effect_std_error"]
    relative, relative_se = estimate["relative_effect"], estimate["relative_effect_std_error"]
    df = estimate["degrees_of_freedom"]
    increase_is_good = (frame["metric_direction"] == "increase").to_numpy()
    role = frame["metric_role"].to_numpy()

    # Multiple testing: one family per experiment (primary and secondary metrics × treatments
    # with a usable test); guardrails are tested on their own.
    usable = frame["status"].isin(["ok", "zero_control_mean"]).to_numpy()
    family = np.where((role != "guardrail") & usable, frame["family"], None)
    methods = np.where(role == "guardrail", "none", frame["multiple_testing"])
    columns["multiple_testing_method"] = methods
    adjusted = adjust_p_values(estimate["p_value"], family, methods)
    columns["adjusted_p_value"] = adjusted
    quantile = adjusted_quantile(estimate["p_value"], adjusted, level, df)
    columns["adjusted_absolute_effect_ci_lower"] = effect - quantile * se
    columns["adjusted_absolute_effect_ci_upper"] = effect + quantile * se
    columns["adjusted_relative_effect_ci_lower"] = relative - quantile * relative_se
    columns["adjusted_relative_effect_ci_upper"] = relative + quantile * relative_se

    # Sequential: always-valid intervals, for experiments that ask for them.
    is_sequential = frame["sequential"].to_numpy(dtype=bool)
    n_total = (frame["control_n"] + frame["treatment_n"]).to_numpy(dtype=float)
    tuning = frame["sequential_tuning"].to_numpy(dtype=float)
    absolute_half = sequential.half_width(se, n_total, alpha, tuning)
    relative_half = sequential.half_width(relative_se, n_total, alpha, tuning)
    for name, value in {
        "sequential_absolute_effect_ci_lower": effect - absolute_half,
        "sequential_absolute_effect_ci_upper": effect + absolute_half,
        "sequential_relative_effect_ci_lower": relative - relative_half,
        "sequential_relative_effect_ci_upper": relative + relative_half,
        "sequential_p_value": sequential.p_value(effect, se, n_total, alpha, tuning),
    }.items():
        columns[name] = np.where(is_sequential, value, np.nan)

    # Bayesian: normal-normal on the relative effect (prior sd null: turned off, all null).
    prior_sd = frame["bayes_prior_sd"].to_numpy(dtype=float)
    posterior = relative_effect_posterior(relative, relative_se, prior_sd, level,
                                          increase_is_good)
    columns["bayes_relative_effect_mean"] = posterior.mean
    columns["bayes_relative_effect_ci_lower"] = posterior.ci_lower
    columns["bayes_relative_effect_ci_upper"] = posterior.ci_upper
    columns["bayes_chance_to_win"] = posterior.chance_to_win
    columns["bayes_expected_loss"] = posterior.expected_loss

    # Power at the current sample size.
    power = power_analysis(se, estimate["control_mean"], n_total, level,
                           frame["power"].to_numpy(dtype=float),
                           frame["power_target_relative_effect"].to_numpy(dtype=float))
    columns["power_minimum_detectable_relative_effect"] = power.minimum_detectable_relative_effect
    columns["power_subjects_needed"] = power.subjects_needed
    columns["power_progress"] = power.progress

    # Non-inferiority of guardrails against their margin.
    margin = frame["noninferiority_margin"].to_numpy(dtype=float)
    p_noninferior = noninferiority_p_value(relative, relative_se, df, margin, increase_is_good)
    has_margin = ~np.isnan(margin) & ~np.isnan(p_noninferior)
    columns["noninferiority_p_value"] = np.where(has_margin, p_noninferior, np.nan)
    columns["is_noninferior"] = pd.arrays.BooleanArray(
        np.where(has_margin, p_noninferior < alpha, False), mask=~has_margin)
    # Text columns stay plain object arrays: converting 10,000s of strings to Arrow costs
    # more than the rest of this function.
    text = pd.DataFrame({name: columns.pop(name)
                         for name in ("decision_estimate", "multiple_testing_method")},
                        index=frame.index, dtype=object)
    return pd.concat([frame, text, pd.DataFrame(columns, index=frame.index)], axis=1)
