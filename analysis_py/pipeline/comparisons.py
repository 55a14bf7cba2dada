"""From the statistics mart to the result tables' rows. Pure: no connection, no files.

``analyze`` checks the mart, pairs every treatment row with its control row and runs the
unadjusted and CUPED Welch tests (and CUPED++ where asked) on whole columns at once, gives
each comparison its status and decision, then the per-experiment diagnostics and health
checks. ``analyze_slices`` does the same per slice (a day, a dimension value).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from analysis_py.config import ExperimentConfig
from analysis_py.errors import AnalysisError
from analysis_py.marts import (
    CROSS_PRODUCTS,
    MART,
    MART_COLUMNS,
    RATIO_SUM_COLUMNS,
    SUM_COLUMNS,
)
from analysis_py.pipeline.comparison_settings import comparison_settings
from analysis_py.pipeline.decisions import (
    one_or_each,
    with_decisions,
    with_health_verdicts,
    with_slice_health_verdicts,
)
from analysis_py.pipeline.diagnostics import experiment_diagnostics
from analysis_py.pipeline.health import sample_ratio
from analysis_py.pipeline.multi_covariate import multi_covariate_arms
from analysis_py.pipeline.quantiles import (
    NOT_CUPED_REASON,
    quantile_arms,
    quantile_estimates,
    quantile_levels,
    quantile_mart_problem,
    quantile_statuses,
)
from analysis_py.pipeline.statuses import comparison_status
from analysis_py.result_tables import RESULT_SCHEMA_VERSION, column_names
from analysis_py.stats.quantile import QuantileStatistics
from analysis_py.stats.sufficient_statistics import RatioStatistics, SufficientStatistics
from analysis_py.stats.ttest import (
    ESTIMATE_FIELDS,
    EffectEstimate,
    cuped_test,
    mean_interval,
    multi_cuped_test,
    unadjusted_test,
)


def needs_cross_products(config: ExperimentConfig) -> bool:
    """True when an experiment uses CUPED++, which reads the cross-products mart."""
    return any(e.analysis.cuped == "multi" for e in config.experiments)


@dataclass(frozen=True)
class AnalysisResults:
    """The rows of the result tables from one analysis.

    Attributes:
        results: experiment_results: one row per experiment, metric and treatment.
        diagnostics: experiment_diagnostics: one row per experiment.
        over_time: experiment_results_over_time, once the daily slices are analysed.
    """

    results: pd.DataFrame
    diagnostics: pd.DataFrame
    over_time: pd.DataFrame | None = None


def analyze(
    mart: pd.DataFrame,
    config: ExperimentConfig,
    run_id: str,
    analysis_at: datetime,
    cross_products: pd.DataFrame | None = None,
    *,
    quantiles: pd.DataFrame | None = None,
) -> AnalysisResults:
    """Analyse every experiment of ``config`` from the rows of its marts.

    Args:
        mart: The statistics mart's rows.
        config: The experiment config the mart was built from.
        run_id: The run's id, stamped on every row.
        analysis_at: The analysis time (UTC), stamped on every row.
        cross_products: The cross-products mart's rows; needed when an experiment uses
            CUPED++.
        quantiles: The quantile mart's rows; needed when an experiment has a quantile
            metric.

    Returns:
        The rows of experiment_results and experiment_diagnostics, in their contract's
        columns.

    Raises:
        AnalysisError: The mart cannot be analysed (see :func:`checked_mart`), a
            comparison uses CUPED++ and ``cross_products`` is None, or a quantile metric's
            arm has no row in ``quantiles``.
    """
    mart = checked_mart(mart, config)
    results = _comparisons(mart, config, cross_products, quantiles=quantiles)
    diagnostics = experiment_diagnostics(mart, config, results)
    results = _stamped(with_health_verdicts(results, diagnostics), run_id, analysis_at, config)
    diagnostics = _stamped(diagnostics, run_id, analysis_at, config)
    return AnalysisResults(
        results=_finite(_columns(results, column_names("experiment_results"))),
        diagnostics=_finite(_columns(diagnostics, column_names("experiment_diagnostics"))),
    )


def analyze_slices(
    slices: pd.DataFrame,
    config: ExperimentConfig,
    run_id: str,
    analysis_at: datetime,
    *,
    slice_columns: tuple[str, ...],
    table: str,
) -> pd.DataFrame:
    """Results per slice (exposure day, or dimension value) from a sliced statistics mart.

    Slices are analysed like experiments of their own: their own multiple-testing family,
    and CUPED instead of CUPED++ (cross products are overall only). Each slice has its own
    sample-ratio check, and its rows are unhealthy when it fails.

    Args:
        slices: The sliced mart's rows.
        config: The experiment config.
        run_id: The run's id, stamped on every row.
        analysis_at: The analysis time (UTC), stamped on every row.
        slice_columns: The mart's columns that name a slice.
        table: The result table whose contract gives the columns.

    Returns:
        One row per experiment, slice, metric and treatment, in ``table``'s columns.
    """
    slices = _numeric_sums(slices)
    results = _comparisons(slices, config, None, slice_columns)
    results = results.merge(
        _slice_sample_ratios(slices, slice_columns),
        on=["experiment_id", *slice_columns],
        how="left",
    )
    results = _stamped(with_slice_health_verdicts(results), run_id, analysis_at, config)
    return _finite(_columns(results, column_names(table)))


def _columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``frame[names]``, by reindexing (the same frame, built faster for 100+ columns)."""
    if frame.columns.has_duplicates or len(set(names)) != len(names):
        return frame[names]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        return frame[names]  # raises as selecting does
    return frame.reindex(columns=names)


