"""One time, UTC, on every engine and in every session time zone.

A small experiment whose exposures are stored time-zone aware (DuckDB TIMESTAMPTZ, Postgres
timestamptz, Spark TIMESTAMP), whose events are text with assorted offsets (and one without,
UTC by the input contract), and whose second event source is time-zone aware again. Rows sit
a minute from the 24-hour window's ends, from UTC midnight (distinct days), from the
analysis time and from the US change to summer time (2026-03-08 10:00 UTC), so that reading
any of them in another zone, or dropping an offset, changes a figure. The pipeline runs in a
process whose TZ (and Postgres session zone, PGTZ) is UTC, Asia/Tokyo and
America/Los_Angeles in turn; every run must give the hand-known values below, and the same
figures as the UTC run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis_py.result_tables import TABLES
from tests.conftest import REPO
from tests.engines import DATABASE, require_spark, run_in_time_zone, throwaway_postgres

ZONES = ("UTC", "Asia/Tokyo", "America/Los_Angeles")
ANALYSIS_AT = "2026-03-10T12:00:00"
EXPERIMENT = "tz_test"

# (subject_id, variant_id, assigned_at): instants written with offsets; stored time-zone aware.
ASSIGNMENTS = [
    ("c1", "control", "2026-03-08 08:30:00+09:00"),  # 03-07 23:30 UTC: first exposure
    ("c1", "control", "2026-03-08 05:00:00+00:00"),  # a later, repeated exposure
    ("c2", "control", "2026-03-08 01:00:00-08:00"),  # 03-08 09:00 UTC, Los Angeles winter
    ("c3", "control", "2026-03-09 00:30:00+00:00"),
    ("c4", "control", "2026-03-10 11:30:00+00:00"),  # 30 minutes before the analysis time
    ("t1", "treatment", "2026-03-07 22:00:00+00:00"),
    ("t2", "treatment", "2026-03-08 03:30:00-07:00"),  # 03-08 10:30 UTC, Los Angeles summer
    ("t3", "treatment", "2026-03-09 23:45:00+00:00"),
    ("t4", "treatment", "2026-03-10 12:30:00+00:00"),  # after the analysis time: left out
    ("c5", "control", "2026-03-08 12:00:00.500+00:00"),  # a fraction of a second
    ("t5", "treatment", "2026-03-09 12:00:00.900+00:00"),  # window ends 0.9 s after analysis
    ("m1", "control", "2026-03-08 00:00:00+00:00"),  # both variants: left out
    ("m1", "treatment", "2026-03-10 11:00:00+00:00"),
]
# (subject_id, event_name, event_at as text, value): the UTC instant in the comment.
EVENTS = [
    ("c1", "purchase", "2026-03-09T01:29:00+02:00", 10.0),  # 03-08 23:29: exposure + 23:59
    ("c1", "purchase", "2026-03-07T11:00:00-12:00", 5.0),  # 03-07 23:00: lookback
    ("c2", "purchase", "2026-03-09T08:59:00Z", 20.0),  # exposure + 23:59
    ("c2", "purchase", "2026-03-09 09:00:00", 7.0),  # naive, UTC: + 24:00, out
    ("c3", "purchase", "2026-03-09T00:29:00Z", 3.0),  # exposure - 0:01: lookback
    ("c3", "purchase", "2026-03-09T00:30:00.000+0000", 4.0),  # exposure + 0:00
    ("c4", "purchase", "2026-03-10T11:59:59Z", 6.0),  # a second before the analysis time
    ("c4", "purchase", "2026-03-10T12:00:00Z", 100.0),  # at the analysis time: out
    ("t1", "purchase", "2026-03-08T21:59:00+00", 30.0),  # exposure + 23:59
    ("t1", "purchase", "2026-03-07T21:00:00-01:00", 1.0),  # 03-07 22:00: exposure + 0:00
    ("t2", "purchase", "2026-03-09T10:29:00Z", 8.0),  # exposure + 23:59
    ("t2", "purchase", "2026-03-08T10:29:00Z", 2.0),  # exposure - 0:01: lookback
    ("t3", "purchase", "2026-03-09T11:59:00-12:00", 9.0),  # 03-09 23:59: exposure + 0:14
    ("t4", "purchase", "2026-03-10T12:40:00Z", 40.0),
    ("m1", "purchase", "2026-03-08T01:00:00Z", 50.0),
    # Within a second of an edge: counting the second marks crossed (dbt.datediff) put
    # each of these on the wrong side of it.
    ("c5", "purchase", "2026-03-08T12:00:00.200Z", 100.0),  # exposure - 0.3 s: lookback
    ("c5", "purchase", "2026-03-09T12:00:00.400Z", 50.0),  # exposure + 23:59:59.9: window
    ("t5", "purchase", "2026-03-09T12:00:00.100Z", 12.0),  # exposure - 0.8 s: lookback
    ("t5", "purchase", "2026-03-09T12:00:00.950Z", 11.0),  # exposure + 0.05 s: window
]
# (user_id, opened_at): a further event source, stored time-zone aware.
TICKETS = [
    ("c1", "2026-03-07 15:50:00-08:00"),  # 03-07 23:50 UTC
    ("c1", "2026-03-08 09:10:00+09:00"),  # 03-08 00:10 UTC: a second UTC day
    ("c2", "2026-03-08 08:59:00+00:00"),  # exposure - 0:01: lookback
    ("t1", "2026-03-08 23:59:00+00:00"),
    ("t1", "2026-03-09 09:01:00+09:00"),  # 03-09 00:01 UTC: a second UTC day
    ("t3", "2026-03-10 11:59:00+00:00"),
    ("t3", "2026-03-10 12:01:00+00:00"),  # after the analysis time: out
]

# Per analysed subject and metric: (first exposure in UTC, metric value, covariate value),
# worked out by hand from the rows above. ordered_matured counts only subjects whose 24-hour
# window has ended by the analysis time (not c4, not t3, not t5: 0.9 s short).
FIRST_EXPOSED = {
    "c1": "2026-03-07 23:30:00",
    "c2": "2026-03-08 09:00:00",
    "c3": "2026-03-09 00:30:00",
    "c4": "2026-03-10 11:30:00",
    "t1": "2026-03-07 22:00:00",
    "t2": "2026-03-08 10:30:00",
    "t3": "2026-03-09 23:45:00",
    "c5": "2026-03-08 12:00:00.5",
    "t5": "2026-03-09 12:00:00.9",
}
EXPECTED = {
    "revenue": {
        "c1": (10, 5),
        "c2": (20, 0),
        "c3": (4, 3),
        "c4": (6, 0),
        "t1": (31, 0),
        "t2": (8, 2),
        "t3": (9, 0),
        "c5": (50, 100),
        "t5": (11, 12),
    },
    "orders": {
        "c1": (1, 1),
        "c2": (1, 0),
        "c3": (1, 1),
        "c4": (1, 0),
        "t1": (2, 0),
        "t2": (1, 1),
        "t3": (1, 0),
        "c5": (1, 1),
        "t5": (1, 1),
    },
    "ordered_matured": {
        "c1": (1, 1),
        "c2": (1, 0),
        "c3": (1, 1),
        "t1": (1, 0),
        "t2": (1, 1),
        "c5": (1, 1),
    },
    "tickets": {
        "c1": (2, 0),
        "c2": (0, 1),
        "c3": (0, 0),
        "c4": (0, 0),
        "t1": (2, 0),
        "t2": (0, 0),
        "t3": (1, 0),
        "c5": (0, 0),
        "t5": (0, 0),
    },
    "ticket_days": {
        "c1": (2, 0),
        "c2": (0, 1),
        "c3": (0, 0),
        "c4": (0, 0),
        "t1": (2, 0),
        "t2": (0, 0),
        "t3": (1, 0),
        "c5": (0, 0),
        "t5": (0, 0),
    },
}

CONFIG = textwrap.dedent(f"""\
    event_sources:
      - id: tickets
        dbt_source: {{source: fixture, table: tz_tickets}}
        subject_id_column: user_id
        timestamp_column: opened_at
    metrics:
      - {{id: revenue, event_name: purchase, aggregation: sum,
          window: {{start_hours: 0, end_hours: 24}}}}
      - {{id: orders, event_name: purchase, aggregation: count,
          window: {{start_hours: 0, end_hours: 24}}}}
      - {{id: ordered_matured, event_name: purchase, aggregation: conversion,
          window: {{start_hours: 0, end_hours: 24}}, matured_subjects_only: true}}
      - {{id: tickets, source: tickets, aggregation: count,
          window: {{start_hours: 0, end_hours: 72}}}}
      - {{id: ticket_days, source: tickets, aggregation: distinct_days,
          window: {{start_hours: 0, end_hours: 72}}}}
    experiments:
      - id: {EXPERIMENT}
        variants: [control, treatment]
        control: control
        traffic: {{control: 0.5, treatment: 0.5}}
        metrics: [revenue, orders, ordered_matured, tickets, ticket_days]
        lookback_days: 1
    """)

# Engine-specific spellings: the string type, the time-zone-aware type, and a double.
TYPES = {
    "duckdb": ("varchar", "timestamptz", "double"),
    "postgres": ("text", "timestamptz", "double precision"),
    "spark": ("string", "timestamp", "double"),
}


def make_project(root: Path) -> Path:
    """A copy of this project reading the fixture tables.

    A copy of this project whose sources are the fixture tables (tz_assignments,
    tz_events, and tz_tickets as the source fixture.tz_tickets), with the config above.
    """
    project = root / "project"
    project.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO / name, project / name)
    for name in ("models", "macros", "data-tests"):
        shutil.copytree(REPO / name, project / name)
    settings = (project / "dbt_project.yml").read_text()
    for old, new in (
        ("xp_assignments_table: demo_assignments", "xp_assignments_table: tz_assignments"),
        ("xp_events_table: demo_events", "xp_events_table: tz_events"),
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
            tables: [{name: tz_tickets}]
        """)
    )
    (project / "experiments.yml").write_text(CONFIG)
    return project


