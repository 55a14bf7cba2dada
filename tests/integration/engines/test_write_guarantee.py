"""A write that fails half-way leaves the previous results, complete, on every engine.

Through the analysis step's own bridge (dbt's adapter, the macros of macros/), the demo's
result tables are written once; a second write then fails at the third table's insert, with
a real error from the engine (tests/integration/engines/faults.py). Every result table, latest
and history, must still hold the first write's rows, all of them. DuckDB is quick; Postgres
(a throw-away server) and Spark (a session in this process) are slow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from analysis_py.config import load_config
from analysis_py.result_tables import HISTORY_TABLES, LATEST_TABLES, NIGHTLY_TABLES
from analysis_py.warehouse.bridge import WarehouseError, load_target, open_warehouse
from tests.conftest import DEMO_CONFIG, REPO, DemoRun
from tests.engines import DATABASE, require_spark, throwaway_postgres
from tests.integration.engines.faults import fail_statement, inserts_into
from tests.tables import TABLE_KEYS, assert_tables_agree

SCHEMA = "xp_write_guarantee"
#: The table whose insert fails: the third one written.
FAILING_TABLE = list(LATEST_TABLES)[2]


@pytest.fixture()
def duckdb_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("XP_DUCKDB_PATH", str(tmp_path / "guarantee.duckdb"))
    return "duckdb"


@pytest.fixture(scope="module")
def postgres_port() -> Iterator[int]:
    with throwaway_postgres() as port:
        yield port


@pytest.fixture()
def postgres_target(postgres_port: int, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in {
        "XP_POSTGRES_PORT": str(postgres_port),
        "XP_POSTGRES_DATABASE": DATABASE,
        "XP_POSTGRES_SCHEMA": SCHEMA,
    }.items():
        monkeypatch.setenv(name, value)
    return "postgres"


@pytest.fixture()
def spark_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    require_spark()
    # Session mode writes metastore_db/ and spark-warehouse/ into the working directory.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XP_SPARK_SCHEMA", SCHEMA)
    return "spark"


def latest_tables(demo_run: DemoRun, write: int) -> dict[str, pd.DataFrame]:
    """The demo's latest result tables, as the ``write``-th run on the same date wrote them.

    The run's time is the demo's, ``write`` seconds later: it tells the writes apart.
    """
    tables = {name: demo_run.query(f"select * from {name}") for name in LATEST_TABLES}
    for frame in tables.values():
        frame["analysis_at"] = demo_run.analysis_at + pd.Timedelta(seconds=write)
        if "run_id" in frame:
            frame["run_id"] = f"write {write}"
    return tables


def read_all(target_name: str) -> dict[str, pd.DataFrame]:
    """Every result table, latest and history, read through the bridge."""
    target = load_target(REPO, target=target_name)
    with open_warehouse(target, load_config(DEMO_CONFIG)) as warehouse:
        return {name: warehouse.read_table(name) for name in NIGHTLY_TABLES}


def write(target_name: str, tables: dict[str, pd.DataFrame]) -> None:
    target = load_target(REPO, target=target_name)
    with open_warehouse(target, load_config(DEMO_CONFIG)) as warehouse:
        warehouse.write_results(tables)


def a_real_engine_error(manager, add_query) -> None:
    """The statement fails as the engine fails a query of a table that does not exist."""
    add_query(manager, "select * from xp_no_such_table", auto_begin=False)


def assert_holds(actual: dict[str, pd.DataFrame], written: dict[str, pd.DataFrame]) -> None:
    """Each table holds exactly the rows written (a history table: the latest table's)."""
    for name in NIGHTLY_TABLES:
        expected = written[name.removesuffix("_history")]
        frame = actual[name]
        assert set(frame.analysis_at) == set(expected.analysis_at), name
        assert len(frame) == len(expected), name
        if name in TABLE_KEYS:
            assert_tables_agree(expected, frame, TABLE_KEYS[name], name)


def check_guarantee(
    target_name: str, demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch
) -> dict[str, pd.DataFrame]:
    """Write, fail the next write half-way, and check that the first write's rows stand."""
    first = latest_tables(demo_run, 1)
    write(target_name, first)
    assert_holds(read_all(target_name), first)

    with monkeypatch.context() as fault:
        failed = fail_statement(fault, inserts_into(FAILING_TABLE), a_real_engine_error)
        with pytest.raises(WarehouseError, match="writing the result tables failed"):
            write(target_name, latest_tables(demo_run, 2))
        assert failed, f"no insert into {FAILING_TABLE} was attempted"
    assert_holds(read_all(target_name), first)

    third = latest_tables(demo_run, 3)
    write(target_name, third)
    after = read_all(target_name)
    assert_holds(after, third)
    assert set(HISTORY_TABLES) <= set(after)
    return after


def test_duckdb_keeps_the_previous_results(
    demo_run: DemoRun, duckdb_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_guarantee(duckdb_target, demo_run, monkeypatch)


@pytest.mark.slow
def test_postgres_keeps_the_previous_results_and_a_view_does_not_block(
    demo_run: DemoRun, postgres_target: str, monkeypatch: pytest.MonkeyPatch, postgres_port: int
) -> None:
    import psycopg2

    check_guarantee(postgres_target, demo_run, monkeypatch)
    # A host's view over a result table: the nightly write replaces the rows, not the table.
    connection = psycopg2.connect(
        host="127.0.0.1", port=postgres_port, user="postgres", dbname=DATABASE
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"create view {SCHEMA}.winners as select run_id, experiment_id "
                f"from {SCHEMA}.experiment_results where verdict = 'ship'"
            )
        connection.commit()
        write(postgres_target, latest_tables(demo_run, 4))
        with connection.cursor() as cursor:
            cursor.execute(f"select distinct run_id from {SCHEMA}.experiment_results")
            assert cursor.fetchall() == [("write 4",)]
            cursor.execute(f"select count(*) from {SCHEMA}.winners")
            assert cursor.fetchone() is not None
    finally:
        connection.close()


@pytest.mark.slow
def test_spark_keeps_the_previous_results(
    demo_run: DemoRun, spark_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    after = check_guarantee(spark_target, demo_run, monkeypatch)
    # The timestamps are the UTC times written, whatever this process's time zone.
    third = demo_run.analysis_at + pd.Timedelta(seconds=3)
    assert set(after["experiment_results"].analysis_at) == {third}


def test_the_fault_matches_only_its_table() -> None:
    matches: Callable[[str], bool] = inserts_into("experiment_results")
    assert matches('insert into "db"."main"."experiment_results" ("run_id") values (?)')
    assert matches("insert into xp.experiment_results (run_id) select run_id from x")
    assert not matches('insert into "main"."experiment_results_history" ("run_id") select 1')
    assert not matches('delete from "main"."experiment_results"')
