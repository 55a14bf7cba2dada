"""`xp plan` on Postgres and on Spark gives DuckDB's plan statistics and plan table.

Slow: starts a throw-away Postgres server and a local Spark session. Both demo experiments
are planned, so the models' per-experiment unions, both event sources, winsorization and
the ratio metrics run on each engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis_py.cli import main
from analysis_py.result_tables import PLAN_MART
from tests.conftest import REPO
from tests.engines import DATABASE, require_spark, throwaway_postgres
from tests.tables import assert_tables_agree

pytestmark = pytest.mark.slow

SCHEMA = "xp_plan_engine_test"
PLAN = [
    "plan",
    "--project-dir",
    str(REPO),
    "--experiment",
    "checkout_redesign",
    "--experiment",
    "onboarding_flow",
    "--history-end",
    "2026-04-10",
]
#: Every number of both tables agrees within rtol 1e-9 (assert_tables_agree): the same
#: sums, added in another order by each engine.
PLAN_TABLE_KEYS = {
    PLAN_MART: ["experiment_id", "metric_id"],
    "experiment_plan": ["experiment_id", "metric_id"],
}


@pytest.fixture(scope="module")
def duckdb_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """The plan tables of a DuckDB run, the reference."""
    path = tmp_path_factory.mktemp("plan") / "plan.duckdb"
    previous = os.environ.get("XP_DUCKDB_PATH")
    os.environ["XP_DUCKDB_PATH"] = str(path)
    try:
        assert main(PLAN) == 0
    finally:
        if previous is None:
            del os.environ["XP_DUCKDB_PATH"]
        else:
            os.environ["XP_DUCKDB_PATH"] = previous
    with duckdb.connect(str(path)) as connection:
        tables = {t: connection.execute(f"select * from {t}").df() for t in PLAN_TABLE_KEYS}
    # The reference must hold figures, or agreeing on nulls would prove nothing.
    assert tables["experiment_plan"].subjects_needed.notna().sum() >= 10
    return tables


@pytest.fixture(scope="module")
def postgres_port() -> Iterator[int]:
    with throwaway_postgres() as port:
        yield port


def _assert_plans_agree(
    reference: dict[str, pd.DataFrame], actual: dict[str, pd.DataFrame]
) -> None:
    for table, keys in PLAN_TABLE_KEYS.items():
        assert_tables_agree(reference[table], actual[table], keys, table)


def test_postgres_plan_agrees_with_duckdb(
    duckdb_plan: dict[str, pd.DataFrame], postgres_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg2

    for name, value in {
        "XP_TARGET": "postgres",
        "XP_POSTGRES_PORT": str(postgres_port),
        "XP_POSTGRES_DATABASE": DATABASE,
        "XP_POSTGRES_SCHEMA": SCHEMA,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(PLAN) == 0
    connection = psycopg2.connect(
        host="127.0.0.1", port=postgres_port, user="postgres", dbname=DATABASE
    )
    actual = {}
    try:
        for table in PLAN_TABLE_KEYS:
            with connection.cursor() as cursor:
                cursor.execute(f"select * from {SCHEMA}.{table}")
                names = [d.name for d in cursor.description]
                actual[table] = pd.DataFrame(cursor.fetchall(), columns=names)
    finally:
        connection.close()
    _assert_plans_agree(duckdb_plan, actual)


def test_spark_plan_agrees_with_duckdb(
    duckdb_plan: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_spark()
    # Session mode writes metastore_db/, derby.log and spark-warehouse/ into the working
    # directory: keep them in a temporary one.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XP_TARGET", "spark")
    monkeypatch.setenv("XP_SPARK_SCHEMA", SCHEMA)
    assert main(PLAN) == 0
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.enableHiveSupport().getOrCreate()
    actual = {
        table: pd.DataFrame([row.asDict() for row in spark.table(f"{SCHEMA}.{table}").collect()])
        for table in PLAN_TABLE_KEYS
    }
    _assert_plans_agree(duckdb_plan, actual)
