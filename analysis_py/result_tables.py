"""The result tables: the columns analysts query, in order, with type and meaning.

This module is the contract: the analysis step produces exactly these columns, the warehouse
module creates the tables from them, and the column reference docs/result-tables.md is
generated from it (`python -m analysis_py.result_tables > docs/result-tables.md`; a test
fails when the two differ). Change a column here and note it in CHANGELOG.md.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from analysis_py.marts import DAILY_MART, DIMENSION_MART, MART

#: The mart `xp plan` reads (models/marts/fct_plan_metric_statistics.sql).
PLAN_MART = "fct_plan_metric_statistics"

ColumnType = Literal["text", "bigint", "double", "boolean", "timestamp", "date"]

#: Version of the result tables' columns, written on every row. Raised whenever a column is
#: removed, renamed or changes meaning (adding a column also bumps it); see CHANGELOG.md.
RESULT_SCHEMA_VERSION = 3


@dataclass(frozen=True)
class Column:
    """One column of a result table: its name, its type and what it means."""

    name: str
    type: ColumnType
    description: str


def _arm_statistics(arm: str) -> list[Column]:
    return [
        Column(
            f"{arm}_n",
            "bigint",
            f"Analysed subjects in the {arm} arm (of a quantile: those it is over).",
        ),
        Column(f"{arm}_sum_y", "double", f"Σ metric value over the {arm} arm."),
        Column(f"{arm}_sum_y_squares", "double", f"Σ squared metric value, {arm} arm."),
        Column(f"{arm}_sum_x", "double", f"Σ pre-exposure covariate, {arm} arm."),
        Column(f"{arm}_sum_x_squares", "double", f"Σ squared covariate, {arm} arm."),
        Column(f"{arm}_sum_xy", "double", f"Σ metric value × covariate, {arm} arm."),
    ]


def _effect_columns(prefix: str, label: str) -> list[Column]:
    return [
        Column(
            f"{prefix}control_mean",
            "double",
            f"Control mean ({label}); the control's quantile when statistic is quantile.",
        ),
        Column(
            f"{prefix}treatment_mean",
            "double",
            f"Treatment mean ({label}); the treatment's quantile when statistic is quantile.",
        ),
        Column(
            f"{prefix}absolute_effect", "double", f"Treatment mean minus control mean ({label})."
        ),
        Column(
            f"{prefix}absolute_effect_std_error", "double", "Standard error of the absolute effect."
        ),
        Column(
            f"{prefix}absolute_effect_ci_lower",
            "double",
            "Lower bound of the absolute effect's confidence interval.",
        ),
        Column(
            f"{prefix}absolute_effect_ci_upper",
            "double",
            "Upper bound of the absolute effect's confidence interval.",
        ),
        Column(
            f"{prefix}relative_effect",
            "double",
            f"Treatment mean / control mean - 1 ({label}); null when the control mean is 0.",
        ),
        Column(
            f"{prefix}relative_effect_ci_lower",
            "double",
            "Lower bound of the relative effect's interval (delta method).",
        ),
        Column(
            f"{prefix}relative_effect_ci_upper",
            "double",
            "Upper bound of the relative effect's interval (delta method).",
        ),
        Column(
            f"{prefix}degrees_of_freedom",
            "double",
            "Welch-Satterthwaite degrees of freedom; null for quantiles (normal intervals).",
        ),
        Column(
            f"{prefix}p_value",
            "double",
            "Two-sided Welch t-test p-value of 'no difference in means' (absolute scale); "
            "below 1 - confidence_level exactly when the absolute interval excludes 0.",
        ),
        Column(
            f"{prefix}relative_p_value",
            "double",
            "Two-sided p-value of 'no relative effect' (relative effect / its standard "
            "error); below 1 - confidence_level exactly when the relative interval "
            "excludes 0.",
        ),
    ]


EXPERIMENT_RESULTS: tuple[Column, ...] = (
    Column("run_id", "text", "Identifier of the analysis run that wrote the row."),
    Column("analysis_at", "timestamp", "When the analysis ran (UTC)."),
    Column(
        "analysis_date",
        "date",
        "The UTC date of analysis_at: the history tables keep one snapshot per date.",
    ),
    Column(
        "schema_version",
        "bigint",
        "Version of these columns (CHANGELOG.md); a reader can check it before it reads.",
    ),
    Column("experiment_id", "text", "Experiment id from the config."),
    Column("metric_id", "text", "Metric id from the config."),
    Column("metric_display_name", "text", "The metric's display_name (config), else its id."),
    Column("metric_description", "text", "The metric's description (config)."),
    Column("metric_role", "text", "primary, secondary or guardrail (config)."),
    Column("metric_direction", "text", "increase or decrease: which way is good (config)."),
    Column(
        "alternative",
        "text",
        "The metric's alternative hypothesis (config): two-sided, greater (treatment mean "
        "higher) or less; one-sided intervals have a null (unbounded) upper or lower bound.",
    ),
    Column(
        "statistic",
        "text",
        "What the arms are compared by: mean (for a ratio metric the ratio of means), or "
        "quantile (aggregation quantile), when every *_mean column holds the arm's quantile.",
    ),
    Column(
        "quantile_level",
        "double",
        "The quantile's level (config key quantile), e.g. 0.9; null unless statistic is quantile.",
    ),
    Column("control_variant_id", "text", "The experiment's control variant."),
    Column("treatment_variant_id", "text", "The treatment variant compared with control."),
    Column("confidence_level", "double", "Two-sided confidence level of every interval."),
    Column(
        "status",
        "text",
        "ok, non_finite_input, negative_variance, too_few_subjects, zero_variance or "
        "zero_control_mean (see status_reason).",
    ),
    Column("status_reason", "text", "One line saying why the status is not ok; empty if ok."),
    Column(
        "verdict",
        "text",
        "better or worse (the decision interval excludes 0, on the side the metric's "
        "direction calls good or bad), inconclusive, no_result (no usable test: see "
        "status), or unhealthy (the experiment's health is fail; the figures stay).",
    ),
    Column(
        "verdict_reason",
        "text",
        "One line: the estimate, interval and p-value the verdict rests on, or why there is none.",
    ),
    Column(
        "decision_estimate",
        "text",
        "The estimate the decision uses: cuped++, cuped or unadjusted (analysis.cuped).",
    ),
    Column(
        "decision_method",
        "text",
        "fixed_horizon, or sequential (always-valid) when analysis.sequential is true.",
    ),
    Column(
        "decision_scale",
        "text",
        "relative, or absolute when the control mean is 0 (no relative effect).",
    ),
    Column("decision_control_mean", "double", "Control mean of the decision estimate."),
    Column("decision_treatment_mean", "double", "Treatment mean of the decision estimate."),
    Column("decision_absolute_effect", "double", "Absolute effect of the decision estimate."),
    Column("decision_relative_effect", "double", "Relative effect of the decision estimate."),
    Column(
        "decision_ci_lower",
        "double",
        "Lower bound of the interval the verdict reads, on decision_scale, after the "
        "experiment's multiple-testing and sequential settings.",
    ),
    Column("decision_ci_upper", "double", "Its upper bound."),
    Column(
        "decision_p_value",
        "double",
        "The p-value the verdict reads (same settings and scale): below 1 - "
        "confidence_level exactly when the decision interval excludes 0.",
    ),
    *_arm_statistics("control"),
    *_arm_statistics("treatment"),
    *_effect_columns("", "unadjusted"),
    Column(
        "control_mean_ci_lower",
        "double",
        "Lower bound of the control mean's t interval (unadjusted, confidence_level); of "
        "its quantile's normal interval when statistic is quantile.",
    ),
    Column("control_mean_ci_upper", "double", "Its upper bound."),
    Column(
        "treatment_mean_ci_lower",
        "double",
        "Lower bound of the treatment mean's t interval (unadjusted, confidence_level), or "
        "of its quantile's.",
    ),
    Column("treatment_mean_ci_upper", "double", "Its upper bound."),
    Column(
        "cuped_theta", "double", "CUPED coefficient θ = cov(x, y) / var(x) over both arms pooled."
    ),
    *_effect_columns("cuped_", "CUPED-adjusted to the pooled covariate mean"),
    Column(
        "cuped_variance_reduction",
        "double",
        "1 - Var(CUPED absolute effect) / Var(unadjusted absolute effect).",
    ),
    Column(
        "cuped_fallback_reason",
        "text",
        "Why the cuped_ columns equal the unadjusted estimate (no pre-exposure data, or "
        "a ratio arm without a pre-exposure denominator, or a quantile metric, which CUPED "
        "does not adjust); empty when CUPED adjusted.",
    ),
    *_effect_columns(
        "cupedpp_",
        "CUPED++: regression on every metric's pre-exposure value; "
        "null unless analysis.cuped is multi",
    ),
    Column(
        "cupedpp_variance_reduction_vs_cuped",
        "double",
        "1 - Var(CUPED++ absolute effect) / Var(CUPED absolute effect).",
    ),
    Column(
        "multiple_testing_method",
        "text",
        "holm, benjamini_hochberg, bonferroni or none; none for guardrails, which are not "
        "corrected.",
    ),
    Column(
        "adjusted_p_value",
        "double",
        "The decision estimate's absolute-scale p-value corrected over the experiment's "
        "primary and secondary metrics × treatments.",
    ),
    Column(
        "adjusted_absolute_effect_ci_lower",
        "double",
        "Lower bound of the absolute effect's interval consistent with adjusted_p_value: "
        "it excludes 0 exactly when adjusted_p_value < 1 - confidence_level.",
    ),
    Column("adjusted_absolute_effect_ci_upper", "double", "Its upper bound."),
    Column(
        "adjusted_relative_p_value",
        "double",
        "The decision estimate's relative-scale p-value, corrected likewise.",
    ),
    Column(
        "adjusted_relative_effect_ci_lower",
        "double",
        "Relative effect's interval consistent with adjusted_relative_p_value (delta "
        "method): it excludes 0 exactly when that p-value < 1 - confidence_level.",
    ),
    Column("adjusted_relative_effect_ci_upper", "double", "Its upper bound."),
    Column(
        "sequential_absolute_effect_ci_lower",
        "double",
        "Always-valid interval of the absolute effect (asymptotic confidence sequence), "
        "consistent with sequential_p_value; null unless analysis.sequential.",
    ),
    Column("sequential_absolute_effect_ci_upper", "double", "Its upper bound."),
    Column(
        "sequential_p_value",
        "double",
        "Always-valid p-value of 'no absolute effect', corrected for multiple testing like "
        "adjusted_p_value.",
    ),
    Column(
        "sequential_relative_effect_ci_lower",
        "double",
        "Always-valid interval of the relative effect, consistent with "
        "sequential_relative_p_value.",
    ),
    Column("sequential_relative_effect_ci_upper", "double", "Its upper bound."),
    Column(
        "sequential_relative_p_value",
        "double",
        "Always-valid p-value of 'no relative effect', corrected for multiple testing.",
    ),
    Column(
        "bayes_prior_sd",
        "double",
        "Standard deviation of the N(0, sd²) prior on the "
        "relative effect; null (and every bayes_ column) when analysis.bayesian is false.",
    ),
    Column("bayes_relative_effect_mean", "double", "Posterior mean of the relative effect."),
    Column(
        "bayes_relative_effect_ci_lower",
        "double",
        "Lower bound of the posterior credible interval (confidence_level).",
    ),
    Column("bayes_relative_effect_ci_upper", "double", "Its upper bound."),
    Column(
        "bayes_chance_to_win",
        "double",
        "Posterior probability that the effect goes the metric's desired way.",
    ),
    Column(
        "bayes_expected_loss",
        "double",
        "Posterior expected relative loss of shipping the treatment (risk).",
    ),
    Column(
        "power_target_relative_effect",
        "double",
        "The relative effect the experiment should detect (analysis.target_relative_effect).",
    ),
    Column(
        "power_minimum_detectable_relative_effect",
        "double",
        "Smallest relative effect detectable now at the configured power.",
    ),
    Column(
        "power_subjects_needed",
        "double",
        "Subjects (both arms) needed to detect the target effect at that power.",
    ),
    Column("power_progress", "double", "Subjects now / subjects needed, at most 1."),
    Column(
        "noninferiority_margin",
        "double",
        "Guardrails: the largest relative loss accepted (config); null otherwise.",
    ),
    Column(
        "noninferiority_p_value",
        "double",
        "One-sided p-value of 'the treatment is worse than the margin allows'.",
    ),
    Column("is_noninferior", "boolean", "True when noninferiority_p_value < 1 - confidence_level."),
    Column("config_hash", "text", "Hash of the experiment config the results come from."),
)

EXPERIMENT_DIAGNOSTICS: tuple[Column, ...] = (
    Column("run_id", "text", "Identifier of the analysis run that wrote the row."),
    Column("analysis_at", "timestamp", "When the analysis ran (UTC)."),
    Column(
        "analysis_date",
        "date",
        "The UTC date of analysis_at: the history tables keep one snapshot per date.",
    ),
    Column(
        "schema_version",
        "bigint",
        "Version of these columns (CHANGELOG.md); a reader can check it before it reads.",
    ),
    Column("experiment_id", "text", "Experiment id from the config."),
    Column("n_variants", "bigint", "Number of variants in the config."),
    Column("n_analysed_subjects", "bigint", "Subjects in the analysis, all arms."),
    Column(
        "subjects_per_variant",
        "text",
        "Analysed subjects per variant, e.g. 'control=1012, treatment=988'.",
    ),
    Column(
        "expected_shares", "text", "Configured traffic split, e.g. 'control=0.5, treatment=0.5'."
    ),
    Column(
        "srm_chi_square",
        "double",
        "Pearson chi-square statistic of observed against expected subjects per variant.",
    ),
    Column(
        "srm_p_value", "double", "Its p-value (k - 1 degrees of freedom); null without subjects."
    ),
    Column("srm_status", "text", "ok, fail (p below srm_threshold) or not_applicable."),
    Column(
        "srm_threshold", "double", "The p-value below which a sample ratio mismatch is flagged."
    ),
    Column("srm_reason", "text", "One line on the sample ratio check."),
    Column(
        "n_multi_variant_subjects",
        "bigint",
        "Subjects exposed to more than one variant, excluded from the analysis.",
    ),
    Column(
        "multi_variant_share",
        "double",
        "n_multi_variant_subjects / all exposed subjects of the experiment.",
    ),
    Column(
        "n_unknown_variant_subjects",
        "bigint",
        "Subjects exposed only to variants the config does not declare, excluded.",
    ),
    Column("multi_variant_status", "text", "ok, or warning above 1% multi-variant subjects."),
    Column("multi_variant_reason", "text", "One line on the multi-variant check."),
    Column(
        "unknown_variant_share",
        "double",
        "n_unknown_variant_subjects / all exposed subjects of the experiment.",
    ),
    Column(
        "unknown_variant_status",
        "text",
        "ok, or warning when any subject saw only variants the config does not list.",
    ),
    Column(
        "unknown_variant_reason", "text", "One line on the unknown-variant check, naming the count."
    ),
    Column(
        "pre_exposure_balance_status",
        "text",
        "fail when a covariate's pre-exposure means differ between arms at p < 0.001 "
        "after Bonferroni over metrics × treatments.",
    ),
    Column("pre_exposure_balance_reason", "text", "One line naming the worst comparison."),
    Column(
        "cuped_sanity_status",
        "text",
        "warning when a CUPED estimate falls outside its unadjusted interval.",
    ),
    Column("cuped_sanity_reason", "text", "One line on the CUPED check."),
    Column("sample_size_status", "text", "warning when an arm has fewer than 150 subjects."),
    Column("sample_size_reason", "text", "One line on the sample size check."),
    Column(
        "large_lift_status",
        "text",
        "warning when a relative effect exceeds ±50%: check the data before believing it.",
    ),
    Column("large_lift_reason", "text", "One line naming the largest lift."),
    Column(
        "pre_exposure_data_share",
        "double",
        "Lowest share, over the experiment's metrics, of subjects with pre-exposure data.",
    ),
    Column(
        "pre_exposure_data_status",
        "text",
        "warning when that share is below 5%: CUPED has little to work with.",
    ),
    Column("pre_exposure_data_reason", "text", "One line on the pre-exposure data check."),
    Column("health_status", "text", "The worst status above: ok, warning or fail."),
    Column("config_hash", "text", "Hash of the experiment config the results come from."),
)


def _sliced(keys: list[Column]) -> tuple[Column, ...]:
    """The results columns with slice keys after experiment_id and the slice's own SRM."""
    position = [c.name for c in EXPERIMENT_RESULTS].index("experiment_id") + 1
    srm = [
        Column("slice_n_subjects", "bigint", "Analysed subjects in the slice, all arms."),
        Column(
            "slice_srm_p_value",
            "double",
            "Sample-ratio χ² p-value within the slice (null without subjects).",
        ),
        Column("slice_srm_status", "text", "ok, fail (p < 0.001) or not_applicable."),
    ]
    return (
        *EXPERIMENT_RESULTS[:position],
        *keys,
        *EXPERIMENT_RESULTS[position:-1],
        *srm,
        EXPERIMENT_RESULTS[-1],
    )


