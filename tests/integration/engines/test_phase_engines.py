"""A dated and a phased experiment on Postgres and on Spark give DuckDB's marts and results.

Slow: starts a throw-away Postgres server and a local Spark session. The data and config
are those of the DuckDB phase test (tests/phases.py): exposures before, between and after
the phases, events and tickets weeks around them. Each engine runs `xp run` at the same
analysis time, and every mart and result table must agree with DuckDB's at rtol 1e-9.

The date partition columns are bounded by text literals ('YYYY-MM-DD'), which a `date`
column and a text column both accept: on Postgres the events' partition column is text
and the tickets' a date (then, once more, the events' a date too); on Spark the events
table is Parquet partitioned by a date and the tickets' column is text. On Postgres, a
night after the phase bounds were edited also ends where DuckDB's full run of the edited
config does.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from analysis_py.cli import main
from analysis_py.config import load_config
from analysis_py.marts import MART
from tests.engines import DATABASE, require_spark, throwaway_postgres
from tests.phases import (
    ANALYSIS_AT,
    CONFIG,
    EARLY_ANALYSIS_AT,
    EDITED_CONFIG,
    generate_tables,
    load_tables,
    make_project,
)
from tests.tables import TABLE_KEYS, assert_tables_agree

pytestmark = pytest.mark.slow

SCHEMA = "xp_phase_test"
SUBJECT_KEYS = ["experiment_id", "subject_id", "metric_id"]
RESULT_KEYS = ["experiment_id", "metric_id", "treatment_variant_id"]
#: Every mart and result table the config builds, with the keys that identify a row (it has
#: no dimensions: their mart is not built and their result tables are empty).
TABLES = {
    **{
        table: keys
        for table, keys in TABLE_KEYS.items()
        if table != "fct_variant_metric_dimension_statistics"
    },
    "fct_subject_metrics": SUBJECT_KEYS,
    "experiment_scorecard": RESULT_KEYS,
    "experiment_scorecard_over_time": [
        "experiment_id",
        "day_number",
        "metric_id",
        "treatment_variant_id",
    ],
    "experiment_scorecard_by_dimension": TABLE_KEYS["experiment_dimension_results"],
}
#: The bounds of the events' date partitions in the compiled scan (test_phases.py derives
#: them): 03-01 12:00 to 03-15 00:00, a day wider.
EVENTS_PARTITION_BOUND = "event_on >= '2026-02-28' and event_on <= '2026-03-16'"
TICKETS_PARTITION_BOUND = "opened_on >= '2026-03-02' and opened_on <= '2026-03-15'"


def postgres_type(column: pd.Series) -> str:
    """The Postgres type of a generated column: its times are plain timestamps in UTC."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return "timestamp"
    return "double precision" if pd.api.types.is_float_dtype(column) else "text"


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_tables()


def duckdb_run(root: Path, tables: dict[str, pd.DataFrame], config: str) -> dict[str, pd.DataFrame]:
    """The marts and result tables of one full `xp run` of `config` on DuckDB."""
    import duckdb

    path = root / "warehouse.duckdb"
    project = make_project(root, config)
    load_tables(path, tables)
    settings = {"XP_DUCKDB_PATH": str(path), "XP_TARGET": "duckdb"}
    previous = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        # A backfill: the daily statistics replay every day, as Spark's every run does.
        assert main(["backfill", "--project-dir", str(project), "--analysis-at", ANALYSIS_AT]) == 0
    finally:
        for name, value in previous.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
    connection = duckdb.connect(str(path))
    try:
        return {table: connection.execute(f"select * from {table}").df() for table in TABLES}
    finally:
        connection.close()


