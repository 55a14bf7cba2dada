"""Assemble the plan of a proposed experiment from its metrics' history (the plan mart).

Pure: it takes the rows of ``fct_plan_metric_statistics`` and the config and returns the
rows of the result table ``experiment_plan``; :mod:`analysis_py.planning` reads and writes.

Multiple testing at planning time: the p-values a Holm or Benjamini-Hochberg correction
will compare are not known yet, so every test of the family is planned at Bonferroni's
level α / m (m = primary and secondary metrics × treatments), which Holm never needs
more than and Benjamini-Hochberg needs at most when a single hypothesis is false: a
conservative bound. Guardrails sit outside the family and are planned at α.

Ratio metrics are planned on the ratio of means R = ȳ/d̄ with the variance the analysis
gives it, n·Var(R) by the delta method, and ratio CUPED's correlation of R with the
covariate ratio (:class:`~analysis_py.stats.sufficient_statistics.RatioStatistics`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from analysis_py.config import Experiment, ExperimentConfig
from analysis_py.marts import RATIO_SUM_COLUMNS, SUM_COLUMNS
from analysis_py.result_tables import RESULT_SCHEMA_VERSION, column_names
from analysis_py.stats.planning import Design, History, history, subjects_needed
from analysis_py.stats.sufficient_statistics import RatioStatistics, SufficientStatistics

#: Why a metric has no figures (status column of experiment_plan).
STATUS_REASONS = {
    "too_few_subjects": "fewer than 2 subjects in the history: widen history_days or the "
    "population",
    "zero_denominator": "the ratio's denominator is 0 over the history: the ratio is undefined",
    "zero_mean": "the baseline mean is 0: a relative effect of it is 0",
    "zero_variance": "every subject has the same value in the history",
}


@dataclass(frozen=True)
class PlanWindow:
    """The history a plan read, as the dbt var xp_plan passed it (UTC).

    Attributes:
        exposures_from: First pseudo-exposure time.
        exposures_to: End of the pseudo-exposures (exclusive): the history's end less the
            longest metric window, so that every subject's window has ended.
        history_days: Days of pseudo-exposures.
    """

    exposures_from: datetime
    exposures_to: datetime
    history_days: int


def family_size(experiment: Experiment) -> int:
    """Tests in the experiment's multiple-testing family (1 without a correction)."""
    if experiment.analysis.multiple_testing == "none":
        return 1
    listed = [m for m in experiment.metrics if experiment.role(m) != "guardrail"]
    return max(1, len(listed) * len(experiment.treatments))


def design(experiment: Experiment, metric_id: str) -> Design:
    """The planned test of one metric: level after the Bonferroni bound, power, split."""
    alpha = 1 - experiment.confidence_level
    if experiment.role(metric_id) != "guardrail":
        alpha /= family_size(experiment)
    return Design(
        alpha=alpha,
        power=experiment.analysis.power,
        control_share=experiment.traffic[experiment.control],
        treatment_share=min(experiment.traffic[t] for t in experiment.treatments),
    )


def plan_rows(
    statistics: pd.DataFrame,
    config: ExperimentConfig,
    windows: dict[str, PlanWindow],
    analysis_at: datetime,
) -> pd.DataFrame:
    """The rows of experiment_plan: one per planned experiment and listed metric.

    Args:
        statistics: The rows of fct_plan_metric_statistics.
        config: The experiment config.
        windows: The history each planned experiment read, by experiment id.
        analysis_at: When the plan was made (UTC), stamped on every row.
    """
    frames = [
        _experiment_rows(statistics, config, config.experiment(experiment_id), window)
        for experiment_id, window in windows.items()
    ]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    rows.insert(0, "analysis_at", pd.Timestamp(analysis_at))
    rows.insert(1, "analysis_date", pd.Timestamp(analysis_at).normalize())
    rows.insert(2, "schema_version", RESULT_SCHEMA_VERSION)
    return rows.reindex(columns=column_names("experiment_plan"))