#: Results over time: one row per experiment, day, metric and treatment, as of that day.
EXPERIMENT_RESULTS_OVER_TIME = _sliced(
    [
        Column(
            "day_number",
            "bigint",
            "Days since the experiment's first exposure date (day 1 = that date).",
        ),
        Column(
            "as_of_date",
            "date",
            "The date (UTC): the result as it stood at its end, with the subjects exposed and "
            "the events that had happened by then.",
        ),
    ]
)

#: Results per dimension value: one row per experiment, dimension value, metric, treatment.
EXPERIMENT_DIMENSION_RESULTS = _sliced(
    [
        Column("dimension_name", "text", "The dimension (a column of the assignment table)."),
        Column(
            "dimension_value",
            "text",
            "Its value at first exposure; '(other)' gathers values beyond the top N, "
            "'(missing)' nulls.",
        ),
    ]
)


def _columns(table: tuple[Column, ...], names: list[str]) -> list[Column]:
    """The named columns of a table, in the order given.

    The scorecards reuse the wide tables' columns, so each keeps one name and one meaning.
    """
    by_name = {column.name: column for column in table}
    return [by_name[name] for name in names]


#: The scorecard's columns from experiment_results: what a dashboard shows for a comparison.
_SCORECARD_RESULT_COLUMNS = [
    "metric_id",
    "metric_display_name",
    "metric_role",
    "metric_direction",
    "statistic",
    "quantile_level",
    "control_variant_id",
    "treatment_variant_id",
    "control_n",
    "treatment_n",
    "decision_control_mean",
    "decision_treatment_mean",
    "decision_absolute_effect",
    "decision_relative_effect",
    "decision_scale",
    "decision_ci_lower",
    "decision_ci_upper",
    "decision_p_value",
    "decision_method",
    "confidence_level",
    "verdict",
    "verdict_reason",
]
_STAMP = ["analysis_at", "analysis_date", "schema_version", "experiment_id"]