@pytest.fixture(scope="module")
def duckdb_tables(
    tables: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """The marts and result tables of the phase config, run on DuckDB."""
    return duckdb_run(tmp_path_factory.mktemp("phases-duckdb"), tables, CONFIG)


@pytest.fixture(scope="module")
def duckdb_edited_tables(
    tables: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """The same of the edited config (tests/phases.py, EDITED_CONFIG)."""
    return duckdb_run(tmp_path_factory.mktemp("phases-edited-duckdb"), tables, EDITED_CONFIG)


def assert_engine_agrees(duckdb_tables: dict[str, pd.DataFrame], engine_tables: dict) -> None:
    """Every table agrees; the phased experiment has results, so the comparison is not empty."""
    for table, keys in TABLES.items():
        assert_tables_agree(duckdb_tables[table], engine_tables[table], keys, table)
    statistics = duckdb_tables[MART]
    phased = statistics[statistics.experiment_id == "phased"]
    assert sorted(phased.expected_share.unique()) == [0.4, 0.6]
    assert set(duckdb_tables["experiment_results"].experiment_id) == {"phased", "dated"}
    assert len(duckdb_tables["fct_subject_metrics"]) > 300


def compiled(project: Path, model: str) -> str:
    return next((project / "target" / "compiled").rglob(f"{model}.sql")).read_text()


# --- Postgres ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_port() -> Iterator[int]:
    with throwaway_postgres() as port:
        yield port


def load_postgres_tables(cursor, tables: dict[str, pd.DataFrame], schema: str = SCHEMA) -> None:
    """Write the generated tables to Postgres, in `schema`.

    The events' event_on is 'YYYY-MM-DD' text, the tickets' opened_on a date and their
    opened_at a time-zone-aware timestamp.
    """
    from psycopg2.extras import execute_values

    events, tickets = tables["events"], tables["tickets"]
    frames = {
        **tables,
        "events": events.assign(event_on=events.event_on.astype(str)),
        "tickets": tickets.assign(opened_at=tickets.opened_at.dt.strftime("%Y-%m-%dT%H:%M:%SZ")),
    }
    cursor.execute(f"create schema {schema}")
    for name, frame in frames.items():
        types = {column: postgres_type(frame[column]) for column in frame.columns}
        if name == "tickets":
            types.update(opened_on="date", opened_at="timestamptz")
        columns = ", ".join(f"{column} {kind}" for column, kind in types.items())
        cursor.execute(f"create table {schema}.{name} ({columns})")
        rows = [tuple(row) for row in frame.astype(object).itertuples(index=False)]
        execute_values(cursor, f"insert into {schema}.{name} values %s", rows)


def postgres_table(cursor, table: str, schema: str = SCHEMA) -> pd.DataFrame:
    """A table's rows; of a history table, the latest run's."""
    latest = (
        f" where analysis_date = (select max(analysis_date) from {schema}.{table})"
        if table.endswith("_history")
        else ""
    )
    cursor.execute(f"select * from {schema}.{table}{latest}")
    return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])


