"""From the statistics mart to the two result tables. Pure: no connection, no files.

``analyze`` pairs every treatment row of the mart with its control row and runs the
unadjusted and CUPED Welch tests on whole columns at once, then computes the per-experiment
diagnostics (sample ratio mismatch, excluded subjects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis_py import defaults
from analysis_py.config import ExperimentConfig
from analysis_py.marts import (
    CROSS_PRODUCTS,
    MART,
    MART_COLUMNS,
    RATIO_SUM_COLUMNS,
    SUM_COLUMNS,
)
from analysis_py.pipeline.decisions import (
    with_decisions,
    with_health_verdicts,
    with_slice_health_verdicts,
)
from analysis_py.pipeline.health import health_checks
from analysis_py.pipeline.multi_covariate import multi_covariate_arms
from analysis_py.result_tables import RESULT_SCHEMA_VERSION, column_names
from analysis_py.stats.sufficient_statistics import (
    RatioStatistics,
    SufficientStatistics,
    _divide,
)
from analysis_py.stats.ttest import (
    ESTIMATE_FIELDS,
    EffectEstimate,
    cuped_test,
    mean_interval,
    multi_cuped_test,
    unadjusted_test,
)

#: The columns of a comparison that come from the config, in the result tables' order.
COMPARISON_SETTINGS = (
    "experiment_id",
    "metric_id",
    "metric_display_name",
    "metric_description",
    "metric_role",
    "metric_direction",
    "alternative",
    "control_variant_id",
    "treatment_variant_id",
    "confidence_level",
    "cuped_mode",
    "multiple_testing",
    "sequential",
    "sequential_tuning",
    "bayes_prior_sd",
    "power_target_relative_effect",
    "power",
    "noninferiority_margin",
)
#: The settings that are the same for all of an experiment's comparisons.
EXPERIMENT_SETTINGS = (
    "experiment_id",
    "control_variant_id",
    "confidence_level",
    "cuped_mode",
    "multiple_testing",
    "sequential",
    "sequential_tuning",
    "bayes_prior_sd",
    "power_target_relative_effect",
    "power",
)
COMPARISON_TEXT_SETTINGS = (
    "experiment_id",
    "metric_id",
    "metric_display_name",
    "metric_description",
    "metric_role",
    "metric_direction",
    "alternative",
    "control_variant_id",
    "treatment_variant_id",
    "cuped_mode",
    "multiple_testing",
)


def needs_cross_products(config: ExperimentConfig) -> bool:
    """True when an experiment uses CUPED++, which reads the cross-products mart."""
    return any(e.analysis.cuped == "multi" for e in config.experiments)


class AnalysisError(ValueError):
    """The statistics mart cannot be analysed as it stands; the message says why."""


@dataclass(frozen=True)
class AnalysisResults:
    results: pd.DataFrame
    diagnostics: pd.DataFrame
    over_time: pd.DataFrame | None = None


def analyze(
    mart: pd.DataFrame,
    config: ExperimentConfig,
    run_id: str,
    analysis_at: datetime,
    cross_products: pd.DataFrame | None = None,
) -> AnalysisResults:
    """Analyse every experiment of ``config`` from the rows of the statistics mart (and, for
    experiments with CUPED++, of the cross-products mart).
    """
    mart = _checked_mart(mart, config)
    if needs_cross_products(config) and cross_products is None:
        raise AnalysisError(f"CUPED++ (analysis.cuped: multi) needs {CROSS_PRODUCTS}")
    results = _comparisons(mart, config, cross_products)
    diagnostics = health_checks(_diagnostics(mart, config), results, mart)
    results = with_health_verdicts(results, diagnostics)
    for frame in (results, diagnostics):
        _stamp(frame, run_id, analysis_at, config)
    return AnalysisResults(
        results=_finite(results[column_names("experiment_results")]),
        diagnostics=_finite(diagnostics[column_names("experiment_diagnostics")]),
    )


def analyze_slices(
    slices: pd.DataFrame,
    config: ExperimentConfig,
    run_id: str,
    analysis_at: datetime,
    slice_columns: tuple[str, ...],
    table: str,
) -> pd.DataFrame:
    """Results per slice (exposure day, or dimension value) from a sliced statistics mart,
    with each slice's sample-ratio check; columns as in ``table``'s contract.
    """
    slices = _numeric_sums(slices)
    results = _comparisons(slices, config, None, slice_columns)
    one_metric = slices.sort_values("n", ascending=False, kind="stable").drop_duplicates(
        ["experiment_id", *slice_columns, "variant_id"]
    )
    srm = sample_ratio(one_metric, ["experiment_id", *slice_columns])[
        ["experiment_id", *slice_columns, "n_subjects", "srm_p_value", "srm_status"]
    ]
    results = results.merge(
        srm.rename(
            columns={
                "n_subjects": "slice_n_subjects",
                "srm_p_value": "slice_srm_p_value",
                "srm_status": "slice_srm_status",
            }
        ),
        on=["experiment_id", *slice_columns],
        how="left",
    )
    results = with_slice_health_verdicts(results)
    _stamp(results, run_id, analysis_at, config)
    return _finite(results[column_names(table)])


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ±inf in its float columns as NaN (NULL in the tables): nothing
    non-finite is written; the row's status says what went wrong.
    """
    floats = [c for c in frame.columns if frame[c].dtype == np.float64]
    values = frame[floats].to_numpy()
    infinite = np.isinf(values)
    if not infinite.any():
        return frame
    frame = frame.copy()
    frame[floats] = np.where(infinite, np.nan, values)
    return frame


