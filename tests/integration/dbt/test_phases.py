"""Dates and phases on DuckDB: only the analysed phase's exposures count, scans are bounded.

Two experiments read generated tables (tests/phases.py): ``phased`` has a ramp-up phase
(90/10) and a second phase (60/40, the analysed one), with exposures before, between and
after them; ``dated`` has plain ``start_at`` / ``end_at``. Events and tickets (a further
event source) span weeks before and after. The per-subject values of the marts must equal
a plain pandas computation over the phase's exposures, the sample-ratio check must expect
the phase's split, and the event scans must carry the config's bounds as literals (also on
the date partition columns).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis_py.cli import main
from analysis_py.config import ExperimentConfig, load_config
from tests.phases import (
    ANALYSIS_AT,
    EARLY_ANALYSIS_AT,
    EDITED_CONFIG,
    generate_tables,
    load_tables,
    make_project,
)
from tests.tables import assert_tables_agree


def reference_values(tables: dict[str, pd.DataFrame], config: ExperimentConfig) -> pd.DataFrame:
    """fct_subject_metrics' values, by pandas: first exposure inside the analysed phase."""
    assignments = tables["assignments"]
    rows = []
    for experiment in config.experiments:
        phase = experiment.analysed_phase
        assert phase is not None and phase.end_at is not None
        inside = assignments[
            (assignments.experiment_id == experiment.id)
            & (assignments.assigned_at >= phase.start_at)
            & (assignments.assigned_at < phase.end_at)
        ]
        subjects = inside.groupby("subject_id").agg(
            first_exposed_at=("assigned_at", "min"),
            n_variants=("variant_id", "nunique"),
            variant_id=("variant_id", "first"),
        )
        subjects = subjects[subjects.n_variants == 1].reset_index()
        for metric_id in experiment.metrics:
            metric = config.metrics[metric_id]
            assert metric.window is not None
            if metric.source == "events":
                source = tables["events"][tables["events"].event_name == metric.event_name]
            else:
                source = tables["tickets"].rename(
                    columns={"user_id": "subject_id", "opened_at": "event_at"}
                )
                source = source.assign(value=np.nan)
            joined = subjects.merge(source, on="subject_id", how="left")
            since = (joined.event_at - joined.first_exposed_at).dt.total_seconds()
            amount = joined.value if metric.aggregation == "sum" else joined.event_at.notna() * 1.0
            in_window = (since >= metric.window.start_seconds) & (since < metric.window.end_seconds)
            in_lookback = (since < 0) & (since >= -experiment.lookback_days * 86400)
            joined["metric_value"] = amount.where(in_window, 0.0).fillna(0.0)
            joined["covariate_value"] = amount.where(in_lookback, 0.0).fillna(0.0)
            values = joined.groupby(["subject_id", "variant_id", "first_exposed_at"]).agg(
                metric_value=("metric_value", "sum"), covariate_value=("covariate_value", "sum")
            )
            rows.append(
                values.reset_index().assign(experiment_id=experiment.id, metric_id=metric_id)
            )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def duckdb_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "warehouse.duckdb"
    previous = os.environ.get("XP_DUCKDB_PATH")
    os.environ["XP_DUCKDB_PATH"] = str(path)
    yield path
    if previous is None:
        del os.environ["XP_DUCKDB_PATH"]
    else:
        os.environ["XP_DUCKDB_PATH"] = previous


def query(path: Path, sql: str) -> pd.DataFrame:
    connection = duckdb.connect(str(path))
    try:
        return connection.execute(sql).df()
    finally:
        connection.close()


def compiled(project: Path, model: str) -> str:
    return next((project / "target" / "compiled").rglob(f"{model}.sql")).read_text()


SUBJECT_COLUMNS = ["experiment_id", "subject_id", "metric_id", "variant_id", "first_exposed_at"]
SUBJECT_VALUES = [*SUBJECT_COLUMNS, "metric_value", "covariate_value"]