def _slice_sample_ratios(slices: pd.DataFrame, slice_columns: tuple[str, ...]) -> pd.DataFrame:
    """Each slice's subjects and sample-ratio check, as the slice_* columns."""
    # A variant's subjects in a slice: its largest n over the metrics.
    one_metric = slices.sort_values("n", ascending=False, kind="stable").drop_duplicates(
        ["experiment_id", *slice_columns, "variant_id"]
    )
    srm = sample_ratio(one_metric, ["experiment_id", *slice_columns])
    return srm[["experiment_id", *slice_columns, "n_subjects", "srm_p_value", "srm_status"]].rename(
        columns={
            "n_subjects": "slice_n_subjects",
            "srm_p_value": "slice_srm_p_value",
            "srm_status": "slice_srm_status",
        }
    )


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ±inf in its float columns as NaN (NULL in the tables).

    Nothing non-finite is written; the row's status says what went wrong.
    """
    # All at once: the float columns' blocks as they are (select_dtypes takes whole blocks,
    # where selecting the columns by name copies them), then one array of them.
    floats = frame.select_dtypes(include=[np.float64])
    values = floats.to_numpy()
    infinite = np.isinf(values)
    if not infinite.any():
        return frame
    frame = frame.copy()
    frame[floats.columns] = np.where(infinite, np.nan, values)
    return frame


def _stamped(
    frame: pd.DataFrame, run_id: str, analysis_at: datetime, config: ExperimentConfig
) -> pd.DataFrame:
    """The frame with the run's columns.

    run_id, analysis_at, analysis_date and schema_version come first, config_hash last.
    Joined in one concatenation: inserting columns one by one into a wide frame costs more.
    """

    def text(value: str) -> pd.Series:  # a plain object column: no Arrow conversion
        return pd.Series(np.full(len(frame), value, dtype=object), index=frame.index, dtype=object)

    at = pd.Timestamp(analysis_at)
    first = pd.DataFrame(
        {
            "run_id": text(run_id),
            "analysis_at": at,
            "analysis_date": at.date(),
            "schema_version": RESULT_SCHEMA_VERSION,
        },
        index=frame.index,
    )
    last = pd.DataFrame({"config_hash": text(config.hash)}, index=frame.index)
    return pd.concat([first, frame, last], axis=1)


def checked_mart(mart: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """The statistics mart with its sums as floats, once its invariants hold.

    This is the one place the analysis checks the mart: `xp analyze` may run after a plain
    `dbt run` whose data tests did not run. A missing or duplicated row is found where
    :func:`_with_arm_sums` looks the arms up.

    Raises:
        AnalysisError: The mart lacks a column (built by an older release), was built from
            another config, or gives a variant different n for metrics that count every
            subject.
    """
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
    _check_same_n_per_metric(mart, config)
    return _numeric_sums(mart)


def _check_same_n_per_metric(mart: pd.DataFrame, config: ExperimentConfig) -> None:
    """Check that every metric of a variant that counts every subject has the same n.

    That n is the variant's subjects, which the sample-ratio check counts.
    """
    metric_codes, metric_ids = pd.factorize(mart["metric_id"])
    every_subject = ~np.array([config.matured_subjects_only(m) for m in metric_ids], dtype=bool)[
        metric_codes
    ]
    # Per (experiment, variant), numbered in sorted order: the smallest n and the largest
    # (NaN left out, as nunique leaves it); the first pair in that order where they differ.
    experiment_codes, experiment_ids = pd.factorize(mart["experiment_id"], sort=True)
    variant_codes, variant_ids = pd.factorize(mart["variant_id"], sort=True)
    counted = every_subject & (experiment_codes >= 0) & (variant_codes >= 0)  # as groupby
    arms = (experiment_codes * len(variant_ids) + variant_codes)[counted]
    n = mart["n"].to_numpy(dtype=float)[counted]
    smallest = np.full(len(experiment_ids) * len(variant_ids), np.nan)
    largest = smallest.copy()
    np.fmin.at(smallest, arms, n)
    np.fmax.at(largest, arms, n)
    inconsistent = np.flatnonzero(largest > smallest)
    if inconsistent.size:
        experiment_id = experiment_ids[inconsistent[0] // len(variant_ids)]
        variant_id = variant_ids[inconsistent[0] % len(variant_ids)]
        raise AnalysisError(
            f"{MART}: experiment '{experiment_id}', variant '{variant_id}' "
            "has a different n for different metrics; the mart is corrupt"
        )


def _numeric_sums(mart: pd.DataFrame) -> pd.DataFrame:
    """The mart with its sums as floats (engines return integers or decimals for some)."""
    mart = mart.copy(deep=False)
    for column in (*SUM_COLUMNS, *RATIO_SUM_COLUMNS):
        if column in mart.columns and mart[column].dtype != np.float64:
            mart[column] = pd.to_numeric(mart[column]).astype(float)
    return mart


def _comparisons(
    mart: pd.DataFrame,
    config: ExperimentConfig,
    cross_products: pd.DataFrame | None,
    slice_columns: tuple[str, ...] = (),
    *,
    quantiles: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per experiment, metric and treatment, with every estimate, status and decision.

    With ``slice_columns`` (the mart's slice keys), one row per slice of each too; quantile
    metrics are then left out (their mart is overall only).
    """
    frame = _comparison_rows(mart, config, slice_columns)
    is_ratio = _is_ratio(frame, config)
    # Ratio metrics are not part of CUPED++: ratio CUPED decides for them.
    ratio_multi = is_ratio & (frame["cuped_mode"].to_numpy(dtype=object) == "multi")
    if ratio_multi.any():  # an assignment through .loc costs even when it sets nothing
        frame.loc[ratio_multi, "cuped_mode"] = "single"
    frame, is_quantile = _with_statistic(frame, config)
    frame = _with_arm_sums(frame, mart, slice_columns)
    # The subjects the covariate sums are over: a quantile metric's arm n becomes the
    # quantile's count below (its nonzero values with ignore_zeros), its sum_x stays the mart's.
    for arm in ("control", "treatment"):
        frame[f"{arm}_covariate_n"] = frame[f"{arm}_n"].to_numpy(dtype=float)
    # The estimates are collected as arrays and joined to the frame once: adding ~100
    # columns one by one costs more than computing them.
    estimates = _single_covariate_estimates(frame, is_ratio)
    quantile_arms_ = _quantile_comparisons(frame, estimates, is_quantile, quantiles, config)
    estimates |= _multi_covariate_estimates(frame, mart, cross_products, config, estimates)
    quantile_seeds = _quantile_seeds(estimates)
    for arm in ("control", "treatment"):
        frame[f"{arm}_n"] = frame[f"{arm}_n"].astype("int64")
    frame = pd.concat([frame, pd.DataFrame(estimates, index=frame.index)], axis=1)
    status, status_reason = comparison_status(frame, is_ratio)
    if quantile_arms_ is not None:
        status[is_quantile], status_reason[is_quantile] = quantile_statuses(
            status[is_quantile], status_reason[is_quantile], *quantile_arms_
        )
    statuses = pd.DataFrame(
        {"status": status, "status_reason": status_reason}, index=frame.index, dtype=object
    )
    return with_decisions(pd.concat([frame, statuses], axis=1), quantile_seeds=quantile_seeds)