#: The scorecard: one row per experiment, metric and treatment, in a couple of dozen columns.
EXPERIMENT_SCORECARD = (
    *_columns(EXPERIMENT_RESULTS, _STAMP),
    Column("experiment_description", "text", "The experiment's description in the config."),
    *_columns(EXPERIMENT_DIAGNOSTICS, ["health_status"]),
    *_columns(EXPERIMENT_RESULTS, _SCORECARD_RESULT_COLUMNS),
)

#: The scorecard over time: one row per experiment, day, metric and treatment.
EXPERIMENT_SCORECARD_OVER_TIME = (
    *_columns(EXPERIMENT_RESULTS_OVER_TIME, [*_STAMP, "day_number", "as_of_date"]),
    *_columns(EXPERIMENT_RESULTS_OVER_TIME, ["slice_n_subjects", "slice_srm_status"]),
    *_columns(EXPERIMENT_RESULTS, _SCORECARD_RESULT_COLUMNS),
)

#: The scorecard per dimension value: one row per experiment, dimension value, metric, treatment.
EXPERIMENT_SCORECARD_BY_DIMENSION = (
    *_columns(EXPERIMENT_DIMENSION_RESULTS, [*_STAMP, "dimension_name", "dimension_value"]),
    *_columns(EXPERIMENT_DIMENSION_RESULTS, ["slice_n_subjects", "slice_srm_status"]),
    *_columns(EXPERIMENT_RESULTS, _SCORECARD_RESULT_COLUMNS),
)