def test_only_the_analysed_phase_counts(tmp_path: Path, duckdb_path: Path) -> None:
    project = make_project(tmp_path)
    tables = generate_tables()
    load_tables(duckdb_path, tables)
    assert main(["run", "--project-dir", str(project), "--analysis-at", ANALYSIS_AT]) == 0
    config = load_config(project / "experiments.yml")

    expected = reference_values(tables, config)
    actual = query(duckdb_path, f"select {', '.join(SUBJECT_VALUES)} from fct_subject_metrics")
    # The data has exposures outside every bound and subjects whose only exposures are
    # outside: the figures are not those of all exposures.
    outside = tables["assignments"]
    assert ((outside.experiment_id == "phased") & (outside.assigned_at < "2026-03-06")).sum() > 100
    assert len(expected) > 500
    assert expected.subject_id.nunique() < tables["assignments"].subject_id.nunique()
    assert_tables_agree(expected[SUBJECT_VALUES], actual, SUBJECT_COLUMNS, "fct_subject_metrics")

    # The sample-ratio check expects the analysed phase's 60/40 split, not the ramp's 90/10:
    # its p-value is scipy's chi-square test of the arms' counts against 60/40.
    statistics = query(
        duckdb_path,
        "select variant_id, n, expected_share from fct_variant_metric_statistics "
        "where experiment_id = 'phased' and metric_id = 'revenue' order by variant_id",
    )
    assert statistics.expected_share.tolist() == [0.6, 0.4]
    counts = expected[expected.metric_id == "revenue"].groupby("experiment_id").size()
    assert statistics.n.sum() == counts["phased"]
    diagnostics = query(
        duckdb_path,
        "select expected_shares, srm_p_value from experiment_diagnostics "
        "where experiment_id = 'phased'",
    )
    assert diagnostics.expected_shares[0] == "control=0.6, treatment=0.4"
    reference_p = stats.chisquare(
        statistics.n.to_numpy(dtype=float), statistics.n.sum() * np.array([0.6, 0.4])
    ).pvalue
    np.testing.assert_allclose(diagnostics.srm_p_value[0], reference_p, rtol=1e-9)

    # The scans carry the bounds as literals: events from the earliest phase start less its
    # lookback (dated: 03-03 12:00 less 2 days) to the latest end plus the longest window
    # (phased: 03-12 plus 3 days); their date partitions a day wider; tickets only for the
    # experiment that reads them (03-06 00:00 less 3 days, 03-12 plus 2 days).
    events_sql = compiled(project, "stg_experimentation__events")
    assert "event_at >= cast('2026-03-01 12:00:00' as timestamp)" in events_sql
    assert "event_at < cast('2026-03-15 00:00:00' as timestamp)" in events_sql
    assert "event_on >= '2026-02-28' and event_on <= '2026-03-16'" in events_sql
    joined_sql = compiled(project, "int_metric_events_joined_to_exposures")
    assert "opened_on >= '2026-03-02' and opened_on <= '2026-03-15'" in joined_sql
    assert "< cast('2026-03-14 00:00:00' as timestamp)" in joined_sql
    exposures_sql = compiled(project, "int_exposures_deduplicated")
    assert "assigned_at >= cast('2026-03-03 12:00:00' as timestamp)" in exposures_sql
    assert "assigned_at < cast('2026-03-12 00:00:00' as timestamp)" in exposures_sql
    staged = query(
        duckdb_path,
        "select min(event_at) as first, max(event_at) as last from stg_experimentation__events",
    )
    assert staged["first"][0] >= pd.Timestamp("2026-03-01 12:00:00")
    assert staged["last"][0] < pd.Timestamp("2026-03-15")


@pytest.mark.slow
def test_a_night_after_a_phase_edit_equals_a_full_refresh(
    tmp_path: Path, duckdb_path: Path
) -> None:
    """Moving the analysed phase's bounds rebuilds what they shape, as a full refresh would."""
    project = make_project(tmp_path)
    tables = generate_tables()
    load_tables(duckdb_path, tables)
    assert main(["run", "--project-dir", str(project), "--analysis-at", EARLY_ANALYSIS_AT]) == 0
    config_file = project / "experiments.yml"
    config_file.write_text(EDITED_CONFIG)
    assert main(["run", "--project-dir", str(project), "--analysis-at", ANALYSIS_AT]) == 0
    keys = {
        "int_exposures_deduplicated": ["experiment_id", "subject_id"],
        "fct_subject_metrics": ["experiment_id", "subject_id", "metric_id"],
        "fct_variant_metric_statistics": ["experiment_id", "variant_id", "metric_id"],
        "fct_variant_metric_daily_statistics": [
            "experiment_id",
            "day_number",
            "variant_id",
            "metric_id",
        ],
    }
    night = {table: query(duckdb_path, f"select * from {table}") for table in keys}
    actual = query(duckdb_path, f"select {', '.join(SUBJECT_VALUES)} from fct_subject_metrics")
    expected = reference_values(tables, load_config(config_file))[SUBJECT_VALUES]
    assert_tables_agree(expected, actual, SUBJECT_COLUMNS, "fct_subject_metrics, edited")
    assert (
        main(["run", "--project-dir", str(project), "--analysis-at", ANALYSIS_AT, "--full-refresh"])
        == 0
    )
    for table, table_keys in keys.items():
        full = query(duckdb_path, f"select * from {table}")
        assert_tables_agree(full, night[table], table_keys, table)
