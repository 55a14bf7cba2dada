"""Quantile metrics on Postgres and on Spark give DuckDB's quantile mart and results.

Slow: starts a throw-away Postgres server and a local Spark session. The config is the
quantile test's (tests/integration/dbt/test_quantile_metrics.py): sums and counts, zeros
counted and ignored, a second event source.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DemoRun
from tests.engines import DATABASE, require_spark, throwaway_postgres
from tests.quantiles import duckdb_quantile_run, quantile_config, run_quantiles
from tests.tables import TABLE_KEYS, assert_tables_agree

pytestmark = pytest.mark.slow

SCHEMA = "xp_quantile_test"
TABLES = {
    "fct_variant_metric_quantiles": ["experiment_id", "variant_id", "metric_id"],
    "experiment_results": TABLE_KEYS["experiment_results"],
}


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return duckdb_quantile_run(tmp_path_factory.mktemp("quantiles"))


@pytest.fixture(scope="module")
def postgres_port() -> Iterator[int]:
    with throwaway_postgres() as port:
        yield port


def test_postgres_quantiles_agree_with_duckdb(
    quantile_run: DemoRun,
    postgres_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psycopg2

    for name, value in {
        "XP_TARGET": "postgres",
        "XP_POSTGRES_PORT": str(postgres_port),
        "XP_POSTGRES_DATABASE": DATABASE,
        "XP_POSTGRES_SCHEMA": SCHEMA,
    }.items():
        monkeypatch.setenv(name, value)
    run_quantiles(quantile_config(tmp_path))
    connection = psycopg2.connect(
        host="127.0.0.1", port=postgres_port, user="postgres", dbname=DATABASE
    )
    try:
        for table, keys in TABLES.items():
            with connection.cursor() as cursor:
                cursor.execute(f"select * from {SCHEMA}.{table}")
                names = [d.name for d in cursor.description]
                actual = pd.DataFrame(cursor.fetchall(), columns=names)
            expected = quantile_run.query(f"select * from {table}")
            assert_tables_agree(expected, actual, keys, table)
    finally:
        connection.close()


def test_spark_quantiles_agree_with_duckdb(
    quantile_run: DemoRun,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_spark()
    config = quantile_config(tmp_path)
    # Session mode writes metastore_db/, derby.log and spark-warehouse/ into the working
    # directory: keep them in a temporary one.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XP_TARGET", "spark")
    monkeypatch.setenv("XP_SPARK_SCHEMA", SCHEMA)
    from pyspark.sql import SparkSession

    run_quantiles(config)
    spark = SparkSession.builder.enableHiveSupport().getOrCreate()
    for table, keys in TABLES.items():
        rows = spark.table(f"{SCHEMA}.{table}").collect()
        actual = pd.DataFrame([row.asDict() for row in rows])
        expected = quantile_run.query(f"select * from {table}")
        assert_tables_agree(expected, actual, keys, table)