def _stamp(
    frame: pd.DataFrame, run_id: str, analysis_at: datetime, config: ExperimentConfig
) -> None:
    def text(value: str) -> pd.Series:  # a plain object column: no Arrow conversion
        return pd.Series(np.full(len(frame), value, dtype=object), index=frame.index, dtype=object)

    frame.insert(0, "run_id", text(run_id))
    frame.insert(1, "analysis_at", pd.Timestamp(analysis_at))
    frame.insert(2, "analysis_date", pd.Timestamp(analysis_at).date())
    frame.insert(3, "schema_version", RESULT_SCHEMA_VERSION)
    frame["config_hash"] = text(config.hash)


def sample_ratio(variants: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Pearson χ² of observed subjects per variant against the expected split, per group
    of ``keys`` (one row per group and variant in ``variants``, with n and expected_share).
    """
    # Group codes in order of first appearance, then numpy sums per code.
    codes = variants.groupby(keys, sort=False).ngroup().to_numpy()
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    n = variants["n"].to_numpy(dtype=float)
    total = np.bincount(codes, weights=n, minlength=n_groups)
    expected = variants["expected_share"].to_numpy(dtype=float) * total[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (n - expected) ** 2 / expected, 0.0)
    first_rows = np.unique(codes, return_index=True)[1]
    grouped = variants.iloc[first_rows][keys].reset_index(drop=True)
    grouped["n_subjects"] = total
    grouped["n_variants"] = np.bincount(codes, minlength=n_groups)
    grouped["srm_chi_square"] = np.bincount(codes, weights=terms, minlength=n_groups)
    has_data = grouped["n_subjects"].to_numpy() > 0
    p_value = stats.chi2.sf(grouped["srm_chi_square"], grouped["n_variants"] - 1)
    grouped["srm_p_value"] = np.where(has_data, p_value, np.nan)
    grouped["srm_chi_square"] = np.where(has_data, grouped["srm_chi_square"], np.nan)
    grouped["srm_status"] = np.select(
        [~has_data, grouped["srm_p_value"].to_numpy() < defaults.SRM_P_VALUE_THRESHOLD],
        ["not_applicable", "fail"],
        "ok",
    )
    grouped["n_subjects"] = grouped["n_subjects"].astype("int64")
    return grouped


def _checked_mart(mart: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    missing = [c for c in MART_COLUMNS if c not in mart.columns]
    if missing:
        raise AnalysisError(
            f"{MART} lacks the column(s) {', '.join(missing)}: rebuild it with "
            "`dbt build` from this release"
        )
    hashes = set(mart["config_hash"].unique())
    if hashes != {config.hash}:
        raise AnalysisError(
            f"{MART} was built from another experiment config (hash {', '.join(sorted(hashes))}"
            f", {config.path} has {config.hash}): run `xp run`, or `dbt build` with "
            '`--vars "$(xp dbt-vars)"`, so that dbt and the analysis read the same config'
        )
    mart = _numeric_sums(mart)

    # A missing row (experiment, variant, metric) is found where _comparisons looks the
    # arms up, as every one of them is an arm of a comparison.
    metric_codes, metric_ids = pd.factorize(mart["metric_id"])
    every_subject = ~np.array([config.matured_subjects_only(m) for m in metric_ids], dtype=bool)[
        metric_codes
    ]
    n_per_metric = mart[every_subject].groupby(["experiment_id", "variant_id"])["n"].nunique()
    inconsistent = n_per_metric[n_per_metric > 1]
    if not inconsistent.empty:
        experiment_id, variant_id = inconsistent.index[0]
        raise AnalysisError(
            f"{MART}: experiment '{experiment_id}', variant '{variant_id}' "
            "has a different n for different metrics; the mart is corrupt"
        )
    return mart


def _numeric_sums(mart: pd.DataFrame) -> pd.DataFrame:
    """The mart with its sums as floats (engines return integers or decimals for some)."""
    mart = mart.copy(deep=False)
    for column in (*SUM_COLUMNS, *RATIO_SUM_COLUMNS):
        if column in mart.columns and mart[column].dtype != np.float64:
            mart[column] = pd.to_numeric(mart[column]).astype(float)
    return mart


def _ordered_comparisons(config: ExperimentConfig) -> pd.DataFrame:
    """One row per experiment, metric and treatment, in config order. Built from one value
    per experiment and one per experiment and metric, repeated over their rows with numpy:
    row tuples cost 20 ms at 10,000 comparisons.
    """
    experiment_rows: list[tuple[Any, ...]] = []
    metric_ids: list[str] = []
    roles: list[str] = []
    margins: list[float | None] = []
    rows_per_experiment: list[int] = []
    rows_per_metric: list[int] = []
    treatment_ids: list[str] = []
    for e in config.experiments:
        analysis = e.analysis
        experiment_rows.append(
            (  # in the order of EXPERIMENT_SETTINGS
                e.id,
                e.control,
                e.confidence_level,
                analysis.cuped,
                analysis.multiple_testing,
                analysis.sequential,
                analysis.sequential_tuning,
                analysis.bayesian_prior_sd if analysis.bayesian else None,
                analysis.target_relative_effect,
                analysis.power,
            )
        )
        treatments = list(e.treatments)
        rows_per_experiment.append(len(e.metrics) * len(treatments))
        rows_per_metric.extend([len(treatments)] * len(e.metrics))
        treatment_ids.extend(treatments * len(e.metrics))
        experiment_roles = [e.role(metric_id) for metric_id in e.metrics]
        metric_ids.extend(e.metrics)
        roles.extend(experiment_roles)
        margins.extend(
            [
                analysis.noninferiority_margin if role == "guardrail" else None
                for role in experiment_roles
            ]
        )
    per_experiment = dict(zip(EXPERIMENT_SETTINGS, zip(*experiment_rows, strict=True), strict=True))
    # The metric's own settings by lookup on its code, not per row.
    metric_codes, unique_ids = pd.factorize(pd.Series(metric_ids, dtype=object))
    metrics = [config.metrics[metric_id] for metric_id in unique_ids]
    per_metric = {
        "metric_id": metric_ids,
        "metric_display_name": np.array([m.label for m in metrics], dtype=object)[metric_codes],
        "metric_description": np.array([m.description for m in metrics], dtype=object)[
            metric_codes
        ],
        "metric_role": roles,
        "metric_direction": np.array([m.direction for m in metrics], dtype=object)[metric_codes],
        "alternative": np.array([m.alternative for m in metrics], dtype=object)[metric_codes],
        "noninferiority_margin": margins,
    }

    def column(name: str, values: Sequence[Any], repeats: list[int]) -> Any:
        # Strings stay plain object columns: converting 10,000s of them to Arrow strings
        # costs more than all the lookups done on them here.
        dtype = (
            object if name in COMPARISON_TEXT_SETTINGS else bool if name == "sequential" else float
        )
        repeated = np.repeat(np.array(values, dtype=dtype), repeats)
        return pd.Series(repeated, dtype=object) if dtype is object else repeated

    columns = {
        name: column(name, values, rows_per_experiment) for name, values in per_experiment.items()
    }
    columns |= {name: column(name, values, rows_per_metric) for name, values in per_metric.items()}
    columns["treatment_variant_id"] = pd.Series(np.array(treatment_ids, dtype=object), dtype=object)
    return pd.DataFrame({name: columns[name] for name in COMPARISON_SETTINGS})


def _comparisons(
    mart: pd.DataFrame,
    config: ExperimentConfig,
    cross_products: pd.DataFrame | None,
    slice_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per experiment, metric and treatment (and slice, e.g. day or dimension
    value, when ``slice_columns`` name the mart's slice keys), with every estimate and
    decision column. Slices are analysed like experiments of their own: their own
    multiple-testing family, and CUPED instead of CUPED++ (cross products are overall only).
    """
    sum_columns = [c for c in (*SUM_COLUMNS, *RATIO_SUM_COLUMNS) if c in mart.columns]
    frame = _ordered_comparisons(config)
    if slice_columns:
        slices = mart[["experiment_id", *slice_columns]].drop_duplicates()
        frame = frame.merge(slices, on="experiment_id", how="inner")
        frame.loc[frame["cuped_mode"] == "multi", "cuped_mode"] = "single"
        # A sliced mart may leave metrics out (the daily one does not replay retention).
        frame = frame[frame["metric_id"].isin(set(mart["metric_id"]))].reset_index(drop=True)
    metric_codes, metric_ids = pd.factorize(frame["metric_id"].to_numpy(dtype=object))
    is_ratio = np.array([config.metrics[m].is_ratio for m in metric_ids], dtype=bool)[metric_codes]
    # Ratio metrics are not part of CUPED++: ratio CUPED decides for them.
    frame.loc[is_ratio & (frame["cuped_mode"] == "multi").to_numpy(), "cuped_mode"] = "single"
    frame["family"] = frame["experiment_id"]
    for column in slice_columns:
        frame["family"] = frame["family"] + "\x1f" + frame[column].astype(str)
    # Each arm's sums by row position in the mart (an index lookup, not two merges).
    keys = ["experiment_id", *slice_columns, "metric_id"]
    mart_rows = pd.MultiIndex.from_frame(mart[[*keys, "variant_id"]])
    if not mart_rows.is_unique:
        raise AnalysisError(
            f"the statistics mart has more than one row for the same "
            f"{', '.join(keys)} and variant_id; rebuild it with `xp run`"
        )
    arm_sums = {}
    for arm in ("control", "treatment"):
        rows = mart_rows.get_indexer(pd.MultiIndex.from_frame(frame[[*keys, f"{arm}_variant_id"]]))
        if not slice_columns and (rows < 0).any():  # a sliced mart may lack slices
            missing = frame.iloc[np.flatnonzero(rows < 0)[0]]
            raise AnalysisError(
                f"{MART} has no row for experiment '{missing['experiment_id']}', variant "
                f"'{missing[f'{arm}_variant_id']}', metric '{missing['metric_id']}': rebuild "
                "it with `xp run`"
            )
        for column in sum_columns:
            arm_sums[f"{arm}_{column}"] = np.where(
                rows >= 0, mart[column].to_numpy(dtype=float)[rows], np.nan
            )
    frame = pd.concat([frame, pd.DataFrame(arm_sums, index=frame.index)], axis=1)

    # The estimates are collected as arrays and joined to the frame once: adding ~100
    # columns one by one costs more than computing them.
    control = SufficientStatistics.from_columns(frame, "control_")
    treatment = SufficientStatistics.from_columns(frame, "treatment_")
    level = frame["confidence_level"].to_numpy()
    alternative = frame["alternative"].to_numpy(dtype=object)
    with np.errstate(all="ignore"):  # non-finite sums get a status of their own below
        estimates = _estimates(control, treatment, level, alternative)
        if is_ratio.any():
            # Ratio of means by the delta method, and ratio CUPED on the covariate ratio.
            ratios = frame[is_ratio]
            ratio_estimates = _estimates(
                RatioStatistics.from_columns(ratios, "control_"),
                RatioStatistics.from_columns(ratios, "treatment_"),
                ratios["confidence_level"].to_numpy(),
                alternative[is_ratio],
            )
            for name, values in ratio_estimates.items():
                estimates[name][is_ratio] = values
    estimates["cuped_fallback_reason"] = _cuped_fallback(frame, estimates, is_ratio)

    is_multi = (frame["cuped_mode"] == "multi").to_numpy()
    for name in (*ESTIMATE_FIELDS, "variance_reduction_vs_cuped"):
        estimates["cupedpp_" + name] = np.full(len(frame), np.nan)
    if is_multi.any():
        multi = frame[is_multi]
        control_multi, treatment_multi = multi_covariate_arms(multi, mart, cross_products, config)
        estimate = multi_cuped_test(
            control_multi,
            treatment_multi,
            multi["confidence_level"].to_numpy(),
            multi["alternative"].to_numpy(dtype=object),
        )
        for name in ESTIMATE_FIELDS:
            estimates["cupedpp_" + name][is_multi] = getattr(estimate, name)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimates["cupedpp_variance_reduction_vs_cuped"][is_multi] = (
                1
                - estimate.absolute_effect_std_error**2
                / estimates["cuped_absolute_effect_std_error"][is_multi] ** 2
            )

    for arm in ("control", "treatment"):
        frame[f"{arm}_n"] = frame[f"{arm}_n"].astype("int64")
    frame = pd.concat([frame, pd.DataFrame(estimates, index=frame.index)], axis=1)
    status, status_reason = _status(frame, is_ratio)
    frame = pd.concat(
        [
            frame,
            pd.DataFrame(
                {"status": status, "status_reason": status_reason}, index=frame.index, dtype=object
            ),
        ],
        axis=1,
    )
    return with_decisions(frame)


def _estimate_columns(estimate: EffectEstimate, prefix: str) -> dict[str, np.ndarray]:
    """The estimate's fields as columns ``prefix + field`` (writable float arrays)."""
    return {
        prefix + name: np.array(getattr(estimate, name), dtype=float) for name in ESTIMATE_FIELDS
    }


def _estimates(
    control: SufficientStatistics | RatioStatistics,
    treatment: SufficientStatistics | RatioStatistics,
    level: np.ndarray,
    alternative: np.ndarray,
) -> dict[str, np.ndarray]:
    """The unadjusted and CUPED estimate columns, and each arm's mean interval."""
    cuped = cuped_test(control, treatment, level, alternative)
    columns = {
        **_estimate_columns(unadjusted_test(control, treatment, level, alternative), ""),
        **_estimate_columns(cuped, "cuped_"),
        "cuped_theta": np.array(cuped.theta, dtype=float),
        "cuped_variance_reduction": np.array(cuped.variance_reduction, dtype=float),
    }
    for arm, sums in (("control", control), ("treatment", treatment)):
        lower, upper = mean_interval(sums, level)
        columns[f"{arm}_mean_ci_lower"] = np.array(lower, dtype=float)
        columns[f"{arm}_mean_ci_upper"] = np.array(upper, dtype=float)
    return columns


def _cuped_fallback(
    frame: pd.DataFrame, estimates: dict[str, np.ndarray], is_ratio: np.ndarray
) -> np.ndarray:
    """Where CUPED cannot adjust, its columns take the unadjusted estimate (θ = 0) and the
    reason is returned, per row ('' where CUPED adjusted).

    A ratio metric whose arm has no pre-exposure denominator (Σw = 0) has no covariate ratio;
    a metric whose covariate does not vary (no pre-exposure data) gets θ = 0 anyway.
    """
    reason = np.full(len(frame), "", dtype=object)
    finite = np.isfinite(estimates["absolute_effect"]) & np.isfinite(
        estimates["absolute_effect_std_error"]
    )
    broken = finite & ~(
        np.isfinite(estimates["cuped_absolute_effect"])
        & np.isfinite(estimates["cuped_absolute_effect_std_error"])
    )
    for name in ESTIMATE_FIELDS:
        estimates["cuped_" + name][broken] = estimates[name][broken]
    estimates["cuped_theta"][broken] = 0.0
    estimates["cuped_variance_reduction"][broken] = 0.0
    for arm in ("treatment", "control"):
        if f"{arm}_sum_w" in frame.columns:
            no_denominator = broken & is_ratio & (frame[f"{arm}_sum_w"].to_numpy() == 0)
            reason[no_denominator] = (
                f"no pre-exposure data in the {arm} arm (its covariate denominator sums to 0): "
                "CUPED falls back to the unadjusted ratio"
            )
    reason[broken & (reason == "")] = (
        "the CUPED estimate is not finite: CUPED falls back to the unadjusted estimate"
    )
    unvarying = finite & ~broken & (estimates["cuped_theta"] == 0)
    reason[unvarying] = (
        "the pre-exposure covariate does not vary (no pre-exposure data): "
        "CUPED equals the unadjusted estimate"
    )
    return reason


#: Relative shortfall of n·Σv² below (Σv)² tolerated as rounding before the sums are called
#: impossible (they imply a negative variance).
NEGATIVE_VARIANCE_TOLERANCE = 1e-7
#: The (sum of squares, sum) pairs whose implied variance must not be negative.
_VARIANCE_SUMS = {
    "y": ("sum_y_squares", "sum_y"),
    "x": ("sum_x_squares", "sum_x"),
    "d": ("sum_d_squares", "sum_d"),
    "w": ("sum_w_squares", "sum_w"),
}


def _status(frame: pd.DataFrame, is_ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A status per comparison, first matching condition wins, with a one-line reason.

    non_finite_input (a sum is NaN or infinite, or the moments overflow) and
    negative_variance (sums no real data can give) come first: such a row's figures are not
    to be read. Then too_few_subjects, zero_variance and zero_control_mean.
    """
    metric_ids = frame["metric_id"].to_numpy(dtype=object)
    non_finite = np.full(len(frame), "", dtype=object)
    negative = np.full(len(frame), "", dtype=object)
    for arm in ("control", "treatment"):
        n = frame[f"{arm}_n"].to_numpy(dtype=float)
        for column in (*SUM_COLUMNS, *RATIO_SUM_COLUMNS):
            if f"{arm}_{column}" not in frame.columns:
                continue
            values = frame[f"{arm}_{column}"].to_numpy(dtype=float)
            applies = is_ratio if column in RATIO_SUM_COLUMNS else np.ones(len(frame), bool)
            rows = np.flatnonzero(applies & ~np.isfinite(values) & (non_finite == ""))
            non_finite[rows] = [
                f"the {arm} arm's {column} for metric '{metric_ids[i]}' is {values[i]}: a value "
                "in the data is NaN or infinite, or the sums overflow"
                for i in rows
            ]
        for variable, (squares, total) in _VARIANCE_SUMS.items():
            if f"{arm}_{squares}" not in frame.columns:
                continue
            sum_squares = frame[f"{arm}_{squares}"].to_numpy(dtype=float)
            sums = frame[f"{arm}_{total}"].to_numpy(dtype=float)
            with np.errstate(all="ignore"):
                square_of_sum = sums * np.nan_to_num(_divide(sums, n))  # n = 0: 0
                centred = sum_squares - square_of_sum
                impossible = centred < -NEGATIVE_VARIANCE_TOLERANCE * np.abs(sum_squares)
            applies = is_ratio if variable in ("d", "w") else np.ones(len(frame), bool)
            overflow = (
                applies & np.isfinite(sums) & np.isfinite(sum_squares) & ~np.isfinite(centred)
            )
            rows = np.flatnonzero(overflow & (non_finite == ""))
            non_finite[rows] = [
                f"the {arm} arm's {total}² for metric '{metric_ids[i]}' "
                "overflows a double: the values are too large"
                for i in rows
            ]
            rows = np.flatnonzero(applies & impossible & ~overflow & (negative == ""))
            negative[rows] = [
                f"the {arm} arm's sums for metric '{metric_ids[i]}' imply a negative variance "
                f"of {variable} ({squares} = {sum_squares[i]:.6g} < {total}² / n = "
                f"{square_of_sum[i]:.6g}): the statistics mart is corrupt"
                for i in rows
            ]
    smallest_arm = np.minimum(frame["control_n"], frame["treatment_n"]).to_numpy()
    too_few = smallest_arm < defaults.MIN_SUBJECTS_PER_ARM
    moments = [
        frame[c].to_numpy(dtype=float)
        for c in ("control_mean", "treatment_mean", "absolute_effect_std_error")
    ]
    overflow = ~too_few & (non_finite == "") & ~np.all([np.isfinite(m) for m in moments], axis=0)
    non_finite[overflow] = "the metric's moments overflow (values too large for doubles)"
    is_non_finite, is_negative = non_finite != "", negative != ""
    zero_variance = ~too_few & ~(frame["absolute_effect_std_error"].to_numpy() > 0)
    zero_control = ~too_few & ~zero_variance & (frame["control_mean"].to_numpy() == 0)
    too_few_reason = np.full(len(frame), "", dtype=object)
    too_few_reason[too_few] = [
        f"an arm has {int(n)} subject(s); at least {defaults.MIN_SUBJECTS_PER_ARM} per arm "
        "are needed"
        for n in smallest_arm[too_few]
    ]
    conditions = [is_non_finite, is_negative, too_few, zero_variance, zero_control]
    status = np.select(
        conditions,
        [
            "non_finite_input",
            "negative_variance",
            "too_few_subjects",
            "zero_variance",
            "zero_control_mean",
        ],
        "ok",
    )
    reason = np.select(
        conditions,
        [
            non_finite,
            negative,
            too_few_reason,
            "the metric has the same value for every subject of both arms",
            "the control mean is 0, so the relative effect is undefined",
        ],
        "",
    )
    return status.astype(object), reason.astype(object)


def _diagnostics(mart: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    # n is the same for every metric of a variant that counts every subject (checked above);
    # metrics counting only matured subjects have fewer. Keep the largest per variant.
    # Grouped by numpy over one code per (experiment, variant): a pandas groupby costs more.
    experiment_codes, experiment_ids = pd.factorize(mart["experiment_id"])
    variant_codes, variant_ids = pd.factorize(mart["variant_id"])
    arm_codes = experiment_codes * len(variant_ids) + variant_codes
    largest_n = np.zeros(len(experiment_ids) * len(variant_ids))
    np.maximum.at(largest_n, arm_codes, mart["n"].to_numpy(dtype=float))
    arms, first_rows = np.unique(arm_codes, return_index=True)
    # Python lists, not pandas operations: one small row per experiment, 1,000s of them.
    # per_arm[(experiment_id, variant_id)] = (n, expected_share, n_multi, n_unknown)
    per_arm = dict(
        zip(
            zip(
                np.asarray(experiment_ids, dtype=object)[arms // len(variant_ids)],
                np.asarray(variant_ids, dtype=object)[arms % len(variant_ids)],
                strict=True,
            ),
            zip(
                largest_n[arms].tolist(),
                *(
                    mart[c].to_numpy()[first_rows].tolist()
                    for c in (
                        "expected_share",
                        "n_multi_variant_subjects",
                        "n_unknown_variant_subjects",
                    )
                ),
                strict=True,
            ),
            strict=True,
        )
    )
    experiments, variant_rows = [], []
    for e in config.experiments:
        arm_rows = [(v, *per_arm[(e.id, v)]) for v in e.variants]
        n = [row[1] for row in arm_rows]
        experiments.append(
            (
                e.id,
                len(e.variants),
                sum(n),
                min(n),
                *arm_rows[0][3:],
                ", ".join([f"{v}={int(k)}" for v, k, *_ in arm_rows]),
                ", ".join([f"{v}={share:g}" for v, _, share, *_ in arm_rows]),
            )
        )
        variant_rows += [(e.id, v, k, share) for v, k, share, *_ in arm_rows]
    names = [
        "experiment_id",
        "n_variants",
        "n_analysed_subjects",
        "n_smallest_arm",
        "n_multi_variant_subjects",
        "n_unknown_variant_subjects",
        "subjects_per_variant",
        "expected_shares",
    ]
    text = ("experiment_id", "subjects_per_variant", "expected_shares")
    per_experiment = pd.DataFrame(
        {
            name: np.array(column, dtype=object if name in text else "int64")
            for name, column in zip(names, zip(*experiments, strict=True), strict=True)
        }
    )

    # One SRM row per experiment, in config order: the order of per_experiment.
    srm = sample_ratio(
        pd.DataFrame(variant_rows, columns=["experiment_id", "variant_id", "n", "expected_share"]),
        ["experiment_id"],
    )
    threshold = defaults.SRM_P_VALUE_THRESHOLD
    per_experiment["srm_chi_square"] = srm["srm_chi_square"].to_numpy()
    per_experiment["srm_p_value"] = srm["srm_p_value"].to_numpy()
    per_experiment["srm_status"] = srm["srm_status"].to_numpy(dtype=object)
    per_experiment["srm_threshold"] = threshold
    per_experiment["srm_reason"] = pd.Series(
        [
            "no analysed subjects yet"
            if status == "not_applicable"
            else f"sample ratio mismatch: subjects per variant ({subjects}) are unlikely under the "
            f"configured split (p = {p:.2g} < {threshold:g}); results are not trustworthy "
            "until the cause is found"
            if status == "fail"
            else f"subjects per variant match the configured split (p = {p:.2g})"
            for status, subjects, p in zip(
                per_experiment["srm_status"],
                per_experiment["subjects_per_variant"],
                per_experiment["srm_p_value"],
                strict=True,
            )
        ],
        index=per_experiment.index,
        dtype=object,
    )

    exposed = (
        per_experiment["n_analysed_subjects"]
        + per_experiment["n_multi_variant_subjects"]
        + per_experiment["n_unknown_variant_subjects"]
    )
    per_experiment["multi_variant_share"] = np.where(
        exposed > 0,
        per_experiment["n_multi_variant_subjects"] / exposed.where(exposed > 0, 1),
        np.nan,
    )
    return per_experiment
