"""The one module that talks to the warehouse: read the statistics mart, write the results.

An implementation per engine, chosen from the active dbt target's ``type``. Writes are
atomic: both result tables are replaced in one transaction, so a run that fails halfway
leaves the previous results readable and intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pandas as pd

from analysis_py.analysis import MART
from analysis_py.profiles import DbtTarget
from analysis_py.result_tables import TABLES


class WarehouseError(RuntimeError):
    """The warehouse cannot be read or written; the message names the table or setting."""


class Warehouse(Protocol):
    def read_statistics(self) -> pd.DataFrame:
        """All rows of the statistics mart."""

    def write_results(self, tables: dict[str, pd.DataFrame]) -> None:
        """Replace each named result table by its frame, all in one transaction."""

    def close(self) -> None: ...


def connect(target: DbtTarget) -> Warehouse:
    """Open the warehouse of the active dbt target."""
    if target.type == "duckdb":
        return DuckDBWarehouse(target)
    raise WarehouseError(
        f"dbt target '{target.target_name}' of profile '{target.profile_name}' has type "
        f"'{target.type}'; the analysis step supports: duckdb")


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier (DuckDB, Postgres)."""
    return '"' + name.replace('"', '""') + '"'


_DUCKDB_TYPES = {"text": "varchar", "bigint": "bigint", "double": "double",
                 "boolean": "boolean", "timestamp": "timestamp"}


class DuckDBWarehouse:
    """A local DuckDB file, the path and schema taken from the dbt target."""

    def __init__(self, target: DbtTarget) -> None:
        import duckdb

        path = str(target.settings.get("path", ""))
        if not path or (path != ":memory:" and not Path(path).exists()):
            raise WarehouseError(
                f"DuckDB file '{path}' (dbt target '{target.target_name}') does not exist: "
                "run `xp run` (or `dbt build`) first")
        self.path = path
        self.schema = str(target.settings.get("schema") or "main")
        try:
            self.connection = duckdb.connect(path)
        except duckdb.Error as error:
            raise WarehouseError(f"cannot open DuckDB file '{path}': {error}") from None

    def _table(self, name: str) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(name)}"

    def read_statistics(self) -> pd.DataFrame:
        import duckdb

        try:
            return self.connection.execute(f"select * from {self._table(MART)}").df()
        except duckdb.CatalogException:
            raise WarehouseError(
                f"table {self.schema}.{MART} not found in '{self.path}': run `xp run` "
                "(or `dbt build`) first") from None

    def write_results(self, tables: dict[str, pd.DataFrame]) -> None:
        import duckdb

        connection = self.connection
        connection.execute("begin transaction")
        try:
            for name, frame in tables.items():
                self._replace_table(name, frame)
            connection.execute("commit")
        except duckdb.Error as error:
            connection.execute("rollback")
            raise WarehouseError(f"writing the result tables failed, previous results kept: "
                                 f"{error}") from None
        except BaseException:
            connection.execute("rollback")
            raise
        # Move the new tables from the write-ahead log into the file itself, so that a copy
        # of the file, or a reader in another process, sees them.
        connection.execute("checkpoint")

    def _replace_table(self, name: str, frame: pd.DataFrame) -> None:
        columns = TABLES[name]
        table = self._table(name)
        definition = ", ".join(f"{quote_identifier(c.name)} {_DUCKDB_TYPES[c.type]}"
                               for c in columns)
        selection = ", ".join(
            f"cast({quote_identifier(c.name)} as {_DUCKDB_TYPES[c.type]})" for c in columns)
        self.connection.execute(f"create schema if not exists {quote_identifier(self.schema)}")
        self.connection.execute(f"create or replace table {table} ({definition})")
        self.connection.register("xp_result_frame", frame)
        try:
            self.connection.execute(f"insert into {table} select {selection} from xp_result_frame")
        finally:
            self.connection.unregister("xp_result_frame")

    def close(self) -> None:
        self.connection.close()
