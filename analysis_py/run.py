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
from analysis_py.errors import AnalysisError, InterruptedAfterWrite
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
from analysis_py.warehouse.dbt import analysis_time_text, utc_now


def run_analysis(
    target: DbtTarget,
    config: ExperimentConfig,
    analysis_at: datetime | None = None,
    warn: Callable[[str], None] = print,
) -> AnalysisResults:
    """Read the marts, analyse them, and write the result tables (latest and history).

    The run is stamped with the analysis time the statistics mart was built for (see
    :func:`analysis_time`); the history keeps one snapshot per UTC date of it.

    Args:
        target: The dbt target whose warehouse holds the marts.
        config: The experiment config the marts were built from.
        analysis_at: The analysis time (UTC) the caller built the marts for, or asks for;
            None takes the mart's.
        warn: Receives the write's warnings, a line each.

    Raises:
        AnalysisError: ``analysis_at`` is not the time the mart was built for, or the mart
            cannot be analysed.
    """
    with open_warehouse(target, config) as warehouse:
        try:
            tables, results = _analyze_tables(warehouse, config, analysis_at)
            for warning in warehouse.write_results(tables):
                warn(warning)
        except KeyboardInterrupt:
            if warehouse.results_written:
                raise InterruptedAfterWrite() from None
            raise
    return replace(results, over_time=tables["experiment_results_over_time"])


def analysis_time(mart: pd.DataFrame, requested: datetime | None) -> datetime:
    """The time to stamp the results with: the one the statistics mart was built for.

    The mart's figures are those of its build's analysis time (the data before it, maturity
    at it): results stamped with another time would put them under the wrong date, and in
    the wrong history snapshot. A mart without rows (no experiment) takes ``requested``, or
    now.

    Example:
        >>> built = pd.DataFrame({"analysis_at": [pd.Timestamp("2026-03-20 06:00:00.25")]})
        >>> analysis_time(built, None)
        datetime.datetime(2026, 3, 20, 6, 0)

    Raises:
        AnalysisError: The mart was built for another time than ``requested``, or by a
            release that did not record it.
    """
    if "analysis_at" not in mart.columns:
        raise AnalysisError(
            f"{MART} lacks the column analysis_at: rebuild it with `dbt build` from this release"
        )
    built_for = {
        stamp.to_pydatetime().replace(microsecond=0)
        for stamp in pd.to_datetime(mart["analysis_at"]).dropna().unique()
    }
    if not built_for:
        return requested or utc_now()
    if len(built_for) > 1:
        raise AnalysisError(f"{MART} holds rows of several analysis times: rebuild it")
    (built,) = built_for
    if requested is not None and requested != built:
        built_text, requested_text = analysis_time_text(built), analysis_time_text(requested)
        option = f"--analysis-at {requested:%Y-%m-%dT%H:%M:%S}"
        raise AnalysisError(
            f"{MART} was built for the analysis time {built_text}, not {requested_text}: "
            f"build it for that time first (`xp run {option}`, or `dbt build --vars "
            f'"$(xp dbt-vars {option})"`), or leave out --analysis-at to analyse it as of '
            f"{built_text}"
        )
    return built


def _analyze_tables(
    warehouse: Warehouse, config: ExperimentConfig, requested: datetime | None
) -> tuple[dict[str, pd.DataFrame], AnalysisResults]:
    """Read the marts and analyse them: the result tables to write, and the results."""
    mart = warehouse.read_table(MART)
    stamp = analysis_time(mart, requested)
    cross_products = warehouse.read_table(CROSS_PRODUCTS) if needs_cross_products(config) else None
    quantiles = warehouse.read_table(QUANTILE_MART) if config.has_quantile_metrics else None
    daily = warehouse.read_table(DAILY_MART)
    has_dimensions = any(e.dimensions for e in config.experiments)
    dimensions = warehouse.read_table(DIMENSION_MART) if has_dimensions else None
    check_one_build(
        mart,
        {
            CROSS_PRODUCTS: cross_products,
            QUANTILE_MART: quantiles,
            DAILY_MART: daily,
            DIMENSION_MART: dimensions,
        },
    )
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
            days_until(daily, stamp),
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
            dimensions,
            config,
            run_id,
            stamp,
            slice_columns=("dimension_name", "dimension_value"),
            table="experiment_dimension_results",
        )
        if dimensions is not None
        else pd.DataFrame(
            {name: pd.Series(dtype=object) for name in column_names("experiment_dimension_results")}
        )
    )
    tables.update(scorecards(tables, config))
    return tables, results


def check_one_build(mart: pd.DataFrame, others: dict[str, pd.DataFrame | None]) -> None:
    """Check that the dbt invocation that built the statistics mart built the other marts read.

    A build stopped part-way (Ctrl-C, a failed model) or one that selected some models only
    leaves the other marts as an earlier build wrote them, for another analysis time, config
    or data. Analysed together, they would give results that mix two builds under one date
    (CUPED++ from the earlier cross products, results over time ending on the earlier day).
    A mart without rows has nothing to mix.

    Args:
        mart: The statistics mart's rows.
        others: The other marts read, by name; None for one this config does not read.

    Raises:
        AnalysisError: A mart lacks the column ``invocation_id`` (built by an older release),
            or was built by another invocation than the statistics mart.

    Example:
        >>> built = pd.DataFrame({"invocation_id": ["a1"]})
        >>> check_one_build(built, {"fct_variant_metric_daily_statistics": built, "x": None})
    """
    built_by = _invocations(MART, mart)
    if len(built_by) > 1:
        raise AnalysisError(f"{MART} holds rows of several dbt invocations: rebuild it")
    for name, frame in others.items():
        built = set() if frame is None else _invocations(name, frame)
        if built_by and built and built != built_by:
            raise AnalysisError(
                f"{name} was not built by the dbt invocation that built {MART} "
                f"({', '.join(sorted(built))}, not {', '.join(sorted(built_by))}): the last "
                "build of the models stopped part-way or selected some of them only. Build "
                'them together (`xp run`, or `dbt build --vars "$(xp dbt-vars)"`), then analyse'
            )


def _invocations(name: str, frame: pd.DataFrame) -> set[str]:
    """The dbt invocations that wrote the mart's rows (its column ``invocation_id``)."""
    if "invocation_id" not in frame.columns:
        raise AnalysisError(
            f"{name} lacks the column invocation_id: rebuild it with `dbt build` from this release"
        )
    return set(frame["invocation_id"].dropna().unique())


def days_until(daily: pd.DataFrame, analysis_at: datetime) -> pd.DataFrame:
    """The days of the daily mart up to the analysis time's.

    A rerun of a past date leaves the snapshots of later nights stored, but its results over
    time end on its own day. An analysis at midnight is the end of the day before, as in the mart
    (models/marts/fct_variant_metric_daily_statistics.sql).
    """
    last_day = (analysis_at - timedelta(seconds=1)).date()
    return daily[pd.to_datetime(daily["as_of_date"]).dt.date <= last_day]