def _quantile_seeds(estimates: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The t quantiles the unadjusted and CUPED tests computed, with their degrees of freedom.

    Taken out of ``estimates``. The decision interval is mostly at the tests' level on one
    of their degrees of freedom: where both are equal, its t quantile is the same number.
    """
    return [
        (estimates.pop(f"{prefix}t_quantile_df"), estimates.pop(f"{prefix}t_quantile"))
        for prefix in ("", "cuped_")
    ]


def _comparison_rows(
    mart: pd.DataFrame, config: ExperimentConfig, slice_columns: tuple[str, ...]
) -> pd.DataFrame:
    """The comparisons' settings (per slice of the mart when there are slices).

    Each row's multiple-testing ``family`` is its experiment (and slice).
    """
    frame = comparison_settings(config)
    if slice_columns:
        # Each slice compares the metrics it has: a sliced mart may leave metrics out, on
        # every slice (the daily one does not replay retention) or on some (a snapshot
        # taken before a metric's definition changed was dropped for that metric only).
        # Quantiles are overall only.
        slices = mart[["experiment_id", "metric_id", *slice_columns]].drop_duplicates()
        frame = frame.merge(slices, on=["experiment_id", "metric_id"], how="inner")
        frame.loc[frame["cuped_mode"] == "multi", "cuped_mode"] = "single"
        quantile_metrics = [m for m in set(slices["metric_id"]) if config.metrics[m].is_quantile]
        frame = frame[~frame["metric_id"].isin(quantile_metrics)].reset_index(drop=True)
    frame["family"] = frame["experiment_id"]
    for column in slice_columns:
        frame["family"] = frame["family"] + "\x1f" + frame[column].astype(str)
    return frame


def _with_statistic(
    frame: pd.DataFrame, config: ExperimentConfig
) -> tuple[pd.DataFrame, np.ndarray]:
    """The comparisons with ``statistic`` and ``quantile_level``, and which are quantiles.

    Quantile comparisons decide on the unadjusted estimate (CUPED does not adjust them).
    """
    levels = quantile_levels(frame["metric_id"].to_numpy(dtype=object), config)
    is_quantile = ~np.isnan(levels)
    frame = frame.assign(statistic=_statistic(is_quantile, frame.index), quantile_level=levels)
    if is_quantile.any():
        frame.loc[is_quantile, "cuped_mode"] = "none"
    return frame, is_quantile


def _statistic(is_quantile: np.ndarray, index: pd.Index) -> pd.Series:
    """The statistic column: "quantile" or "mean", in the type pandas infers for text.

    The two names are converted once and repeated by position: converting 10,000s of
    strings to pandas' text type costs more than taking them.
    """
    if not len(is_quantile):
        return pd.Series(np.array([], dtype=object), index=index)
    names = pd.Series(np.array(["mean", "quantile"], dtype=object)).array
    return pd.Series(names.take(is_quantile.astype(np.intp)), index=index)


def _quantile_comparisons(
    frame: pd.DataFrame,
    estimates: dict[str, np.ndarray],
    is_quantile: np.ndarray,
    quantiles: pd.DataFrame | None,
    config: ExperimentConfig,
) -> tuple[QuantileStatistics, QuantileStatistics] | None:
    """Put the quantile test in the rows of quantile metrics (``estimates``, ``*_n``).

    Changes ``estimates`` and ``frame`` in place; returns the quantile rows' arms (None
    when there are none).

    Raises:
        AnalysisError: The quantile mart is missing, stale or lacks an arm.
    """
    if not is_quantile.any():
        return None
    problem = quantile_mart_problem(quantiles, config)
    if problem or quantiles is None:
        raise AnalysisError(problem)
    arms = quantile_arms(frame[is_quantile], quantiles)
    if isinstance(arms, str):
        raise AnalysisError(arms)
    for name, values in quantile_estimates(*arms, frame[is_quantile]).items():
        if name in estimates:
            estimates[name][is_quantile] = values
        else:
            frame.loc[is_quantile, name] = values
    estimates["cuped_fallback_reason"][is_quantile] = NOT_CUPED_REASON
    return arms


def _is_ratio(frame: pd.DataFrame, config: ExperimentConfig) -> np.ndarray:
    """Per comparison, whether its metric is a ratio metric."""
    metric_codes, metric_ids = pd.factorize(frame["metric_id"].to_numpy(dtype=object))
    return np.array([config.metrics[m].is_ratio for m in metric_ids], dtype=bool)[metric_codes]


def _with_arm_sums(
    frame: pd.DataFrame, mart: pd.DataFrame, slice_columns: tuple[str, ...]
) -> pd.DataFrame:
    """The comparisons with each arm's sums from the mart, as ``control_*`` and ``treatment_*``.

    A slice the mart lacks gets NaN sums.

    Raises:
        AnalysisError: The mart has two rows for one arm, or (unsliced) none for an arm.
    """
    # By row position in the mart (an index lookup on one integer per arm, not two merges).
    keys = ["experiment_id", *slice_columns, "metric_id"]
    mart_key, arm_keys = _row_keys(
        mart,
        [*keys, "variant_id"],
        [(frame, [*keys, f"{arm}_variant_id"]) for arm in ("control", "treatment")],
    )
    mart_rows = pd.Index(mart_key)
    if not mart_rows.is_unique:
        raise AnalysisError(
            f"the statistics mart has more than one row for the same "
            f"{', '.join(keys)} and variant_id; rebuild it with `xp run`"
        )
    sum_columns = [c for c in (*SUM_COLUMNS, *RATIO_SUM_COLUMNS) if c in mart.columns]
    sums = {column: mart[column].to_numpy(dtype=float) for column in sum_columns}
    arm_sums = {}
    for arm, arm_key in zip(("control", "treatment"), arm_keys, strict=True):
        rows = mart_rows.get_indexer(arm_key)
        if not slice_columns and (rows < 0).any():  # a sliced mart may lack slices
            missing = frame.iloc[np.flatnonzero(rows < 0)[0]]
            raise AnalysisError(
                f"{MART} has no row for experiment '{missing['experiment_id']}', variant "
                f"'{missing[f'{arm}_variant_id']}', metric '{missing['metric_id']}': rebuild "
                "it with `xp run`"
            )
        found = rows >= 0
        for column in sum_columns:
            arm_sums[f"{arm}_{column}"] = (
                sums[column][rows] if found.all() else np.where(found, sums[column][rows], np.nan)
            )
    return pd.concat([frame, pd.DataFrame(arm_sums, index=frame.index)], axis=1)


def _row_keys(
    mart: pd.DataFrame, mart_columns: list[str], lookups: list[tuple[pd.DataFrame, list[str]]]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """One integer per mart row, and per row of each lookup frame, over the given columns.

    A lookup row's integer equals a mart row's exactly when their values are equal column by
    column; it is -1 when a value is not in the mart. Each mart column is factorised in its
    own (Arrow) type and the lookups' values are found among its distinct values.
    """
    mart_key = np.zeros(len(mart), dtype=np.int64)
    keys = [np.zeros(len(frame), dtype=np.int64) for frame, _ in lookups]
    missing = [np.zeros(len(frame), dtype=bool) for frame, _ in lookups]
    key_range = 1  # the mart's keys are below it (a lookup's are equal where found)
    for position, column in enumerate(mart_columns):
        codes, uniques = pd.factorize(mart[column], use_na_sentinel=False)
        distinct = pd.Index(uniques)
        if pd.api.types.is_string_dtype(distinct.dtype) and distinct.dtype != object:
            # Arrow strings: looked up as Python strings, which an object column holds.
            distinct = pd.Index(np.asarray(uniques, dtype=object), dtype=object)
        mart_key = mart_key * len(uniques) + codes
        found_in: dict[tuple[int, str], np.ndarray] = {}  # lookups that share a column
        for i, (frame, columns) in enumerate(lookups):
            column_key = (id(frame), columns[position])
            if column_key not in found_in:
                found_in[column_key] = distinct.get_indexer(frame[columns[position]])
            found = found_in[column_key]
            missing[i] |= found < 0
            keys[i] = keys[i] * len(uniques) + found
        key_range *= max(len(uniques), 1)
        if key_range > 2**40 and position < len(mart_columns) - 1:
            # Renumbered densely, so that the keys cannot overflow.
            every, _ = pd.factorize(np.concatenate([mart_key, *keys]))
            mart_key, *keys = np.split(
                every.astype(np.int64), np.cumsum([len(mart_key), *map(len, keys)])[:-1]
            )
            key_range = len(mart_key) + sum(map(len, keys))
    return mart_key, [np.where(gone, -1, key) for key, gone in zip(keys, missing, strict=True)]


def _single_covariate_estimates(frame: pd.DataFrame, is_ratio: np.ndarray) -> dict[str, np.ndarray]:
    """The unadjusted and CUPED estimate columns of every comparison, and CUPED's fallback.

    On the mean, or for ratio metrics on the ratio of means by the delta method (ratio
    CUPED on the covariate ratio).
    """
    control = SufficientStatistics.from_columns(frame, "control_")
    treatment = SufficientStatistics.from_columns(frame, "treatment_")
    level = frame["confidence_level"].to_numpy()
    alternative = frame["alternative"].to_numpy(dtype=object)
    with np.errstate(all="ignore"):  # non-finite sums get a status of their own
        estimates = _estimates(control, treatment, level, one_or_each(alternative))
        if is_ratio.any():
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
    return estimates


def _multi_covariate_estimates(
    frame: pd.DataFrame,
    mart: pd.DataFrame,
    cross_products: pd.DataFrame | None,
    config: ExperimentConfig,
    estimates: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """The CUPED++ estimate columns (``cupedpp_*``), NaN where CUPED++ is not used.

    With its variance reduction against CUPED (from ``estimates``).

    Raises:
        AnalysisError: A comparison uses CUPED++ and there are no cross products.
    """
    columns = {
        "cupedpp_" + name: np.full(len(frame), np.nan)
        for name in (*ESTIMATE_FIELDS, "variance_reduction_vs_cuped")
    }
    is_multi = frame["cuped_mode"].to_numpy(dtype=object) == "multi"
    if not is_multi.any():
        return columns
    if cross_products is None:
        raise AnalysisError(f"CUPED++ (analysis.cuped: multi) needs {CROSS_PRODUCTS}")
    multi = frame[is_multi]
    control, treatment = multi_covariate_arms(multi, mart, cross_products, config)
    estimate = multi_cuped_test(
        control,
        treatment,
        multi["confidence_level"].to_numpy(),
        multi["alternative"].to_numpy(dtype=object),
    )
    for name in ESTIMATE_FIELDS:
        columns["cupedpp_" + name][is_multi] = getattr(estimate, name)
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["cupedpp_variance_reduction_vs_cuped"][is_multi] = (
            1
            - estimate.absolute_effect_std_error**2
            / estimates["cuped_absolute_effect_std_error"][is_multi] ** 2
        )
    return columns


def _estimate_columns(estimate: EffectEstimate, prefix: str) -> dict[str, np.ndarray]:
    """The estimate's fields as columns ``prefix + field`` (writable float arrays)."""
    return {
        prefix + name: np.array(getattr(estimate, name), dtype=float) for name in ESTIMATE_FIELDS
    }