def test_postgres_phases_agree_with_duckdb(
    duckdb_tables: dict[str, pd.DataFrame],
    tables: dict[str, pd.DataFrame],
    postgres_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psycopg2
    from dbt.cli.main import dbtRunner

    for name, value in {
        "XP_TARGET": "postgres",
        "XP_POSTGRES_PORT": str(postgres_port),
        "XP_POSTGRES_DATABASE": DATABASE,
        "XP_POSTGRES_SCHEMA": SCHEMA,
        "DO_NOT_TRACK": "1",
    }.items():
        monkeypatch.setenv(name, value)
    connection = psycopg2.connect(
        host="127.0.0.1", port=postgres_port, user="postgres", dbname=DATABASE
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            load_postgres_tables(cursor, tables)
            cursor.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                f"where table_schema = '{SCHEMA}' and column_name in ('event_on', 'opened_on')"
            )
            assert sorted(cursor.fetchall()) == [
                ("events", "event_on", "text"),
                ("tickets", "opened_on", "date"),
            ]
        project = make_project(tmp_path)
        assert main(["backfill", "--project-dir", str(project), "--analysis-at", ANALYSIS_AT]) == 0
        # The partition bounds were compiled against the text and the date column and ran.
        assert EVENTS_PARTITION_BOUND in compiled(project, "stg_experimentation__events")
        assert TICKETS_PARTITION_BOUND in compiled(project, "int_metric_events_joined_to_exposures")
        with connection.cursor() as cursor:
            assert_engine_agrees(
                duckdb_tables, {table: postgres_table(cursor, table) for table in TABLES}
            )
            staged = postgres_table(cursor, "stg_experimentation__events")
        assert staged.event_at.min() >= pd.Timestamp("2026-03-01 12:00:00")
        assert staged.event_at.max() < pd.Timestamp("2026-03-15")

        # The contract's events table with a date partition column: the same bound runs
        # and stages the same events.
        with connection.cursor() as cursor:
            cursor.execute(
                f"create table {SCHEMA}.events_by_date as select subject_id, event_name, "
                f"event_at, value, cast(event_on as date) as event_on from {SCHEMA}.events"
            )
        variables = {
            **load_config(project / "experiments.yml").to_dbt_vars(),
            "xp_events_table": "events_by_date",
        }
        result = dbtRunner().invoke(
            [
                "run",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--select",
                "stg_experimentation__events",
                "--vars",
                json.dumps(variables),
            ]
        )
        assert result.success, result.exception
        assert EVENTS_PARTITION_BOUND in compiled(project, "stg_experimentation__events")
        assert '"events_by_date"' in compiled(project, "stg_experimentation__events")
        with connection.cursor() as cursor:
            by_date = postgres_table(cursor, "stg_experimentation__events")
        key = ["subject_id", "event_name", "event_at", "value"]
        assert_tables_agree(staged, by_date, key, "stg_experimentation__events by date")
    finally:
        connection.close()


def test_postgres_night_after_a_phase_edit_agrees_with_duckdb(
    duckdb_edited_tables: dict[str, pd.DataFrame],
    tables: dict[str, pd.DataFrame],
    postgres_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An incremental night after the phase bounds moved ends where DuckDB's full run does.

    On Postgres the exposures and per-subject days are incremental models: the first night,
    while the phase runs, stores rows that the edit puts out of bounds, and the second must
    not keep them.
    """
    import psycopg2

    schema = "xp_phase_edit_test"
    for name, value in {
        "XP_TARGET": "postgres",
        "XP_POSTGRES_PORT": str(postgres_port),
        "XP_POSTGRES_DATABASE": DATABASE,
        "XP_POSTGRES_SCHEMA": schema,
        "DO_NOT_TRACK": "1",
    }.items():
        monkeypatch.setenv(name, value)
    connection = psycopg2.connect(
        host="127.0.0.1", port=postgres_port, user="postgres", dbname=DATABASE
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            load_postgres_tables(cursor, tables, schema)
        project = make_project(tmp_path)
        run = ["run", "--project-dir", str(project), "--analysis-at"]
        assert main([*run, EARLY_ANALYSIS_AT]) == 0
        (project / "experiments.yml").write_text(EDITED_CONFIG)
        # The night after the edit, as a backfill so that its daily statistics are DuckDB's
        # (its incremental models continue as on any night).
        assert main(["backfill", *run[1:], ANALYSIS_AT]) == 0
        assert "2026-03-09 06:00:00" in compiled(project, "int_exposures_deduplicated")
        with connection.cursor() as cursor:
            cursor.execute(
                f"select count(distinct analysis_date) from {schema}.experiment_results_history"
            )
            assert cursor.fetchone()[0] == 2  # both nights, the latest compared
            night = {table: postgres_table(cursor, table, schema) for table in TABLES}
    finally:
        connection.close()
    assert_engine_agrees(duckdb_edited_tables, night)


# --- Spark ------------------------------------------------------------------------------------


def load_spark_tables(spark, tables: dict[str, pd.DataFrame]) -> None:
    """Write the generated tables to Spark, in SCHEMA.

    The events are Parquet partitioned by the date event_on; the tickets' opened_on is
    'YYYY-MM-DD' text. Times go in as UTC text, cast in a UTC session.
    """
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.sql(f"create schema if not exists {SCHEMA}")
    casts = {
        "assignments": "subject_id, experiment_id, variant_id, "
        "cast(assigned_at as timestamp) as assigned_at",
        "events": "subject_id, event_name, cast(event_at as timestamp) as event_at, "
        "cast(value as double) as value, cast(event_on as date) as event_on",
        "tickets": "user_id, cast(opened_at as timestamp) as opened_at, opened_on",
    }
    for name, frame in tables.items():
        text = frame.astype(str).assign(
            **{
                column: frame[column].dt.strftime("%Y-%m-%d %H:%M:%S")
                for column in frame.columns
                if pd.api.types.is_datetime64_any_dtype(frame[column])
            }
        )
        rows = [tuple(row) for row in text.itertuples(index=False)]
        data = spark.createDataFrame(rows, list(text.columns)).selectExpr(*casts[name].split(", "))
        writer = data.write.format("parquet").mode("overwrite")
        if name == "events":
            writer = writer.partitionBy("event_on")
        writer.saveAsTable(f"{SCHEMA}.{name}")


def test_spark_phases_agree_with_duckdb(
    duckdb_tables: dict[str, pd.DataFrame],
    tables: dict[str, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_spark()
    project = make_project(tmp_path)
    # Session mode writes metastore_db/, derby.log and spark-warehouse/ into the working
    # directory: keep them in a temporary one.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XP_TARGET", "spark")
    monkeypatch.setenv("XP_SPARK_SCHEMA", SCHEMA)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.enableHiveSupport().getOrCreate()
    load_spark_tables(spark, tables)
    assert dict(spark.table(f"{SCHEMA}.tickets").dtypes)["opened_on"] == "string"
    assert spark.table(f"{SCHEMA}.events").count() == len(tables["events"])
    assert main(["run", "--project-dir", str(project), "--analysis-at", ANALYSIS_AT]) == 0
    assert EVENTS_PARTITION_BOUND in compiled(project, "stg_experimentation__events")
    assert TICKETS_PARTITION_BOUND in compiled(project, "int_metric_events_joined_to_exposures")
    # The staged events read only the partitions inside the bound, of the 50 days stored.
    read = partition_days(spark.table(f"{SCHEMA}.stg_experimentation__events").inputFiles())
    stored = partition_days(spark.table(f"{SCHEMA}.events").inputFiles())
    assert len(stored) == tables["events"].event_on.nunique() == 50
    assert read == {str(day.date()) for day in pd.date_range("2026-02-28", "2026-03-16")}

    engine_tables = {}
    for table in TABLES:
        frame = spark.table(f"{SCHEMA}.{table}")
        engine_tables[table] = pd.DataFrame(
            [list(row) for row in frame.collect()], columns=frame.columns
        )
    assert_engine_agrees(duckdb_tables, engine_tables)


def partition_days(files: list[str]) -> set[str]:
    """The event_on partitions that Parquet files belong to."""
    found = {re.search(r"event_on=(\d{4}-\d{2}-\d{2})", path) for path in files}
    assert None not in found, files
    return {match.group(1) for match in found if match}