#: The latest snapshot: replaced by every run.
#: Written by `xp plan`, not by the nightly run (analysis_py/planning.py).
EXPERIMENT_PLAN = (
    Column("analysis_at", "timestamp", "When `xp plan` ran (UTC)."),
    Column("analysis_date", "date", "The UTC date of analysis_at."),
    Column("schema_version", "bigint", "Version of these columns (CHANGELOG.md)."),
    Column("experiment_id", "text", "The proposed experiment (config)."),
    Column("metric_id", "text", "Metric id from the config."),
    Column("metric_display_name", "text", "The metric's display_name, else its id."),
    Column("metric_role", "text", "primary, secondary or guardrail (config)."),
    Column("alternative", "text", "two-sided, greater or less: one-sided tests use z_{1-α}."),
    Column(
        "status",
        "text",
        "ok, too_few_subjects, zero_denominator, zero_mean or zero_variance (see "
        "status_reason); the figures are null unless ok.",
    ),
    Column("status_reason", "text", "One line saying why the status is not ok; empty if ok."),
    Column("history_from", "timestamp", "First pseudo-exposure time read (UTC, inclusive)."),
    Column(
        "history_to",
        "timestamp",
        "End of the pseudo-exposures (exclusive): the history's end less the longest "
        "metric window, so that every subject's window had ended.",
    ),
    Column("history_days", "bigint", "Days of pseudo-exposures (plan.history_days)."),
    Column(
        "population_experiments",
        "text",
        "The experiments whose assignments made the population; empty: every assignment.",
    ),
    Column("history_subjects", "bigint", "Subjects pseudo-exposed in the history."),
    Column(
        "daily_subjects",
        "double",
        "New subjects a day the days are computed with: plan.expected_daily_subjects, else "
        "history_subjects / history_days.",
    ),
    Column("daily_subjects_source", "text", "config or history: where daily_subjects came from."),
    Column(
        "baseline_mean",
        "double",
        "Mean of the metric over the history's subjects; for a ratio metric the ratio of "
        "the numerator's and denominator's means.",
    ),
    Column(
        "baseline_variance",
        "double",
        "Variance of the metric over them (n - 1); for a ratio metric n times the ratio's "
        "delta-method variance.",
    ),
    Column(
        "covariate_correlation",
        "double",
        "ρ, the correlation of the metric with its pre-exposure covariate (null if either "
        "is constant); for a ratio metric of the ratio with its covariate ratio (delta "
        "method), as ratio CUPED adjusts it.",
    ),
    Column(
        "cuped_variance_reduction",
        "double",
        "ρ²: the share of the variance CUPED removes; CUPED leaves variance σ²(1 - ρ²).",
    ),
    Column("target_relative_effect", "double", "The lift to detect (analysis config)."),
    Column("power", "double", "The power to reach at that lift (analysis config)."),
    Column("confidence_level", "double", "The experiment's confidence level."),
    Column(
        "multiple_testing",
        "text",
        "The experiment's correction: holm, benjamini_hochberg, bonferroni or none.",
    ),
    Column(
        "family_size",
        "bigint",
        "m, the tests the correction spans (primary and secondary metrics × treatments; 1 "
        "for guardrails and without a correction).",
    ),
    Column(
        "alpha",
        "double",
        "Level each test is planned at: (1 - confidence_level) / family_size, Bonferroni's "
        "bound for every correction.",
    ),
    Column("n_treatments", "bigint", "Treatment arms, each compared with control."),
    Column("control_share", "double", "The control's traffic share (config)."),
    Column(
        "treatment_share",
        "double",
        "The smallest treatment's share: the comparison that needs most.",
    ),
    Column(
        "subjects_needed",
        "bigint",
        "Total subjects (all arms) for the target lift without CUPED: "
        "(z_α + z_power)² σ² (1/w_c + (1+r)²/w_t) / (μ r)².",
    ),
    Column("days_needed", "bigint", "Days of exposures for subjects_needed at daily_subjects."),
    Column("cuped_subjects_needed", "bigint", "The same with CUPED's variance σ²(1 - ρ²)."),
    Column("cuped_days_needed", "bigint", "Days of exposures for cuped_subjects_needed."),
)