def _estimates(
    control: SufficientStatistics | RatioStatistics,
    treatment: SufficientStatistics | RatioStatistics,
    level: np.ndarray,
    alternative: str | np.ndarray,
) -> dict[str, np.ndarray]:
    """The unadjusted and CUPED estimate columns, and each arm's mean interval.

    With each test's t quantile and its degrees of freedom, as ``[cuped_]t_quantile`` and
    ``[cuped_]t_quantile_df`` (taken out again by :func:`_quantile_seeds`).
    """
    unadjusted = unadjusted_test(control, treatment, level, alternative)
    cuped = cuped_test(control, treatment, level, alternative)
    columns = {
        **_estimate_columns(unadjusted, ""),
        **_estimate_columns(cuped, "cuped_"),
        "cuped_theta": np.array(cuped.theta, dtype=float),
        "cuped_variance_reduction": np.array(cuped.variance_reduction, dtype=float),
    }
    for prefix, estimate in (("", unadjusted), ("cuped_", cuped)):
        # Kept for the decision interval at the same level (see :func:`_quantile_seeds`).
        columns[f"{prefix}t_quantile"] = np.array(estimate.t_quantile, dtype=float)
        columns[f"{prefix}t_quantile_df"] = np.array(estimate.degrees_of_freedom, dtype=float)
    for arm, sums in (("control", control), ("treatment", treatment)):
        lower, upper = mean_interval(sums, level)
        columns[f"{arm}_mean_ci_lower"] = np.array(lower, dtype=float)
        columns[f"{arm}_mean_ci_upper"] = np.array(upper, dtype=float)
    return columns


def _cuped_fallback(
    frame: pd.DataFrame, estimates: dict[str, np.ndarray], is_ratio: np.ndarray
) -> np.ndarray:
    """Where CUPED cannot adjust, give its columns the unadjusted estimate (θ = 0).

    Returns the reason per row ('' where CUPED adjusted); ``estimates`` changes in place.

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