def _literal(value: object) -> str:
    return repr(value) if isinstance(value, float) else "'" + str(value) + "'"


def fixture_sql(engine: str, schema: str, events: list[tuple] = EVENTS) -> list[str]:
    """The statements that create the fixture tables.

    Statements that create the three fixture tables in `schema`. Every time-zone-aware
    value is written with its offset, so the session's zone does not change what is stored.
    """
    string, aware, double = TYPES[engine]
    using = " using parquet" if engine == "spark" else ""

    def table(name: str, columns: str, rows: list[tuple], select: str) -> list[str]:
        values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
        aliases = ", ".join(f"v{i}" for i in range(len(rows[0])))
        return [
            f"create table {schema}.{name} ({columns}){using}",
            f"insert into {schema}.{name} select {select} from (values {values}) as v({aliases})",
        ]

    return [
        *table(
            "tz_assignments",
            f"subject_id {string}, experiment_id {string}, variant_id {string}, "
            f"assigned_at {aware}",
            ASSIGNMENTS,
            f"v0, '{EXPERIMENT}', v1, cast(v2 as {aware})",
        ),
        *table(
            "tz_events",
            f"subject_id {string}, event_name {string}, event_at {string}, value {double}",
            events,
            "v0, v1, v2, v3",
        ),
        *table(
            "tz_tickets",
            f"user_id {string}, opened_at {aware}",
            TICKETS,
            f"v0, cast(v1 as {aware})",
        ),
    ]