#: The tables `xp plan` writes.
PLAN_TABLES: dict[str, tuple[Column, ...]] = {"experiment_plan": EXPERIMENT_PLAN}

LATEST_TABLES: dict[str, tuple[Column, ...]] = {
    "experiment_results": EXPERIMENT_RESULTS,
    "experiment_diagnostics": EXPERIMENT_DIAGNOSTICS,
    "experiment_results_over_time": EXPERIMENT_RESULTS_OVER_TIME,
    "experiment_dimension_results": EXPERIMENT_DIMENSION_RESULTS,
    "experiment_scorecard": EXPERIMENT_SCORECARD,
    "experiment_scorecard_over_time": EXPERIMENT_SCORECARD_OVER_TIME,
    "experiment_scorecard_by_dimension": EXPERIMENT_SCORECARD_BY_DIMENSION,
}

#: The tables with a row per slice (day or dimension value) of experiment_results' rows.
SLICED_TABLES = ("experiment_results_over_time", "experiment_dimension_results")

#: The narrow tables derived from the wide ones, for dashboards and charting tools.
SCORECARD_SOURCES = {
    "experiment_scorecard": "experiment_results",
    "experiment_scorecard_over_time": "experiment_results_over_time",
    "experiment_scorecard_by_dimension": "experiment_dimension_results",
}

