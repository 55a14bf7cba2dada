"""The demo through a Spark Thrift server gives the same tables as on DuckDB.

A cluster is reached over the network, not in the process: these tests start a throw-away
Spark Thrift server (tests/engines.py) and use the profile's spark_thrift target, dbt-spark's
thrift method. The server runs in another time zone than UTC, so agreement also shows that
the profile's session parameter is what makes the session UTC.

Slow: starts the server, then builds the demo over it.
"""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from analysis_py.cli import main
from tests.conftest import REPO, DemoRun
from tests.tables import TABLE_KEYS, assert_tables_agree

pytestmark = pytest.mark.slow

SCHEMA = "xp_thrift_test"
TARGET = "spark_thrift"


@pytest.fixture
def thrift_target(spark_thrift_server: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """The spark_thrift target pointed at the test's server and schema; returns the port."""
    monkeypatch.setenv("XP_SPARK_HOST", "127.0.0.1")
    monkeypatch.setenv("XP_SPARK_PORT", str(spark_thrift_server))
    monkeypatch.setenv("XP_SPARK_SCHEMA", SCHEMA)
    return spark_thrift_server


def read_table(port: int, table: str, reference: pd.DataFrame) -> pd.DataFrame:
    """A table of the test's schema, read over Thrift, in the reference's value types.

    PyHive returns a date as text: it is parsed back to the reference's type, so that the
    comparison sees values, not their transport.
    """
    from pyhive import hive

    latest = (
        f" where analysis_date = (select max(analysis_date) from {SCHEMA}.{table})"
        if table.endswith("_history")
        else ""
    )
    connection = hive.connect(host="127.0.0.1", port=port, username="xp")
    try:
        cursor = connection.cursor()
        cursor.execute(f"select * from {SCHEMA}.{table}{latest}")
        names = [d[0] for d in cursor.description]
        actual = pd.DataFrame(cursor.fetchall(), columns=names)
    finally:
        connection.close()
    for column in reference.columns.intersection(actual.columns):
        expected = reference[column].dropna()
        if pd.api.types.is_datetime64_any_dtype(expected):
            actual[column] = pd.to_datetime(actual[column])
        elif len(expected) and isinstance(expected.iloc[0], datetime.date):
            actual[column] = pd.to_datetime(actual[column]).dt.date
    return actual


def test_the_scheduler_path_over_thrift_agrees_with_duckdb(
    demo_run: DemoRun, thrift_target: int, capsys: pytest.CaptureFixture
) -> None:
    """The documented nightly path over Thrift: every mart and result table equals DuckDB's.

    `dbt build --exclude tag:xp_results+ --vars "$(xp dbt-vars)" && xp analyze`
    (docs/nightly-runs.md): dbt's own command line builds the marts, then `xp analyze`
    writes the results through the same target. One build: `xp run` makes the same dbt
    calls in its own process, and is run on every engine elsewhere.
    """
    from dbt.cli.main import dbtRunner

    at = demo_run.analysis_at.isoformat()
    capsys.readouterr()
    assert main(["dbt-vars", "--project-dir", str(REPO), "--analysis-at", at]) == 0
    variables = capsys.readouterr().out.strip()
    result = dbtRunner().invoke(
        [
            "build",
            "--project-dir",
            str(REPO),
            "--profiles-dir",
            str(REPO),
            "--target",
            TARGET,
            "--exclude",
            "tag:xp_results+",
            "--vars",
            variables,
        ]
    )
    assert result.success, result.exception
    code = main(["analyze", "--project-dir", str(REPO), "--target", TARGET])
    assert code == 0, capsys.readouterr().err
    for table in TABLE_KEYS:
        expected = demo_run.query(f"select * from {table}")
        actual = read_table(thrift_target, table, expected)
        assert_tables_agree(expected, actual, TABLE_KEYS[table], table)
