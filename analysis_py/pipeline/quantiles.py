"""The quantile metrics' comparisons: each arm's order statistics from the quantile mart.

:mod:`analysis_py.pipeline.comparisons` computes every comparison as a difference of means
first; for the rows of quantile metrics this module then puts the quantile test
(:func:`analysis_py.stats.quantile.quantile_test`) in the estimate columns, the quantile's
subjects in ``*_n``, and its statuses. CUPED does not adjust quantiles: the ``cuped_``
columns repeat the unadjusted estimate and the decision reads the unadjusted one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_py.config import ExperimentConfig
from analysis_py.marts import QUANTILE_MART, QUANTILE_MART_COLUMNS
from analysis_py.stats.quantile import QuantileStatistics, quantile_interval, quantile_test
from analysis_py.stats.ttest import ESTIMATE_FIELDS

#: cuped_fallback_reason of a quantile metric's rows.
NOT_CUPED_REASON = "a quantile metric: CUPED does not adjust quantiles (unadjusted estimate)"


def quantile_levels(metric_ids: np.ndarray, config: ExperimentConfig) -> np.ndarray:
    """Per comparison, its metric's quantile level; NaN for metrics that compare means."""
    codes, unique_ids = pd.factorize(np.asarray(metric_ids, dtype=object))
    levels = [config.metrics[m].quantile for m in unique_ids]
    return np.array([np.nan if q is None else q for q in levels], dtype=float)[codes]


def quantile_mart_problem(quantiles: pd.DataFrame | None, config: ExperimentConfig) -> str:
    """Why the quantile mart cannot be read ('' when it can): absent, old, or another config."""
    if quantiles is None:
        return f"the config has quantile metrics but {QUANTILE_MART} was not read"
    missing = [c for c in QUANTILE_MART_COLUMNS if c not in quantiles.columns]
    if missing:
        return (
            f"{QUANTILE_MART} lacks the column(s) {', '.join(missing)}: rebuild it with "
            "`dbt build` from this release"
        )
    hashes = set(quantiles["config_hash"].unique())
    if hashes - {config.hash}:
        return (
            f"{QUANTILE_MART} was built from another experiment config (hash "
            f"{', '.join(sorted(hashes))}, {config.path} has {config.hash}): run `xp run`"
        )
    return ""


def quantile_arms(
    rows: pd.DataFrame, quantiles: pd.DataFrame
) -> tuple[QuantileStatistics, QuantileStatistics] | str:
    """Each arm's order statistics for the comparisons ``rows``, or why they are missing."""
    keys = ["experiment_id", "metric_id"]
    mart_rows = pd.MultiIndex.from_frame(quantiles[[*keys, "variant_id"]])
    if not mart_rows.is_unique:
        return f"{QUANTILE_MART} has more than one row for an arm: rebuild it with `xp run`"
    numeric = quantiles[list(QuantileStatistics.__dataclass_fields__)].apply(pd.to_numeric)
    arms = []
    for arm in ("control", "treatment"):
        found = mart_rows.get_indexer(pd.MultiIndex.from_frame(rows[[*keys, f"{arm}_variant_id"]]))
        if (found < 0).any():
            missing = rows.iloc[np.flatnonzero(found < 0)[0]]
            return (
                f"{QUANTILE_MART} has no row for experiment '{missing['experiment_id']}', "
                f"variant '{missing[f'{arm}_variant_id']}', metric '{missing['metric_id']}': "
                "rebuild it with `xp run`"
            )
        arms.append(QuantileStatistics.from_columns(numeric.iloc[found].astype(float)))
    return arms[0], arms[1]


def quantile_estimates(
    control: QuantileStatistics, treatment: QuantileStatistics, rows: pd.DataFrame
) -> dict[str, np.ndarray]:
    """The estimate columns of quantile comparisons, as comparisons.py names them.

    The unadjusted and ``cuped_`` estimates (the same), each arm's quantile interval and n.
    """
    level = rows["confidence_level"].to_numpy(dtype=float)
    estimate = quantile_test(control, treatment, level, rows["alternative"].to_numpy(dtype=object))
    columns: dict[str, np.ndarray] = {}
    for name in ESTIMATE_FIELDS:
        value = np.asarray(getattr(estimate, name), dtype=float)
        columns[name] = value
        columns["cuped_" + name] = value
    columns["cuped_theta"] = np.zeros(len(rows))
    columns["cuped_variance_reduction"] = np.zeros(len(rows))
    for arm, statistics in (("control", control), ("treatment", treatment)):
        lower, upper = quantile_interval(statistics, level)
        columns[f"{arm}_mean_ci_lower"], columns[f"{arm}_mean_ci_upper"] = lower, upper
        columns[f"{arm}_n"] = statistics.n
    return columns


def quantile_statuses(
    status: np.ndarray,
    reason: np.ndarray,
    control: QuantileStatistics,
    treatment: QuantileStatistics,
) -> tuple[np.ndarray, np.ndarray]:
    """The statuses of quantile comparisons, from those of means on the same columns.

    An arm whose band of order statistics reaches past its smallest or largest value has
    too few subjects for the large-sample interval; equal order statistics (ties, e.g. many
    zeros) leave no standard error.
    """
    status, reason = status.copy(), reason.copy()
    level = control.quantile_level
    too_few = ~(control.band_fits & treatment.band_fits) & np.isin(
        status, ("ok", "zero_variance", "zero_control_mean")
    )
    status[too_few] = "too_few_subjects"
    reason[too_few] = [
        f"too few subjects for the {q:g} quantile's interval: an arm's order statistics at "
        f"nν ± z·√(nν(1-ν)) fall outside its {int(n_c)} and {int(n_t)} values"
        for q, n_c, n_t in zip(
            level[too_few], control.n[too_few], treatment.n[too_few], strict=True
        )
    ]
    tied = status == "zero_variance"
    reason[tied] = (
        "the order statistics around the quantile are equal in both arms (many tied values, "
        "e.g. zeros): no standard error; consider ignore_zeros"
    )
    return status, reason
