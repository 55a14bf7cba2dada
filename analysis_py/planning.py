"""`xp plan`: build the plan mart from the warehouse's history, read it, write the plan.

dbt builds ``fct_plan_metric_statistics`` (per proposed experiment and metric, the sums of
the metric and its covariate over subjects pseudo-exposed on past days) with the var
``xp_plan`` from :func:`plan_dbt_vars`; Python reads those aggregates through the bridge,
as the nightly run reads its marts, and writes ``experiment_plan``.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from analysis_py.config import ExperimentConfig
from analysis_py.config.types import DEFAULT_PLAN_HISTORY_DAYS, Experiment
from analysis_py.pipeline.planning import PlanWindow, plan_rows
from analysis_py.result_tables import PLAN_MART
from analysis_py.warehouse.bridge import DbtTarget, open_warehouse
from analysis_py.warehouse.dbt import run_dbt

_TIME = "%Y-%m-%d %H:%M:%S"
_DAY = 86400


def plan_window(
    config: ExperimentConfig, experiment: Experiment, history_end: datetime
) -> PlanWindow:
    """The pseudo-exposure days of a plan: ``history_days`` ending one longest window early.

    ``history_end`` is cut to its UTC midnight; the longest window of the experiment's
    event metrics is rounded up to whole days.
    """
    end = history_end.replace(hour=0, minute=0, second=0, microsecond=0)
    longest = max(
        config.metrics[c].window.end_seconds  # type: ignore[union-attr]
        for m in experiment.metrics
        for c in config.metrics[m].components
    )
    exposures_to = end - timedelta(days=math.ceil(longest / _DAY))
    days = experiment.plan.history_days if experiment.plan else DEFAULT_PLAN_HISTORY_DAYS
    return PlanWindow(exposures_to - timedelta(days=days), exposures_to, days)


def plan_dbt_vars(config: ExperimentConfig, windows: dict[str, PlanWindow]) -> dict[str, Any]:
    """The dbt vars of a plan build: the config's, and ``xp_plan`` with literal bounds.

    Events are read from the earliest lookback to the latest window end of the plans,
    per event source, so that the scan carries literal time bounds.
    """
    experiments: list[dict[str, Any]] = []
    events_from: dict[str, datetime] = {}
    events_to: dict[str, datetime] = {}
    for experiment_id, window in windows.items():
        experiment = config.experiment(experiment_id)
        computed = [config.metrics[m] for m in config.computed_metrics(experiment)]
        metrics = [m for m in computed if not m.is_ratio]
        lookback = window.exposures_from - timedelta(days=experiment.lookback_days)
        for metric in metrics:
            assert metric.window is not None
            end = window.exposures_to + timedelta(seconds=metric.window.end_seconds)
            events_from[metric.source] = min(events_from.get(metric.source, lookback), lookback)
            events_to[metric.source] = max(events_to.get(metric.source, end), end)
        experiments.append(
            {
                "id": experiment.id,
                "metrics": [{"id": m.id, "source": m.source} for m in metrics],
                # Paired from their components' values, which "metrics" holds.
                "ratio_metrics": [m.id for m in computed if m.is_ratio],
                "population_experiments": list(
                    experiment.plan.population_experiments if experiment.plan else ()
                ),
                "history_days": window.history_days,
                "exposures_from": window.exposures_from.strftime(_TIME),
                "exposures_to": window.exposures_to.strftime(_TIME),
            }
        )
    plan = {
        "experiments": experiments,
        "events_from": {s: t.strftime(_TIME) for s, t in events_from.items()},
        "events_to": {s: t.strftime(_TIME) for s, t in events_to.items()},
    }
    return {**config.to_dbt_vars(), "xp_plan": plan}


def planned_experiments(config: ExperimentConfig, experiment_ids: list[str]) -> list[Experiment]:
    """The experiments named, else those with a ``plan`` block.

    Raises:
        KeyError: A named experiment is not in the config.
    """
    if experiment_ids:
        return [config.experiment(e) for e in experiment_ids]
    return [e for e in config.experiments if e.plan is not None]


def run_plan(
    target: DbtTarget,
    config: ExperimentConfig,
    experiments: list[Experiment],
    *,
    history_end: datetime,
    analysis_at: datetime,
) -> pd.DataFrame:
    """Build the plan mart, read it, and write experiment_plan; its rows.

    Raises:
        DbtBuildError: dbt failed.
        WarehouseError: Reading or writing failed.
    """
    windows = {e.id: plan_window(config, e, history_end) for e in experiments}
    variables = plan_dbt_vars(config, windows)
    # A later --vars replaces the config's alone that run_dbt passes first.
    run_dbt(
        "build",
        target,
        config,
        [
            "--select",
            f"+{PLAN_MART}",
            "--exclude-resource-type",
            "unit_test",
            "--vars",
            json.dumps(variables),
        ],
    )
    with open_warehouse(target, config) as warehouse:
        rows = plan_rows(warehouse.read_table(PLAN_MART), config, windows, analysis_at)
        warehouse.write_results({"experiment_plan": rows})
    return rows
