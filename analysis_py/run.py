"""One analysis run: read the marts, analyse them, write the result tables.

The steps a night takes after dbt has built the marts; ``xp run`` and ``xp analyze`` (and an
orchestrator, e.g. examples/dagster_nightly.py) call :func:`run_analysis`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd

from analysis_py.config import ExperimentConfig
from analysis_py.errors import InterruptedAfterWrite
from analysis_py.marts import CROSS_PRODUCTS, DAILY_MART, DIMENSION_MART, MART, QUANTILE_MART
from analysis_py.pipeline.comparisons import (
    AnalysisResults,
    analyze,
    analyze_slices,
    needs_cross_products,
)
from analysis_py.pipeline.scorecard import scorecards
from analysis_py.result_tables import column_names
from analysis_py.warehouse.bridge import DbtTarget, Warehouse, open_warehouse
from analysis_py.warehouse.dbt import utc_now


def run_analysis(
    target: DbtTarget,
    config: ExperimentConfig,
    analysis_at: datetime | None = None,
    warn: Callable[[str], None] = print,
) -> AnalysisResults:
    """Read the marts, analyse them, and write the result tables (latest and history).

    ``analysis_at`` (UTC, default now) stamps the run; the history keeps one snapshot per
    UTC date of it.
    """
    with open_warehouse(target, config) as warehouse:
        try:
            tables, results = _analyze_tables(warehouse, config, analysis_at or utc_now())
            for warning in warehouse.write_results(tables):
                warn(warning)
        except KeyboardInterrupt:
            if warehouse.results_written:
                raise InterruptedAfterWrite() from None
            raise
    return replace(results, over_time=tables["experiment_results_over_time"])


def _analyze_tables(
    warehouse: Warehouse, config: ExperimentConfig, stamp: datetime
) -> tuple[dict[str, pd.DataFrame], AnalysisResults]:
    """Read the marts and analyse them: the result tables to write, and the results."""
    mart = warehouse.read_table(MART)
    cross_products = warehouse.read_table(CROSS_PRODUCTS) if needs_cross_products(config) else None
    quantiles = warehouse.read_table(QUANTILE_MART) if config.has_quantile_metrics else None
    run_id = uuid.uuid4().hex
    results = analyze(
        mart,
        config,
        run_id=run_id,
        analysis_at=stamp,
        cross_products=cross_products,
        quantiles=quantiles,
    )
    tables = {
        "experiment_results": results.results,
        "experiment_diagnostics": results.diagnostics,
        "experiment_results_over_time": analyze_slices(
            days_until(warehouse.read_table(DAILY_MART), stamp),
            config,
            run_id,
            stamp,
            slice_columns=("day_number", "as_of_date"),
            table="experiment_results_over_time",
        ),
    }
    # Replaced even when no experiment has dimensions, so that no earlier config's
    # breakdowns stay behind next to this run's results.
    tables["experiment_dimension_results"] = (
        analyze_slices(
            warehouse.read_table(DIMENSION_MART),
            config,
            run_id,
            stamp,
            slice_columns=("dimension_name", "dimension_value"),
            table="experiment_dimension_results",
        )
        if any(e.dimensions for e in config.experiments)
        else pd.DataFrame(
            {name: pd.Series(dtype=object) for name in column_names("experiment_dimension_results")}
        )
    )
    tables.update(scorecards(tables, config))
    return tables, results


def days_until(daily: pd.DataFrame, analysis_at: datetime) -> pd.DataFrame:
    """The days of the daily mart up to the analysis time's.

    A rerun of a past date leaves the snapshots of later nights stored, but its results over
    time end on its own day. An analysis at midnight is the end of the day before, as in the mart
    (models/marts/fct_variant_metric_daily_statistics.sql).
    """
    last_day = (analysis_at - timedelta(seconds=1)).date()
    return daily[pd.to_datetime(daily["as_of_date"]).dt.date <= last_day]