#: Every run's snapshot, same columns: a run appends its rows and replaces any earlier
#: snapshot of the same analysis_date.
HISTORY_TABLES: dict[str, tuple[Column, ...]] = {
    "experiment_results_history": EXPERIMENT_RESULTS,
    "experiment_diagnostics_history": EXPERIMENT_DIAGNOSTICS,
}

#: What a nightly run (`xp run`, `xp analyze`) writes.
NIGHTLY_TABLES: dict[str, tuple[Column, ...]] = {**LATEST_TABLES, **HISTORY_TABLES}
#: Every result table, the plan's too.
TABLES: dict[str, tuple[Column, ...]] = {**NIGHTLY_TABLES, **PLAN_TABLES}

_RESULT_KEY = ["experiment_id", "metric_id", "treatment_variant_id"]
_DAY_KEY = ["experiment_id", "day_number", "metric_id", "treatment_variant_id"]
_DIMENSION_KEY = [
    "experiment_id",
    "dimension_name",
    "dimension_value",
    "metric_id",
    "treatment_variant_id",
]

#: The columns that identify a row of each table (their grain).
TABLE_KEYS: dict[str, list[str]] = {
    "experiment_results": _RESULT_KEY,
    "experiment_diagnostics": ["experiment_id"],
    "experiment_results_over_time": _DAY_KEY,
    "experiment_dimension_results": _DIMENSION_KEY,
    "experiment_scorecard": _RESULT_KEY,
    "experiment_scorecard_over_time": _DAY_KEY,
    "experiment_scorecard_by_dimension": _DIMENSION_KEY,
    "experiment_results_history": ["analysis_date", *_RESULT_KEY],
    "experiment_diagnostics_history": ["analysis_date", "experiment_id"],
    "experiment_plan": ["experiment_id", "metric_id"],
}


def column_names(table: str) -> list[str]:
    """The column names of a result table, in order."""
    return [column.name for column in TABLES[table]]


