"""The one module that talks to the warehouse: read the marts, write the results.

A subclass of :class:`Warehouse` per engine, chosen from the active dbt target's ``type``
(the same ``profiles.yml`` target dbt builds in). The base class holds what the engines
share (table names, the tables' columns, reading, appending to history); the engines supply
only what differs. Result tables are created from the column contract in
:mod:`analysis_py.result_tables`; NaN becomes SQL NULL.

History tables only grow: a history table written by an earlier version gains the columns
the contract has added since (null in its older rows), and rows are inserted by column name.

Writes keep the previous results on failure:

- DuckDB and Postgres replace both tables in one transaction (DDL is transactional there).
- Spark has no transactions: both new tables are written in full under staging names first,
  and only then swapped in (drop + rename per table). A failure while computing or writing
  leaves the previous results untouched; the swap itself is two quick metastore operations.

Errors reach the user as one line naming the cause (:mod:`analysis_py.warehouse.errors`: a
missing table or column, a value that does not convert, a full disk, memory); a failed
rollback never hides the error that caused it, and a failure after the commit (DuckDB's
checkpoint) is a warning, as the results are written.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from datetime import timezone
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import pandas as pd

from analysis_py.result_tables import TABLES, Column
from analysis_py.warehouse.errors import error_cause
from analysis_py.warehouse.profiles import DbtTarget, adapter_package


class WarehouseError(RuntimeError):
    """The warehouse cannot be read or written; the message names the table or setting."""


def connect(target: DbtTarget, schema: str | None = None) -> Warehouse:
    """Open the warehouse of the active dbt target.

    Args:
        target: The active dbt target; its ``type`` chooses the engine.
        schema: Where to read and write (default: the target's schema).

    Raises:
        WarehouseError: The engine is not supported, its driver is not installed, or the
            connection failed.
    """
    implementations: dict[str, Callable[[DbtTarget, str | None], Warehouse]] = {
        "duckdb": DuckDBWarehouse,
        "postgres": PostgresWarehouse,
        "spark": SparkWarehouse,
    }
    if target.type not in implementations:
        raise WarehouseError(
            f"dbt target '{target.target_name}' of profile '{target.profile_name}' has type "
            f"'{target.type}'; the analysis step supports: {', '.join(implementations)}"
        )
    try:
        return implementations[target.type](target, schema)
    except ModuleNotFoundError as error:
        raise WarehouseError(
            f"dbt target '{target.target_name}' has type '{target.type}', but Python cannot "
            f"import {error.name}: pip install {adapter_package(target.type)}"
        ) from None


def check_reachable(target: DbtTarget) -> None:
    """Fail in one line when the target's warehouse is certainly not there yet.

    That is a DuckDB file that does not exist: dbt would create an empty one.

    Raises:
        WarehouseError: The warehouse is not there.
    """
    if target.type == "duckdb":
        _duckdb_path(target)


def _duckdb_path(target: DbtTarget) -> str:
    path = str(target.settings.get("path", ""))
    if not path or (path != ":memory:" and not Path(path).exists()):
        raise WarehouseError(
            f"DuckDB file '{path}' (dbt target '{target.target_name}') does not exist: "
            "run `xp run` (or `dbt build`) first"
        )
    return path


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier (DuckDB, Postgres)."""
    return '"' + name.replace('"', '""') + '"'


def missing_columns(contract: Iterable[Column], existing: set[str]) -> list[Column]:
    """The contract's columns that an existing table (written by an earlier version) lacks."""
    return [column for column in contract if column.name not in existing]


def _rows(
    frame: pd.DataFrame, columns: tuple[Column, ...], utc_aware: bool = False
) -> list[tuple[Any, ...]]:
    """The frame's rows as plain Python values in contract order, NaN as None.

    Timestamps are UTC; ``utc_aware`` marks them so (pyspark reads a naive datetime as
    local time).
    """
    values = []
    zone = timezone.utc if utc_aware else None
    for column in columns:
        series = frame[column.name]
        if column.type == "timestamp":
            items = [
                None if pd.isna(v) else pd.Timestamp(v).to_pydatetime().replace(tzinfo=zone)
                for v in series
            ]
        else:
            items = [None if pd.isna(v) else v for v in series.tolist()]
        values.append(items)
    return list(zip(*values, strict=True))


def _missing_mart(schema: str, name: str, where: str) -> WarehouseError:
    """The error for a mart that is not there: dbt has not built it yet."""
    return WarehouseError(
        f"table {schema}.{name} not found in {where}: run `xp run` (or `dbt build`) first"
    )


class _EngineErrors(NamedTuple):
    """The exception classes of an engine's driver (imported with the driver).

    Attributes:
        any: The base class of the driver's errors.
        missing_table: The one it raises for a table that does not exist.
    """

    any: type[Exception]
    missing_table: type[Exception]


class Warehouse(ABC):
    """The warehouse of a dbt target: read the marts, write the result tables.

    What every engine shares lives here: table names and quoting, the tables' columns from
    the contract, reading with one-line errors, and appending to a history table. An engine
    supplies how to run SQL and move rows, through the hooks marked abstract.
    """

    #: The engine's SQL type of each contract type.
    TYPES: ClassVar[dict[str, str]]
    #: Appended to a new history table's definition.
    HISTORY_TABLE_OPTIONS: ClassVar[str] = ""

    def __init__(self, schema: str, location: str, errors: _EngineErrors) -> None:
        """Read and write in ``schema``; ``location`` names the warehouse in messages."""
        self.schema = schema
        self.location = location
        self._errors = errors
        #: True once write_results has committed: an interruption after it leaves new results.
        self.results_written = False

    @staticmethod
    def quote(name: str) -> str:
        """A quoted SQL identifier."""
        return quote_identifier(name)

    def _table(self, name: str) -> str:
        """The table's qualified, quoted name."""
        return f"{self.quote(self.schema)}.{self.quote(name)}"

    def _columns_ddl(self, columns: Iterable[Column]) -> str:
        """Column definitions, as in create table (name type, ...)."""
        return ", ".join(f"{self.quote(c.name)} {self.TYPES[c.type]}" for c in columns)

    def read_table(self, name: str) -> pd.DataFrame:
        """All rows of one of our marts (they hold sums, never subject rows).

        Raises:
            WarehouseError: The table is not there, or reading it failed.
        """
        try:
            return self._read(name)
        except self._errors.missing_table:
            self._after_failed_read()
            raise _missing_mart(self.schema, name, self.location) from None
        except self._errors.any as error:
            self._after_failed_read()
            raise WarehouseError(
                f"reading {self.schema}.{name} failed: {error_cause(str(error))}"
            ) from None

    @abstractmethod
    def write_results(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        """Replace each latest result table by its frame and add the frame to its history.

        A history table keeps one snapshot per analysis_date: the frame's replaces it. On
        failure everything stays as it was.

        Returns:
            Warnings (one line each) about steps after the commit that failed.

        Raises:
            WarehouseError: Writing failed; the previous results are kept.
        """

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def _append_history(self, name: str, frame: Any) -> None:
        """Add the frame's rows to a history table, replacing their analysis_date's rows.

        History tables only grow: one written by an earlier version first gains the columns
        the contract has added since (null in its older rows).
        """
        columns = self._history_columns(name)
        self._execute(
            f"create table if not exists {self._table(name)} ({self._columns_ddl(columns)})"
            + self.HISTORY_TABLE_OPTIONS
        )
        missing = missing_columns(columns, self._existing_columns(name))
        if missing:
            self._add_columns(name, missing)
        self._replace_snapshot(name, frame)

    def _history_columns(self, name: str) -> tuple[Column, ...]:
        """The history table's columns, in the order it is created with."""
        return TABLES[name]

    def _add_columns(self, name: str, columns: list[Column]) -> None:
        """Add columns to a table, one statement each."""
        for column in columns:
            self._execute(
                f"alter table {self._table(name)} add column {self._columns_ddl([column])}"
            )

    @abstractmethod
    def _after_failed_read(self) -> None:
        """Clean up after a failed read."""

    @abstractmethod
    def _read(self, name: str) -> pd.DataFrame:
        """All rows of a table, errors as the driver raises them."""

    @abstractmethod
    def _execute(self, sql: str, parameters: list[Any] | None = None) -> None:
        """Run one SQL statement."""

    @abstractmethod
    def _existing_columns(self, name: str) -> set[str]:
        """The names of a table's columns."""

    @abstractmethod
    def _replace_snapshot(self, name: str, frame: Any) -> None:
        """Insert the frame's rows into a history table, replacing its analysis_date's."""


class _TransactionalWarehouse(Warehouse):
    """An engine whose DDL is transactional: both tables are replaced in one transaction."""

    #: The driver's placeholder for a query parameter.
    PARAMETER: ClassVar[str]

    def write_results(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        """Replace the latest tables and add to the histories, in one transaction.

        Returns:
            Warnings (one line each) about steps after the commit that failed.

        Raises:
            WarehouseError: Writing failed and was rolled back; the previous results are kept.
        """
        self._begin()
        try:
            self._execute(f"create schema if not exists {self.quote(self.schema)}")
            for name, frame in tables.items():
                self._replace_table(name, frame)
                if f"{name}_history" in TABLES:
                    self._append_history(f"{name}_history", frame)
            self._commit()
        except self._errors.any as error:
            self._rollback()
            raise WarehouseError(
                f"writing the result tables failed, previous results kept: "
                f"{error_cause(str(error))}"
            ) from None
        except BaseException:
            self._rollback()
            raise
        self.results_written = True
        return self._after_commit()

    def _replace_table(self, name: str, frame: pd.DataFrame) -> None:
        """Replace a latest result table by the frame's rows."""
        self._execute(f"drop table if exists {self._table(name)}")
        self._execute(f"create table {self._table(name)} ({self._columns_ddl(TABLES[name])})")
        self._insert(name, frame)

    def _existing_columns(self, name: str) -> set[str]:
        """The names of a table's columns, from the information schema."""
        return {
            row[0]
            for row in self._query(
                "select column_name from information_schema.columns "
                f"where table_schema = {self.PARAMETER} and table_name = {self.PARAMETER}",
                [self.schema, name],
            )
        }

    def _replace_snapshot(self, name: str, frame: pd.DataFrame) -> None:
        """Delete the history table's rows of the frame's analysis dates, then insert."""
        for day in frame["analysis_date"].unique():
            self._execute(
                f"delete from {self._table(name)} where analysis_date = {self.PARAMETER}", [day]
            )
        self._insert(name, frame)

    def _after_failed_read(self) -> None:
        """End the failed read's transaction."""
        self._rollback()

    def _after_commit(self) -> list[str]:
        """Steps after the commit; warnings about those that failed (none by default)."""
        return []

    @abstractmethod
    def _query(self, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        """Run a query and return its rows."""

    @abstractmethod
    def _insert(self, name: str, frame: pd.DataFrame) -> None:
        """Insert the frame's rows into a table, by column name."""

    @abstractmethod
    def _begin(self) -> None:
        """Start the write transaction."""

    @abstractmethod
    def _commit(self) -> None:
        """Commit the write transaction."""

    @abstractmethod
    def _rollback(self) -> None:
        """Roll back if a transaction is open.

        A failed commit may have ended it already, and a lost connection makes the rollback
        fail too: its error must not replace the one that caused it.
        """


class DuckDBWarehouse(_TransactionalWarehouse):
    """A local DuckDB file, the path and schema taken from the dbt target."""

    TYPES: ClassVar[dict[str, str]] = {
        "text": "varchar",
        "bigint": "bigint",
        "double": "double",
        "boolean": "boolean",
        "timestamp": "timestamp",
        "date": "date",
    }
    PARAMETER = "?"

    def __init__(self, target: DbtTarget, schema: str | None = None) -> None:
        """Open the target's DuckDB file.

        Raises:
            WarehouseError: The file does not exist or cannot be opened.
        """
        import duckdb

        path = self.path = _duckdb_path(target)
        super().__init__(
            schema or str(target.settings.get("schema") or "main"),
            f"'{path}'",
            _EngineErrors(duckdb.Error, duckdb.CatalogException),
        )
        try:
            self.connection = duckdb.connect(path)
        except duckdb.Error as error:
            raise WarehouseError(
                f"cannot open DuckDB file '{path}': {error_cause(str(error))}"
            ) from None

    def close(self) -> None:
        """Close the file."""
        self.connection.close()

    def _read(self, name: str) -> pd.DataFrame:
        return self.connection.execute(f"select * from {self._table(name)}").df()

    def _after_failed_read(self) -> None:
        """Nothing to clean up: a read opens no transaction."""

    def _execute(self, sql: str, parameters: list[Any] | None = None) -> None:
        if parameters is None:
            self.connection.execute(sql)
        else:
            self.connection.execute(sql, parameters)

    def _query(self, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        return list(self.connection.execute(sql, parameters).fetchall())

    def _insert(self, name: str, frame: pd.DataFrame) -> None:
        names = ", ".join(self.quote(c.name) for c in TABLES[name])
        selection = ", ".join(
            f"cast({self.quote(c.name)} as {self.TYPES[c.type]})" for c in TABLES[name]
        )
        # Not unregistered in a `finally`: after a failed insert that statement would fail
        # too, on the aborted transaction, and hide the insert's own error.
        self.connection.register("xp_result_frame", frame)
        self.connection.execute(
            f"insert into {self._table(name)} ({names}) select {selection} from xp_result_frame"
        )
        self.connection.unregister("xp_result_frame")

    def _begin(self) -> None:
        self.connection.execute("begin transaction")

    def _commit(self) -> None:
        self.connection.execute("commit")

    def _rollback(self) -> None:
        import duckdb

        try:
            self.connection.execute("rollback")
        except duckdb.Error:
            pass

    def _after_commit(self) -> list[str]:
        """Move the new tables from the write-ahead log into the file itself.

        Then a copy of the file, or a reader in another process, sees them. The results are
        committed already: if this fails, DuckDB replays the log when it next opens the file.
        """
        import duckdb

        try:
            self.connection.execute("checkpoint")
        except duckdb.Error as error:
            return [
                f"the results are committed, but moving them from the write-ahead log into "
                f"'{self.path}' failed ({error_cause(str(error))}); DuckDB does it when it "
                "next opens the file"
            ]
        return []


class PostgresWarehouse(_TransactionalWarehouse):
    """A Postgres database, connected with the dbt target's host, port, user and dbname."""

    TYPES: ClassVar[dict[str, str]] = {
        "text": "text",
        "bigint": "bigint",
        "double": "double precision",
        "boolean": "boolean",
        "timestamp": "timestamp",
        "date": "date",
    }
    PARAMETER = "%s"

    def __init__(self, target: DbtTarget, schema: str | None = None) -> None:
        """Connect to the target's database.

        Raises:
            WarehouseError: The connection failed.
        """
        import psycopg2

        settings = target.settings
        database = settings.get("dbname") or settings.get("database")
        location = (
            f"the Postgres database '{database}' at {settings.get('host')}:"
            f"{settings.get('port', 5432)}"
        )
        super().__init__(
            schema or str(settings.get("schema", "public")),
            location,
            _EngineErrors(psycopg2.Error, psycopg2.errors.UndefinedTable),
        )
        try:
            self.connection = psycopg2.connect(
                host=settings.get("host"),
                port=settings.get("port", 5432),
                user=settings.get("user"),
                password=settings.get("password") or None,
                dbname=database,
                connect_timeout=settings.get("connect_timeout", 10),
            )
        except psycopg2.Error as error:
            raise WarehouseError(
                f"cannot connect to {location} (dbt target "
                f"'{target.target_name}'): {str(error).strip()}"
            ) from None

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def _read(self, name: str) -> pd.DataFrame:
        with self.connection.cursor() as cursor:
            cursor.execute(f"select * from {self._table(name)}")
            names = [d.name for d in cursor.description]
            frame = pd.DataFrame(cursor.fetchall(), columns=names)
        self.connection.rollback()  # end the read-only transaction
        return frame

    def _execute(self, sql: str, parameters: list[Any] | None = None) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)

    def _query(self, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return list(cursor.fetchall())

    def _insert(self, name: str, frame: pd.DataFrame) -> None:
        from psycopg2.extras import execute_values

        names = ", ".join(self.quote(c.name) for c in TABLES[name])
        with self.connection.cursor() as cursor:
            execute_values(
                cursor,
                f"insert into {self._table(name)} ({names}) values %s",
                _rows(frame, TABLES[name]),
                page_size=1000,
            )

    def _begin(self) -> None:
        """Nothing to do: psycopg2 opens a transaction at the first statement."""

    def _commit(self) -> None:
        self.connection.commit()

    def _rollback(self) -> None:
        import psycopg2

        try:
            self.connection.rollback()
        except psycopg2.Error:
            pass


class SparkWarehouse(Warehouse):
    """Spark through the in-process session dbt-spark uses (``method: session``).

    Spark has no transactions: both new tables are written in full under staging names
    first, and only then swapped in (drop + rename per table). A history table is
    partitioned by analysis_date, and a snapshot replaced by overwriting its partition
    (Spark cannot delete rows from a plain table).
    """

    TYPES: ClassVar[dict[str, str]] = {
        "text": "string",
        "bigint": "bigint",
        "double": "double",
        "boolean": "boolean",
        "timestamp": "timestamp",
        "date": "date",
    }
    HISTORY_TABLE_OPTIONS = " using parquet partitioned by (analysis_date)"
    STAGING_SUFFIX = "__staging"

    def __init__(self, target: DbtTarget, schema: str | None = None) -> None:
        """Join the Spark session of this process (dbt-spark's, or a new one).

        Raises:
            WarehouseError: The target uses another method than ``session``.
        """
        method = target.settings.get("method")
        if method != "session":
            raise WarehouseError(
                f"dbt target '{target.target_name}' uses Spark method '{method}'; the analysis "
                "step supports method: session"
            )
        from pyspark.errors import AnalysisException, PySparkException
        from pyspark.sql import SparkSession

        super().__init__(
            schema or str(target.settings.get("schema")),
            "the Spark metastore",
            _EngineErrors(PySparkException, AnalysisException),
        )
        # The same builder as dbt-spark's session mode, so both share one metastore.
        self.spark = SparkSession.builder.enableHiveSupport().getOrCreate()

    @staticmethod
    def quote(name: str) -> str:
        """A backquoted Spark identifier."""
        return "`" + name.replace("`", "``") + "`"

    def write_results(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        """Stage both tables in full and add to the histories, then swap the tables in.

        A failure while computing or writing leaves the previous results untouched; the
        swap itself is two quick metastore operations.

        Raises:
            WarehouseError: Writing failed.
        """
        try:
            self._execute(f"create schema if not exists {self.quote(self.schema)}")
            for name, frame in tables.items():
                staged = self._stage(name, frame)
                if f"{name}_history" in TABLES:
                    self._append_history(f"{name}_history", staged)
            for name in tables:
                self._execute(f"drop table if exists {self._table(name)}")
                self._execute(
                    f"alter table {self._table(name + self.STAGING_SUFFIX)} "
                    f"rename to {self._table(name)}"
                )
        except self._errors.any as error:
            raise WarehouseError(
                f"writing the result tables failed: {error_cause(str(error))}"
            ) from None
        self.results_written = True
        return []

    def close(self) -> None:
        """Keep the session: dbt-spark shares it within this process."""

    def _after_failed_read(self) -> None:
        """Nothing to clean up: Spark has no transaction to end."""

    def _stage(self, name: str, frame: pd.DataFrame) -> Any:
        """Write the frame to the table's staging name; return it as a Spark DataFrame."""
        columns = TABLES[name]
        staged = self.spark.createDataFrame(
            _rows(frame, columns, utc_aware=True), schema=self._columns_ddl(columns)
        )
        staged.write.mode("overwrite").saveAsTable(self._table(name + self.STAGING_SUFFIX))
        return staged

    def _read(self, name: str) -> pd.DataFrame:
        table = self.spark.table(self._table(name))
        # Timestamps as TIMESTAMP_NTZ: collect() would turn them into the process's local
        # time; they are UTC wall-clock times (the session's time zone is UTC).
        table = table.select(
            *(
                f"cast({self.quote(field.name)} as timestamp_ntz) as {self.quote(field.name)}"
                if field.dataType.typeName() == "timestamp"
                else self.quote(field.name)
                for field in table.schema.fields
            )
        )
        # collect() rather than toPandas(): pyspark does not support pandas 3's
        # conversion path yet, and the mart is small.
        return pd.DataFrame([row.asDict() for row in table.collect()], columns=table.columns)

    def _execute(self, sql: str, parameters: list[Any] | None = None) -> None:
        self.spark.sql(sql, args=parameters)

    def _history_columns(self, name: str) -> tuple[Column, ...]:
        """The contract's columns, analysis_date last: Spark puts partition columns last."""
        return tuple(sorted(TABLES[name], key=lambda c: c.name == "analysis_date"))

    def _existing_columns(self, name: str) -> set[str]:
        return set(self.spark.table(self._table(name)).columns)

    def _add_columns(self, name: str, columns: list[Column]) -> None:
        """Add columns to a table in one statement (Spark's syntax)."""
        self._execute(f"alter table {self._table(name)} add columns ({self._columns_ddl(columns)})")

    def _replace_snapshot(self, name: str, frame: Any) -> None:
        """Overwrite only the analysis_date partitions the frame has."""
        from pyspark.sql import functions

        table = self._table(name)
        # insertInto is by position: follow the table's own order (added columns come after
        # the older ones), with nulls for columns the contract no longer has.
        ordered = [
            functions.col(self.quote(field.name))
            if field.name in frame.columns
            else functions.lit(None).cast(field.dataType)
            for field in self.spark.table(table).schema.fields
        ]
        self.spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        frame.select(*ordered).write.insertInto(table, overwrite=True)