def figure_queries(engine: str, schema: str) -> dict[str, str]:
    """The figures compared between runs.

    The figures compared between runs: per-subject values, the statistics mart, and the
    result and diagnostics tables (time stamps as text: a client would show them in its own
    zone).
    """
    string = TYPES[engine][0]

    def columns(table: str) -> str:
        return ", ".join(
            f"cast({c.name} as {string}) as {c.name}" if c.type in ("timestamp", "date") else c.name
            for c in TABLES[table]
        )

    return {
        "subjects": "select subject_id, metric_id, variant_id, "
        f"cast(first_exposed_at as {string}) as first_exposed_at, metric_value, "
        f"covariate_value from {schema}.fct_subject_metrics "
        "order by metric_id, subject_id",
        "statistics": "select variant_id, metric_id, n, sum_y, sum_y_squares, sum_x, "
        "sum_x_squares, sum_xy, n_with_pre_exposure_events, "
        "n_multi_variant_subjects, n_unknown_variant_subjects "
        f"from {schema}.fct_variant_metric_statistics "
        "order by variant_id, metric_id",
        "experiment_results": f"select {columns('experiment_results')} "
        f"from {schema}.experiment_results order by metric_id",
        "experiment_diagnostics": f"select {columns('experiment_diagnostics')} "
        f"from {schema}.experiment_diagnostics",
    }


