"""The same demo on Postgres and on Spark gives the same tables as on DuckDB.

Slow: starts a throw-away Postgres server and a local Spark session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from analysis_py.cli import main
from tests.conftest import REPO, DemoRun
from tests.engines import DATABASE, require_spark, throwaway_postgres
from tests.tables import TABLE_KEYS, assert_tables_agree

DAILY = "fct_variant_metric_daily_statistics"

pytestmark = pytest.mark.slow

SCHEMA = "xp_engine_test"


def reference_tables(demo_run: DemoRun) -> dict[str, pd.DataFrame]:
    return {table: demo_run.query(f"select * from {table}") for table in TABLE_KEYS}


@pytest.fixture(scope="module")
def postgres_port() -> Iterator[int]:
    with throwaway_postgres() as port:
        yield port


def test_postgres_agrees_with_duckdb(
    demo_run: DemoRun, postgres_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg2

    for name, value in {
        "XP_TARGET": "postgres",
        "XP_POSTGRES_PORT": str(postgres_port),
        "XP_POSTGRES_DATABASE": DATABASE,
        "XP_POSTGRES_SCHEMA": SCHEMA,
    }.items():
        monkeypatch.setenv(name, value)
    # Two nights: the second is incremental (delete+insert on Postgres) and must end where
    # DuckDB's one full build at the same analysis time does.
    assert main(["run", "--project-dir", str(REPO), "--analysis-at", "2026-03-27T00:00"]) == 0
    connection = psycopg2.connect(
        host="127.0.0.1", port=postgres_port, user="postgres", dbname=DATABASE
    )
    try:
        # As if the first night had run an earlier version, without this column: the second
        # night adds it to the history table.
        with connection.cursor() as cursor:
            cursor.execute(
                f"alter table {SCHEMA}.experiment_results_history drop column config_hash"
            )
        connection.commit()
        assert (
            main(
                [
                    "run",
                    "--project-dir",
                    str(REPO),
                    "--analysis-at",
                    demo_run.analysis_at.isoformat(),
                ]
            )
            == 0
        )
        with connection.cursor() as cursor:
            # The second night continued the incremental models rather than rebuilding them.
            cursor.execute(
                f"select model_name from {SCHEMA}.xp_incremental_state"
                " where rebuilt_at < loaded_at order by model_name"
            )
            assert [row[0] for row in cursor.fetchall()] == [
                "int_exposures_deduplicated",
                "int_subject_metric_recent_days",
                "int_subject_metric_values",
            ]
            # Two snapshots of the daily statistics; the last equals the replay's last day
            # (the reference is a backfill at the same time).
            cursor.execute(f"select * from {SCHEMA}.{DAILY}")
            snapshots = pd.DataFrame(
                cursor.fetchall(), columns=[d.name for d in cursor.description]
            )
        connection.commit()  # else the open transaction's lock blocks the next run's rewrite
        assert snapshots.as_of_date.nunique() == 2
        replayed = reference_tables(demo_run)[DAILY]
        replayed_days = pd.to_datetime(replayed.as_of_date)
        snapshot_days = pd.to_datetime(snapshots.as_of_date)
        last_day = snapshot_days.max()
        # Each experiment's last replayed day up to it (a replay writes the days that changed).
        last_replayed_days = (
            replayed_days[replayed_days <= last_day]
            .groupby(replayed.experiment_id)
            .transform("max")
        )
        last_replayed = replayed[replayed_days == last_replayed_days.reindex(replayed.index)]
        assert_tables_agree(
            last_replayed,
            snapshots[snapshot_days == last_day],
            ["experiment_id", "variant_id", "metric_id"],
            DAILY,
            ignore=frozenset({"as_of_date", "day_number"}),
        )
        # A backfill replays every day, on the incremental models of the two nights.
        assert (
            main(
                [
                    "backfill",
                    "--project-dir",
                    str(REPO),
                    "--analysis-at",
                    demo_run.analysis_at.isoformat(),
                ]
            )
            == 0
        )
        for table, expected in reference_tables(demo_run).items():
            latest = (
                f" where analysis_date = (select max(analysis_date) from {SCHEMA}.{table})"
                if table.endswith("_history")
                else ""
            )
            with connection.cursor() as cursor:
                cursor.execute(f"select * from {SCHEMA}.{table}{latest}")
                names = [d.name for d in cursor.description]
                actual = pd.DataFrame(cursor.fetchall(), columns=names)
            assert_tables_agree(expected, actual, TABLE_KEYS[table], table)
    finally:
        connection.close()


def test_spark_agrees_with_duckdb(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_spark()
    # Session mode writes metastore_db/, derby.log and spark-warehouse/ into the working
    # directory: keep them in a temporary one.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XP_TARGET", "spark")
    monkeypatch.setenv("XP_SPARK_SCHEMA", SCHEMA)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.enableHiveSupport().getOrCreate()
    # A diagnostics history table as an earlier version with fewer columns would have left
    # it: the run adds the missing columns and inserts in the table's own column order.
    spark.sql(f"create schema if not exists {SCHEMA}")
    spark.sql(
        f"create table {SCHEMA}.experiment_diagnostics_history (experiment_id string, "
        "run_id string, analysis_date date) using parquet partitioned by (analysis_date)"
    )
    assert main(["run", "--project-dir", str(REPO)]) == 0

    for table, expected in reference_tables(demo_run).items():
        rows = spark.table(f"{SCHEMA}.{table}").collect()
        actual = pd.DataFrame([row.asDict() for row in rows])
        assert_tables_agree(expected, actual, TABLE_KEYS[table], table)