#: What each table holds, for the generated reference (Markdown).
TABLE_DESCRIPTIONS = {
    "experiment_results": """\
One row per experiment, metric and treatment variant: the sufficient statistics the row was
computed from, the unadjusted, CUPED and CUPED++ estimates side by side, and the decision
computed once from the estimate the experiment chose (`decision_*`, `verdict`,
`verdict_reason`). Read the verdict and the `decision_*` columns: every interval there
excludes 0 exactly when the p-value beside it is below 1 - `confidence_level`, after the
experiment's multiple-testing and sequential settings (docs/decisions/0010). A data problem
shows as `status` and `status_reason` (and verdict `no_result`), not as a failed run.

```sql
select experiment_id, metric_display_name, treatment_variant_id, verdict,
       decision_relative_effect, decision_ci_lower, decision_ci_upper, decision_p_value
from experiment_results
order by experiment_id, metric_role, metric_id
```""",
    "experiment_diagnostics": """\
One row per experiment: subjects per variant, the sample-ratio check and every health
check, each with a status (`ok`, `warning`, `fail`, `not_applicable`) and a one-line
reason, and `health_status`, the worst. An experiment whose health is `fail` gets verdict
`unhealthy` on every row of `experiment_results`.""",
    "experiment_results_over_time": """\
One row per experiment, day, metric and treatment: the result as it stood on that day, from
the daily sums in `fct_variant_metric_daily_statistics`. Each `xp run` adds its own day, a
snapshot of what it analysed (dated by the analysis time; a run at midnight UTC is the end
of the day before), and a rerun of a date replaces that day; a changed metric definition
starts its series again. `xp backfill` replays every day instead, as it stood at the end of
the day (UTC) with the subjects exposed and the events that had happened by then (built
from changes: a subject's metric adds y - y_prev and y² - y_prev² on each day it moves, so
no subject × day grid is needed), winsorized metrics capped at the final caps; on Spark
every run replays (docs/decisions/0015). The last day equals `experiment_results` (for
CUPED++ experiments the slices use CUPED: the cross products are built overall only).
Metrics that count only matured subjects (retention) and metrics with a lower
winsorization cap are not replayed, nor are quantile metrics (their order statistics are
computed overall only), so an experiment with such metrics has a smaller multiple-testing
family here than in `experiment_results`. A day whose own sample-ratio
check fails has verdict `unhealthy`. Plot the effect and the interval its verdict reads
(always-valid for sequential experiments) with one query:

```sql
select as_of_date, decision_relative_effect, decision_ci_lower, decision_ci_upper, verdict
from experiment_results_over_time
where experiment_id = 'checkout_redesign' and metric_id = 'revenue'
order by day_number
```""",
    "experiment_dimension_results": """\
One row per experiment, dimension value, metric and treatment, for experiments that declare
`dimensions` (columns of the assignment table; the value on the subject's first exposure
row). Each experiment keeps its `max_dimension_values` most common values (default 10) and
gathers the rest as `(other)`. Every slice is analysed like an experiment of its own, with
its own multiple-testing family and sample-ratio check; the overall rows in
`experiment_results` are unchanged. Quantile metrics are overall only: they have no rows
here.""",
    "experiment_results_history": """\
One row per analysis date, experiment, metric and treatment variant: every run's
`experiment_results`, same columns. A run replaces any earlier snapshot of its own
`analysis_date`, so a rerun of a past date leaves one snapshot for it.""",
    "experiment_diagnostics_history": """\
One row per analysis date and experiment: every run's `experiment_diagnostics`, same
columns, one snapshot per `analysis_date`.""",
    "experiment_plan": """\
One row per proposed experiment and metric: what the metric's recent history says (baseline
mean and variance, the variance CUPED would remove) and the subjects and days of exposures
the experiment needs to detect its target relative effect at its power, with and without
CUPED, after its split, arms and multiple-testing correction (docs/planning.md). Written by
`xp plan`, which replaces the whole table; the nightly run leaves it alone.

```sql
select experiment_id, metric_display_name, baseline_mean, cuped_variance_reduction,
       subjects_needed, days_needed, cuped_subjects_needed, cuped_days_needed
from experiment_plan
order by experiment_id, metric_role, metric_id
```""",
    "experiment_scorecard": """\
One row per experiment, metric and treatment variant: the narrow form of
`experiment_results` for dashboards and BI tools, with the experiment's description and
health beside each comparison. Every value equals the same column of `experiment_results`
(or `experiment_diagnostics` for `health_status`); read `verdict` and the `decision_*`
columns, whose interval and p-value agree (docs/decisions/0010).

```sql
select experiment_id, metric_display_name, metric_role, treatment_variant_id,
       decision_relative_effect, decision_ci_lower, decision_ci_upper, verdict, health_status
from experiment_scorecard
order by experiment_id, metric_role, metric_id
```""",
    "experiment_scorecard_over_time": """\
One row per experiment, day, metric and treatment: the narrow form of
`experiment_results_over_time`, one line per comparison and day, ready for a line chart
with an interval band.

```sql
select as_of_date, treatment_variant_id, decision_relative_effect,
       decision_ci_lower, decision_ci_upper, verdict
from experiment_scorecard_over_time
where experiment_id = 'checkout_redesign' and metric_id = 'revenue'
order by treatment_variant_id, day_number
```""",
    "experiment_scorecard_by_dimension": """\
One row per experiment, dimension value, metric and treatment: the narrow form of
`experiment_dimension_results`, for a bar chart per dimension.

```sql
select dimension_name, dimension_value, slice_n_subjects, decision_relative_effect,
       decision_ci_lower, decision_ci_upper, verdict
from experiment_scorecard_by_dimension
where experiment_id = 'checkout_redesign' and metric_id = 'revenue'
order by dimension_name, slice_n_subjects desc
```""",
}