def assert_figures_agree(
    reference: dict[str, list],
    other: dict[str, list],
    label: str,
    ignore: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Two runs' figures agree.

    Same rows, text equal, numbers within 1e-9 relative; run ids (and the result tables'
    columns in `ignore`) may differ.
    """
    for name, rows in reference.items():
        assert len(other[name]) == len(rows), f"{label}: {name} has {len(other[name])} rows"
        names = [c.name for c in TABLES[name]] if name in TABLES else []
        for index, (expected, actual) in enumerate(zip(rows, other[name], strict=True)):
            for position, (e, a) in enumerate(zip(expected, actual, strict=True)):
                where = f"{label}: {name} row {index} column {position}"
                if names and names[position] in {"run_id", *ignore}:
                    continue
                if isinstance(e, (int, float)) and not isinstance(e, bool):
                    np.testing.assert_allclose(
                        float(a), float(e), rtol=1e-9, atol=0, equal_nan=True, err_msg=where
                    )
                else:
                    assert _text(a) == _text(e), where


def _text(value: object) -> str | None:
    """Time stamps as 'YYYY-MM-DD HH:MM:SS[.f]' whichever way an engine prints them."""
    if value is None:
        return None
    text = str(value).replace("T", " ")
    if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+", text):
        text = text.rstrip("0").removesuffix(".")  # '12:00:00.500000' is '12:00:00.5'
    return text


def assert_hand_known(figures: dict[str, list], label: str, with_stamps: bool = True) -> None:
    """The expected figures, worked out by hand.

    The per-subject values and the statistics mart's counts and sums worked out above, and
    (with_stamps) the result tables' analysis time and date.
    """
    actual = {
        (metric, subject): (variant, _text(first), float(value), float(covariate))
        for subject, metric, variant, first, value, covariate in figures["subjects"]
    }
    expected = {
        (metric, subject): (
            "control" if subject.startswith("c") else "treatment",
            FIRST_EXPOSED[subject],
            float(value),
            float(covariate),
        )
        for metric, values in EXPECTED.items()
        for subject, (value, covariate) in values.items()
    }
    assert actual == expected, label
    for variant, metric, n, sum_y, _, sum_x, *_, n_multi, n_unknown in figures["statistics"]:
        rows = [v for s, v in EXPECTED[metric].items() if s.startswith(variant[0])]
        assert (n, float(sum_y), float(sum_x)) == (
            len(rows),
            float(sum(y for y, _ in rows)),
            float(sum(x for _, x in rows)),
        ), f"{label}: {variant} {metric}"
        assert (n_multi, n_unknown) == (1, 0), label
    assert len(figures["experiment_results"]) == len(EXPECTED), label
    for table in ("experiment_results", "experiment_diagnostics"):
        names = [c.name for c in TABLES[table]]
        for row in figures[table] if with_stamps else []:
            stamps = dict(zip(names, row, strict=True))
            assert _text(stamps["analysis_at"]) == ANALYSIS_AT.replace("T", " "), label
            assert _text(stamps["analysis_date"]) == ANALYSIS_AT[:10], label


# The fixture's events with one that no engine may read as a time, nor drop.
BAD_EVENTS = [*EVENTS, ("c1", "purchase", "2026-03-08 at noon", 1.0)]


def assert_names_the_bad_value(output: str) -> None:
    """A line of the run's output names the table, the column and the value."""
    assert any(
        "tz_events.event_at is not an ISO 8601 timestamp" in line and "2026-03-08 at noon" in line
        for line in output.splitlines()
    ), output[-3000:]


def xp_run(project: Path) -> list[str]:
    return ["run", "--project-dir", str(project), "--analysis-at", ANALYSIS_AT]


# --- DuckDB ----------------------------------------------------------------------------------


def _duckdb_fixture(path: Path, events: list[tuple] = EVENTS) -> None:
    connection = duckdb.connect(str(path))
    try:
        for statement in fixture_sql("duckdb", "main", events):
            connection.execute(statement)
    finally:
        connection.close()


def _duckdb_figures(path: Path) -> dict[str, list]:
    connection = duckdb.connect(str(path))
    try:
        return {
            name: [list(row) for row in connection.execute(query).fetchall()]
            for name, query in figure_queries("duckdb", "main").items()
        }
    finally:
        connection.close()


def test_duckdb_gives_one_utc_time_in_every_zone(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    figures = {}
    for zone in ZONES:
        path = tmp_path / f"{zone.replace('/', '_')}.duckdb"
        _duckdb_fixture(path)
        outcomes, output = run_in_time_zone(
            zone, [{"argv": xp_run(project)}], env={"XP_DUCKDB_PATH": str(path)}
        )
        assert outcomes[0]["exit_code"] == 0, output[-3000:]
        figures[zone] = _duckdb_figures(path)
        assert_hand_known(figures[zone], f"DuckDB, TZ={zone}")
        assert_figures_agree(figures["UTC"], figures[zone], f"DuckDB, TZ={zone}")


def test_unparseable_text_timestamp_fails_naming_the_column(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    path = tmp_path / "bad.duckdb"
    _duckdb_fixture(path, BAD_EVENTS)
    outcomes, output = run_in_time_zone(
        "UTC", [{"argv": xp_run(project)}], env={"XP_DUCKDB_PATH": str(path)}
    )
    assert outcomes[0]["exit_code"] == 1
    assert_names_the_bad_value(output)


# --- Postgres --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_port() -> Iterator[int]:
    with throwaway_postgres() as port:
        yield port


@pytest.mark.slow
def test_postgres_gives_one_utc_time_in_every_zone(tmp_path: Path, postgres_port: int) -> None:
    import psycopg2

    project = make_project(tmp_path)
    connection = psycopg2.connect(
        host="127.0.0.1", port=postgres_port, user="postgres", dbname=DATABASE
    )
    connection.autocommit = True
    figures = {}
    try:
        for zone in ZONES:
            schema = "tz_" + zone.replace("/", "_").lower()
            with connection.cursor() as cursor:
                cursor.execute(f"create schema {schema}")
                for statement in fixture_sql("postgres", schema):
                    cursor.execute(statement)
            outcomes, output = run_in_time_zone(
                zone,
                [{"argv": xp_run(project)}],
                env={
                    "XP_TARGET": "postgres",
                    "XP_POSTGRES_PORT": str(postgres_port),
                    "XP_POSTGRES_DATABASE": DATABASE,
                    "XP_POSTGRES_SCHEMA": schema,
                },
            )
            assert outcomes[0]["exit_code"] == 0, output[-3000:]
            with connection.cursor() as cursor:
                figures[zone] = {}
                for name, query in figure_queries("postgres", schema).items():
                    cursor.execute(query)
                    figures[zone][name] = [list(row) for row in cursor.fetchall()]
            assert_hand_known(figures[zone], f"Postgres, TZ=PGTZ={zone}")
            assert_figures_agree(figures["UTC"], figures[zone], f"Postgres, TZ=PGTZ={zone}")
        with connection.cursor() as cursor:
            cursor.execute("create schema tz_bad")
            for statement in fixture_sql("postgres", "tz_bad", BAD_EVENTS):
                cursor.execute(statement)
        outcomes, output = run_in_time_zone(
            "UTC",
            [{"argv": xp_run(project)}],
            env={
                "XP_TARGET": "postgres",
                "XP_POSTGRES_PORT": str(postgres_port),
                "XP_POSTGRES_DATABASE": DATABASE,
                "XP_POSTGRES_SCHEMA": "tz_bad",
            },
        )
        assert outcomes[0]["exit_code"] == 1
        assert_names_the_bad_value(output)
    finally:
        connection.close()


# --- Spark -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_spark_gives_one_utc_time_in_any_zone(tmp_path: Path) -> None:
    """Spark in a JVM whose default zone is not UTC.

    One JVM (Spark's start-up is most of a run), its default zone Los Angeles: the profile
    sets the session to UTC over a session left in Tokyo, and the figures equal DuckDB's UTC
    run. A profile without that setting stops the build, naming the session's zone; so does
    an unparseable text timestamp, naming the column.
    """
    require_spark()
    project = make_project(tmp_path)
    reference = tmp_path / "reference.duckdb"
    _duckdb_fixture(reference)
    outcomes, output = run_in_time_zone(
        "UTC", [{"argv": xp_run(project)}], env={"XP_DUCKDB_PATH": str(reference)}
    )
    assert outcomes[0]["exit_code"] == 0, output[-3000:]
    expected = _duckdb_figures(reference)

    unpinned = tmp_path / "unpinned"
    unpinned.mkdir()
    profile = (project / "profiles.yml").read_text()
    without_pin = re.sub(
        r"\n +server_side_parameters:\n(.*\n)*? +spark[.]sql[.]session"
        r"[.]timeZone: UTC",
        "",
        profile,
    )
    assert without_pin != profile and "spark.sql.session.timeZone: UTC" not in without_pin
    (unpinned / "profiles.yml").write_text(without_pin)
    steps = [
        {
            "env": {"XP_TARGET": "spark", "XP_SPARK_SCHEMA": "tz_pinned"},
            "spark_sql": ["create schema tz_pinned", *fixture_sql("spark", "tz_pinned")],
            "spark_time_zone": "Asia/Tokyo",
            "argv": xp_run(project),
            "spark_queries": figure_queries("spark", "tz_pinned"),
        },
        {
            "env": {"XP_SPARK_SCHEMA": "tz_unpinned"},
            "spark_sql": ["create schema tz_unpinned", *fixture_sql("spark", "tz_unpinned")],
            "spark_time_zone": "Asia/Tokyo",
            "argv": [*xp_run(project), "--profiles-dir", str(unpinned)],
        },
        {
            "env": {"XP_SPARK_SCHEMA": "tz_bad"},
            "spark_sql": ["create schema tz_bad", *fixture_sql("spark", "tz_bad", BAD_EVENTS)],
            "argv": xp_run(project),
        },
    ]
    outcomes, output = run_in_time_zone("America/Los_Angeles", steps)
    assert outcomes[0]["exit_code"] == 0, output[-3000:]
    figures = outcomes[0]["rows"]
    label = "Spark, JVM in Los Angeles, session set to Tokyo before the run"
    assert_hand_known(figures, label, with_stamps=False)
    assert_figures_agree(expected, figures, label, ignore={"analysis_at"})
    assert outcomes[1]["exit_code"] == 1
    assert "The Spark session's time zone is 'Asia/Tokyo'; the models need UTC" in output
    assert outcomes[2]["exit_code"] == 1
    assert_names_the_bad_value(output)
    # analysis_at too: the Python step hands pyspark UTC-aware datetimes.
    assert_hand_known(figures, label)


def test_the_default_analysis_time_is_utc_in_any_zone(tmp_path: Path) -> None:
    """The default analysis time is the current UTC time.

    Without --analysis-at, the models cut the data at the current UTC time, not at the
    session's wall clock (Tokyo is 9 hours ahead).
    """
    dbt = Path(sys.executable).with_name("dbt")
    process = subprocess.run(
        [
            str(dbt),
            "show",
            "--inline",
            "select {{ xp_analysis_at_sql() }} as analysis_at",
            "--project-dir",
            str(REPO),
            "--profiles-dir",
            str(REPO),
            "--target-path",
            str(tmp_path / "target"),
            "--output",
            "json",
            "--log-format",
            "text",
        ],
        env={
            **os.environ,
            "TZ": "Asia/Tokyo",
            "DO_NOT_TRACK": "1",
            "XP_DUCKDB_PATH": str(tmp_path / "now.duckdb"),
        },
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    shown = re.search(r'"analysis_at": "([^"]+)"', process.stdout)
    assert shown, process.stdout[-2000:]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert abs((pd.Timestamp(shown.group(1)) - pd.Timestamp(now)).total_seconds()) < 600
