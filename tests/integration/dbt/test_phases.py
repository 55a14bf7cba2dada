"""Dates and phases on DuckDB: only the analysed phase's exposures count, scans are bounded.

Two experiments read generated tables: ``phased`` has a ramp-up phase (90/10) and a second
phase (60/40, the analysed one), with exposures before, between and after them; ``dated``
has plain ``start_at`` / ``end_at``. Events and tickets (a further event source) span weeks
before and after. The per-subject values of the marts must equal a plain pandas computation
over the phase's exposures, the sample-ratio check must expect the phase's split, and the
event scans must carry the config's bounds as literals (also on the date partition columns).
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis_py.cli import main
from analysis_py.config import ExperimentConfig, load_config
from tests.conftest import REPO
from tests.tables import assert_tables_agree

ANALYSIS_AT = "2026-04-05T00:00:00"

CONFIG = textwrap.dedent("""\
    event_sources:
      - id: tickets
        dbt_source: {source: fixture, table: tickets}
        subject_id_column: user_id
        timestamp_column: opened_at
        partition_date_column: opened_on
    metrics:
      - {id: revenue, event_name: purchase, aggregation: sum, window: {start_day: 0, end_day: 3}}
      - {id: orders, event_name: purchase, aggregation: count,
         window: {start_hours: 0, end_hours: 48}}
      - {id: tickets, source: tickets, aggregation: count, window: {start_day: 0, end_day: 2}}
    experiments:
      - id: phased
        variants: [control, treatment]
        control: control
        phases:
          - name: ramp
            start_at: 2026-03-01T00:00:00Z
            end_at: 2026-03-05T00:00:00Z
            traffic: {control: 0.9, treatment: 0.1}
          - name: full
            start_at: "2026-03-06 02:00:00+02:00"
            end_at: 2026-03-12T00:00:00Z
            traffic: {control: 0.6, treatment: 0.4}
        metrics: [revenue, orders, tickets]
        lookback_days: 3
      - id: dated
        variants: [control, treatment]
        control: control
        traffic: {control: 0.5, treatment: 0.5}
        start_at: 2026-03-03T12:00:00Z
        end_at: 2026-03-08T00:00:00Z
        metrics: [revenue]
        lookback_days: 2
    """)


def make_project(root: Path, config: str = CONFIG) -> Path:
    """A copy of this project reading the generated tables, with the config above."""
    project = root / "project"
    project.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO / name, project / name)
    for name in ("models", "macros", "data-tests"):
        shutil.copytree(REPO / name, project / name)
    settings = (project / "dbt_project.yml").read_text()
    for old, new in (
        ("xp_assignments_table: demo_assignments", "xp_assignments_table: assignments"),
        (
            "xp_events_table: demo_events",
            "xp_events_table: events\n  xp_events_partition_date_column: event_on",
        ),
        ("xp_demo_data: true", "xp_demo_data: false"),
    ):
        assert old in settings, old
        settings = settings.replace(old, new)
    (project / "dbt_project.yml").write_text(settings)
    (project / "models" / "staging" / "_fixture__sources.yml").write_text(
        textwrap.dedent("""\
        version: 2
        sources:
          - name: fixture
            schema: "{{ target.schema }}"
            tables: [{name: tickets}]
        """)
    )
    (project / "experiments.yml").write_text(config)
    return project


def _times(rng: np.random.Generator, n: int, first: str, last: str) -> pd.Series:
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    seconds = rng.integers(0, int((end - start).total_seconds()), n)
    return pd.Series(start + pd.to_timedelta(seconds, unit="s"))


def generate_tables(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Exposures before, in, between and after the phases; events far around them."""
    rng = np.random.default_rng(seed)
    assignments = []
    for experiment, n, first, last in (
        ("phased", 400, "2026-02-25", "2026-03-16"),
        ("dated", 200, "2026-02-28", "2026-03-11"),
    ):
        subjects = [f"{experiment[0]}{i:03d}" for i in range(n)]
        for subject in subjects:
            n_exposures = int(rng.integers(1, 4))
            at = _times(rng, n_exposures, first, last)
            # Each exposure draws its arm with the split in force then: 90/10 in the ramp.
            share = np.where(at < pd.Timestamp("2026-03-05"), 0.9, 0.6)
            if experiment == "dated":
                share[:] = 0.5
            arm = rng.random(n_exposures) < share
            # Most subjects keep their first arm; some are re-drawn (across phases).
            if rng.random() < 0.8:
                arm[:] = arm[0]
            for when, control in zip(at, arm, strict=True):
                assignments.append(
                    (subject, experiment, "control" if control else "treatment", when)
                )
    assignments_frame = pd.DataFrame(
        assignments, columns=["subject_id", "experiment_id", "variant_id", "assigned_at"]
    )
    subjects = assignments_frame.subject_id.unique()
    n_events = 6000
    events = pd.DataFrame(
        {
            "subject_id": rng.choice(subjects, n_events),
            "event_name": rng.choice(["purchase", "visit"], n_events, p=[0.7, 0.3]),
            "event_at": _times(rng, n_events, "2026-02-10", "2026-04-01"),
            "value": np.round(rng.exponential(20, n_events), 2),
        }
    )
    events["event_on"] = events.event_at.dt.date
    tickets = pd.DataFrame(
        {
            "user_id": rng.choice(subjects, 1500),
            "opened_at": _times(rng, 1500, "2026-02-10", "2026-04-01"),
        }
    )
    tickets["opened_on"] = tickets.opened_at.dt.date
    return {"assignments": assignments_frame, "events": events, "tickets": tickets}


def load_tables(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    connection = duckdb.connect(str(path))
    try:
        for name, frame in tables.items():
            connection.register("frame", frame)
            connection.execute(f"create or replace table main.{name} as select * from frame")
            connection.unregister("frame")
    finally:
        connection.close()


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
    assert main(["run", "--project-dir", str(project), "--analysis-at", "2026-03-10T00:00"]) == 0
    config_file = project / "experiments.yml"
    edited = CONFIG.replace("end_at: 2026-03-12T00:00:00Z", "end_at: 2026-03-09T06:00:00Z")
    edited = edited.replace("start_at: 2026-03-03T12:00:00Z", "start_at: 2026-03-04T00:00:00Z")
    assert edited.count("2026-03-09T06") == 1 and "2026-03-04T00" in edited
    config_file.write_text(edited)
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