def reference_markdown() -> str:
    """The column reference of every latest table (docs/result-tables.md).

    The sliced tables list only the columns they add to experiment_results.
    """
    lines = [
        "# Result tables",
        "",
        "Generated from `analysis_py/result_tables.py` by "
        "`python -m analysis_py.result_tables > docs/result-tables.md`; do not edit by hand.",
        "",
        f"Schema version {RESULT_SCHEMA_VERSION} (`schema_version` on every row; "
        "changes in CHANGELOG.md). Every run also appends its rows to "
        "`experiment_results_history` and `experiment_diagnostics_history` (same columns), "
        "replacing any earlier snapshot of the same `analysis_date`.",
    ]
    overall = {column.name for column in EXPERIMENT_RESULTS}
    # The scorecards first: they are what a dashboard should read.
    order = [
        *SCORECARD_SOURCES,
        *(t for t in LATEST_TABLES if t not in SCORECARD_SOURCES),
        *PLAN_TABLES,
    ]
    for table in order:
        columns = TABLES[table]
        sliced = table in SLICED_TABLES
        shown = [c for c in columns if c.name not in overall] if sliced else list(columns)
        lines += ["", f"## `{table}`", "", TABLE_DESCRIPTIONS[table], ""]
        if sliced:
            lines += ["The columns of `experiment_results`, and these:", ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {c.description} |" for c in shown]
    return "\n".join(lines) + "\n"


#: What each table is computed from, for dbt's lineage: a mart, or the wide table a
#: scorecard narrows.
UPSTREAM = {
    "experiment_results": MART,
    "experiment_diagnostics": MART,
    "experiment_results_over_time": DAILY_MART,
    "experiment_dimension_results": DIMENSION_MART,
    "experiment_results_history": MART,
    "experiment_diagnostics_history": MART,
    **SCORECARD_SOURCES,
    "experiment_plan": PLAN_MART,
}

#: The enabling condition of a mart whose config() says more than xp_enabled().
_MART_ENABLED = {
    DIMENSION_MART: "xp_enabled() and xp_has_dimensions()",
    PLAN_MART: "xp_plan_enabled()",
}

#: Hours after which the freshness test warns that no run has written results.
FRESHNESS_WARN_AFTER_HOURS = 36

_DBT_HEADER = (
    "# Generated from analysis_py/result_tables.py by `python -m analysis_py.result_tables "
    "--dbt models/results`;\n# do not edit by hand (docs/decisions/0012).\n"
)


def _dbt_model(table: str) -> dict[str, object]:
    """The dbt properties of one result table: description, columns, key and freshness."""
    tests: list[object] = [
        {"xp_result_key_is_unique": {"arguments": {"columns": TABLE_KEYS[table]}}}
    ]
    if table == "experiment_diagnostics":
        recent = {"column": "analysis_at", "warn_after_hours": FRESHNESS_WARN_AFTER_HOURS}
        tests.append({"xp_result_is_recent": {"arguments": recent, "config": {"severity": "warn"}}})
    return {
        "name": table,
        "description": TABLE_DESCRIPTIONS[table],
        "config": {"materialized": "xp_analysis_output", "tags": ["xp_results"]},
        "columns": [
            {"name": c.name, "description": c.description, "data_type": c.type}
            for c in TABLES[table]
        ],
        "data_tests": tests,
    }


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line text as YAML block scalars, so the generated file reads well."""

    def ignore_aliases(self, data: object) -> bool:
        """Repeat shared lists in full rather than as YAML anchors."""
        return True


_BlockDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def dbt_files() -> dict[str, str]:
    """The dbt files that declare the result tables to dbt (models/results/).

    One model per table, materialized as a no-op (the analysis step writes the table), and
    their properties. The host project then sees them in its docs and lineage and can ref
    them.
    """
    files = {
        "_results__models.yml": _DBT_HEADER
        + yaml.dump(
            {"version": 2, "models": [_dbt_model(table) for table in TABLES]},
            Dumper=_BlockDumper,
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
    }
    for table, upstream in UPSTREAM.items():
        if upstream in TABLES:
            dependency = f"-- depends_on: {{{{ ref('{upstream}') }}}}\n"
        else:
            # A mart exists only when it is enabled: with the experiment config, and for
            # the dimension mart only when an experiment declares dimensions.
            condition = _MART_ENABLED.get(upstream, "xp_enabled()")
            dependency = (
                f"{{% if {condition} %}}\n-- depends_on: {{{{ ref('{upstream}') }}}}\n"
                "{% endif %}\n"
            )
        files[f"{table}.sql"] = (
            "{#- Written by the analysis step (xp analyze), not by dbt: this model declares the "
            "table to dbt. -#}\n" + dependency
        )
    return files


def _write_dbt_files(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in dbt_files().items():
        (directory / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--dbt"] and len(sys.argv) == 3:
        _write_dbt_files(Path(sys.argv[2]))
    else:
        print(reference_markdown(), end="")