def _experiment_rows(
    statistics: pd.DataFrame,
    config: ExperimentConfig,
    experiment: Experiment,
    window: PlanWindow,
) -> pd.DataFrame:
    plan = experiment.plan
    listed = pd.DataFrame({"metric_id": list(experiment.metrics)})
    ours = statistics[statistics["experiment_id"] == experiment.id]
    rows = listed.merge(ours.drop(columns="experiment_id"), on="metric_id", how="left")
    sums = [*SUM_COLUMNS, *RATIO_SUM_COLUMNS]
    rows[sums] = rows[sums].astype(float).fillna(0.0)
    is_ratio = np.array([config.metrics[m].is_ratio for m in rows["metric_id"]], dtype=bool)
    found = _history(rows, is_ratio)
    population = float(rows["n"].max()) if len(rows) else 0.0
    expected = plan.expected_daily_subjects if plan else None
    daily = expected if expected is not None else population / window.history_days
    designs = [design(experiment, m) for m in experiment.metrics]
    r = experiment.analysis.target_relative_effect
    sides = np.array(
        [
            "two-sided" if config.metrics[m].alternative == "two-sided" else "one-sided"
            for m in experiment.metrics
        ]
    )
    needed = np.array(
        [
            float(subjects_needed(v, mu, r, d, s))
            for v, mu, d, s in zip(found.variance, found.mean, designs, sides, strict=True)
        ]
    )
    cuped_needed = np.array(
        [
            float(subjects_needed(v, mu, r, d, s))
            for v, mu, d, s in zip(found.cuped_variance, found.mean, designs, sides, strict=True)
        ]
    )
    status = _statuses(rows, is_ratio, found.mean, found.variance)
    usable = status == "ok"
    metrics = [config.metrics[m] for m in experiment.metrics]
    return pd.DataFrame(
        {
            "experiment_id": experiment.id,
            "metric_id": rows["metric_id"],
            "metric_display_name": [m.label for m in metrics],
            "metric_role": [experiment.role(m.id) for m in metrics],
            "alternative": [m.alternative for m in metrics],
            "status": status,
            "status_reason": [STATUS_REASONS.get(s, "") for s in status],
            "history_from": pd.Timestamp(window.exposures_from),
            "history_to": pd.Timestamp(window.exposures_to),
            "history_days": window.history_days,
            "population_experiments": ", ".join(plan.population_experiments) if plan else "",
            "history_subjects": rows["n"].astype("int64"),
            "daily_subjects": daily,
            "daily_subjects_source": "config" if expected is not None else "history",
            "baseline_mean": found.mean,
            "baseline_variance": found.variance,
            "covariate_correlation": found.correlation,
            "cuped_variance_reduction": found.variance_reduction,
            "target_relative_effect": r,
            "power": experiment.analysis.power,
            "confidence_level": experiment.confidence_level,
            "multiple_testing": experiment.analysis.multiple_testing,
            "family_size": [
                1 if experiment.role(m.id) == "guardrail" else family_size(experiment)
                for m in metrics
            ],
            "alpha": [d.alpha for d in designs],
            "n_treatments": len(experiment.treatments),
            "control_share": designs[0].control_share,
            "treatment_share": designs[0].treatment_share,
            "subjects_needed": _whole(np.where(usable, needed, np.nan)),
            "days_needed": _days(np.where(usable, needed, np.nan), daily),
            "cuped_subjects_needed": _whole(np.where(usable, cuped_needed, np.nan)),
            "cuped_days_needed": _days(np.where(usable, cuped_needed, np.nan), daily),
        }
    )


def _history(rows: pd.DataFrame, is_ratio: np.ndarray) -> History:
    """Each metric's history: a plain metric's moments, a ratio metric's by the delta method."""
    plain = history(SufficientStatistics.from_columns(rows))
    if not is_ratio.any():
        return plain
    ratio = history(RatioStatistics.from_columns(rows))
    return History(
        mean=np.where(is_ratio, ratio.mean, plain.mean),
        variance=np.where(is_ratio, ratio.variance, plain.variance),
        correlation=np.where(is_ratio, ratio.correlation, plain.correlation),
        cuped_variance=np.where(is_ratio, ratio.cuped_variance, plain.cuped_variance),
    )


def _statuses(
    rows: pd.DataFrame, is_ratio: np.ndarray, mean: np.ndarray, variance: np.ndarray
) -> np.ndarray:
    return np.select(
        [
            rows["n"].to_numpy() < 2,
            is_ratio & (rows["sum_d"].to_numpy() == 0),
            mean == 0,
            variance == 0,
        ],
        ["too_few_subjects", "zero_denominator", "zero_mean", "zero_variance"],
        "ok",
    )


def _whole(values: np.ndarray) -> pd.Series:
    """Rounded up to whole numbers; null where there is no finite figure."""
    finite = np.isfinite(values)
    rounded = pd.Series(np.ceil(np.where(finite, values, 0))).astype("Int64")
    return rounded.mask(~finite)


def _days(subjects: np.ndarray, daily: float) -> pd.Series:
    """Whole days of exposures at ``daily`` new subjects a day; null without traffic."""
    if not daily or not math.isfinite(daily):
        return pd.Series([pd.NA] * len(subjects), dtype="Int64")
    return _whole(subjects / daily)
