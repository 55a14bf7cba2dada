"""The one module that talks to the warehouse: read the marts, write the results.

An implementation per engine, chosen from the active dbt target's ``type`` (the same
``profiles.yml`` target dbt builds in). Result tables are created from the column contract in
:mod:`analysis_py.result_tables`; NaN becomes SQL NULL.

History tables only grow: a history table written by an earlier version gains the columns
the contract has added since (null in its older rows), and rows are inserted by column name.

Writes keep the previous results on failure:

- DuckDB and Postgres replace both tables in one transaction (DDL is transactional there).
- Spark has no transactions: both new tables are written in full under staging names first,
  and only then swapped in (drop + rename per table). A failure while computing or writing
  leaves the previous results untouched; the swap itself is two quick metastore operations.

Errors reach the user as one line naming the cause (:func:`error_cause`: a missing table or
column, a value that does not convert, a full disk, memory); a failed rollback never hides the
error that caused it, and a failure after the commit (DuckDB's checkpoint) is a warning, as
the results are written.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable, Iterable
from datetime import timezone
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from analysis_py.result_tables import TABLES, Column
from analysis_py.warehouse.profiles import DbtTarget, adapter_package


class WarehouseError(RuntimeError):
    """The warehouse cannot be read or written; the message names the table or setting."""


class Warehouse(Protocol):
    #: True once write_results has committed: an interruption after it leaves new results.
    results_written: bool

    def read_table(self, name: str) -> pd.DataFrame:
        """All rows of one of our marts (they hold sums, never subject rows)."""

    def write_results(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        """Replace each latest result table by its frame and add the frame to its history
        table (replacing that analysis_date's snapshot); on failure keep everything as it
        was. Returns warnings (one line each) about steps after the commit that failed.
        """

    def close(self) -> None: ...


def connect(target: DbtTarget, schema: str | None = None) -> Warehouse:
    """Open the warehouse of the active dbt target; read and write in ``schema`` (default:
    the target's schema).
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
    """Fail in one line when the target's warehouse is certainly not there yet (a DuckDB
    file that does not exist), rather than let dbt create an empty one.
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


# An engine's error text -> the cause in a few words. DuckDB, Postgres and Spark word the
# same causes differently; the first match wins, and the engine's own first line is kept
# when nothing matches.
_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), text)
    for pattern, text in (
        (
            r"no space left on device|could not extend file|disk (is )?full",
            "the disk is full (No space left on device)",
        ),
        (r"out of memory|OutOfMemory|could not allocate|failed to allocate", "out of memory"),
        (
            r"Table with name (?P<name>[\w.\"`]+) does not exist"
            r"|relation \"(?P<name2>[^\"]+)\" does not exist"
            r"|The table or view (?P<name3>[\w.`]+) cannot be found",
            "table '{name}' does not exist",
        ),
        (
            r"column \"(?P<name>[^\"]+)\" referenced that exists in the SELECT clause"
            r"|Referenced column \"(?P<name2>[^\"]+)\" not found"
            r"|column \"?(?P<name3>[\w.]+)\"? does not exist"
            r"|with name `(?P<name4>[^`]+)` cannot be resolved",
            "column '{name}' does not exist in the table it reads",
        ),
        # The staging models' own message for text that is not an ISO 8601 timestamp.
        (r"xp: (?P<value>[\w.]+ is not an ISO 8601 timestamp [^\n]*)", "{value}"),
        (
            r"Could not convert string '(?P<value>[^']*)' to (?P<type>\w+)"
            r"(?: when casting from source column (?P<column>\w+))?",
            "value '{value}'{column} cannot be converted to {type}",
        ),
        (
            r"invalid timestamp field format: \"(?P<value>[^\"]*)\""
            r"(?:.*when casting from source column (?P<column>\w+))?",
            "value '{value}'{column} is not a timestamp (expected YYYY-MM-DD HH:MM:SS)",
        ),
        (
            r"Unimplemented type for cast \((?P<value>\w+) -> (?P<type>\w+)\)"
            r"(?: when casting from source column (?P<column>\w+))?",
            "a {value}{column} cannot be cast to {type}",
        ),
        (
            r"invalid input syntax for type (?P<type>[\w ]+): \"(?P<value>[^\"]*)\"",
            "value '{value}' cannot be converted to {type}",
        ),
        (
            r"date/time field value out of range: \"(?P<value>[^\"]*)\"",
            "value '{value}' is not a timestamp (expected YYYY-MM-DD HH:MM:SS)",
        ),
        (
            r"cannot cast type (?P<value>[\w ]+) to (?P<type>[\w ]+)",
            "a {value} cannot be cast to {type}",
        ),
        (
            r"The value '(?P<value>[^']*)' of the type \"\w+\" cannot be cast to \"(?P<type>\w+)\"",
            "value '{value}' cannot be converted to {type}",
        ),
    )
)


def error_cause(text: str) -> str:
    """The cause of an engine's (or dbt's) error message, in one line: the table, column or
    value at fault, or the disk or memory; else the message's first line.
    """
    for pattern, template in _CAUSES:
        match = pattern.search(text)
        if match:
            found = {
                key.rstrip("0123456789"): value.replace("`", "").strip('"')
                for key, value in match.groupdict().items()
                if value is not None
            }
            column = found.get("column")
            cause = template.format(
                name=found.get("name", ""),
                value=found.get("value", ""),
                type=found.get("type", ""),
                column=f" in column {column}" if column else "",
            )
            if cause.startswith(("out of memory", "the disk is full")):
                return f"{cause}: {first_line(text)}"
            return cause
    return first_line(text)


def first_line(text: str, limit: int = 240) -> str:
    """The first line of a message that says something (dbt puts a header line first)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    useful = [
        line
        for line in lines
        if not re.match(r"^(Runtime|Database|Compilation) Error( in \w+ .*)?$", line)
    ]
    line = " ".join((useful or lines or [""])[0].split())
    return line if len(line) <= limit else line[:limit] + "..."


def os_error_cause(error: OSError) -> str:
    """An OSError as one line: a full disk named as such, else its text and file."""
    where = f": {error.filename}" if error.filename else ""
    if error.errno == errno.ENOSPC:
        return f"the disk is full (No space left on device){where}"
    return f"{error.strerror or error}{where}"


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier (DuckDB, Postgres)."""
    return '"' + name.replace('"', '""') + '"'


def missing_columns(contract: Iterable[Column], existing: set[str]) -> list[Column]:
    """The contract's columns that an existing table (written by an earlier version) lacks."""
    return [column for column in contract if column.name not in existing]


def _rows(
    frame: pd.DataFrame, columns: tuple[Column, ...], utc_aware: bool = False
) -> list[tuple[Any, ...]]:
    """The frame's rows as plain Python values in contract order, NaN as None. Timestamps
    are UTC; ``utc_aware`` marks them so (pyspark reads a naive datetime as local time).
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
    return WarehouseError(
        f"table {schema}.{name} not found in {where}: run `xp run` (or `dbt build`) first"
    )


class DuckDBWarehouse:
    """A local DuckDB file, the path and schema taken from the dbt target."""

    TYPES = {
        "text": "varchar",
        "bigint": "bigint",
        "double": "double",
        "boolean": "boolean",
        "timestamp": "timestamp",
        "date": "date",
    }

    def __init__(self, target: DbtTarget, schema: str | None = None) -> None:
        import duckdb

        path = self.path = _duckdb_path(target)
        self.schema = schema or str(target.settings.get("schema") or "main")
        self.results_written = False
        try:
            self.connection = duckdb.connect(path)
        except duckdb.Error as error:
            raise WarehouseError(
                f"cannot open DuckDB file '{path}': {error_cause(str(error))}"
            ) from None

    def _table(self, name: str) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(name)}"

    def read_table(self, name: str) -> pd.DataFrame:
        import duckdb

        try:
            return self.connection.execute(f"select * from {self._table(name)}").df()
        except duckdb.CatalogException:
            raise _missing_mart(self.schema, name, f"'{self.path}'") from None
        except duckdb.Error as error:
            raise WarehouseError(
                f"reading {self.schema}.{name} failed: {error_cause(str(error))}"
            ) from None

    def write_results(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        import duckdb

        connection = self.connection
        connection.execute("begin transaction")
        try:
            for name, frame in tables.items():
                self._replace_table(name, frame)
                if f"{name}_history" in TABLES:
                    self._append_history(f"{name}_history", frame)
            connection.execute("commit")
        except duckdb.Error as error:
            self._rollback()
            raise WarehouseError(
                f"writing the result tables failed, previous results kept: "
                f"{error_cause(str(error))}"
            ) from None
        except BaseException:
            self._rollback()
            raise
        self.results_written = True
        # Move the new tables from the write-ahead log into the file itself, so that a copy
        # of the file, or a reader in another process, sees them. The results are committed
        # already: if this fails, DuckDB replays the log when it next opens the file.
        try:
            connection.execute("checkpoint")
        except duckdb.Error as error:
            return [
                f"the results are committed, but moving them from the write-ahead log into "
                f"'{self.path}' failed ({error_cause(str(error))}); DuckDB does it when it "
                "next opens the file"
            ]
        return []

    def _rollback(self) -> None:
        """Roll back if a transaction is still open. A failed commit may have ended it
        already; the error of the rollback must not replace the one that caused it.
        """
        import duckdb

        try:
            self.connection.execute("rollback")
        except duckdb.Error:
            pass

    def _definition(self, name: str) -> str:
        return ", ".join(f"{quote_identifier(c.name)} {self.TYPES[c.type]}" for c in TABLES[name])

    def _insert(self, name: str, frame: pd.DataFrame) -> None:
        names = ", ".join(quote_identifier(c.name) for c in TABLES[name])
        selection = ", ".join(
            f"cast({quote_identifier(c.name)} as {self.TYPES[c.type]})" for c in TABLES[name]
        )
        # Not unregistered in a `finally`: after a failed insert that statement would fail
        # too, on the aborted transaction, and hide the insert's own error.
        self.connection.register("xp_result_frame", frame)
        self.connection.execute(
            f"insert into {self._table(name)} ({names}) select {selection} from xp_result_frame"
        )
        self.connection.unregister("xp_result_frame")

    def _replace_table(self, name: str, frame: pd.DataFrame) -> None:
        self.connection.execute(f"create schema if not exists {quote_identifier(self.schema)}")
        self.connection.execute(
            f"create or replace table {self._table(name)} ({self._definition(name)})"
        )
        self._insert(name, frame)

    def _append_history(self, name: str, frame: pd.DataFrame) -> None:
        table = self._table(name)
        self.connection.execute(f"create table if not exists {table} ({self._definition(name)})")
        existing = {
            row[0]
            for row in self.connection.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [self.schema, name],
            ).fetchall()
        }
        for column in missing_columns(TABLES[name], existing):
            self.connection.execute(
                f"alter table {table} add column "
                f"{quote_identifier(column.name)} {self.TYPES[column.type]}"
            )
        for day in frame["analysis_date"].unique():
            self.connection.execute(f"delete from {table} where analysis_date = ?", [day])
        self._insert(name, frame)

    def close(self) -> None:
        self.connection.close()


class PostgresWarehouse:
    """A Postgres database, connected with the dbt target's host, port, user and dbname."""

    TYPES = {
        "text": "text",
        "bigint": "bigint",
        "double": "double precision",
        "boolean": "boolean",
        "timestamp": "timestamp",
        "date": "date",
    }

    def __init__(self, target: DbtTarget, schema: str | None = None) -> None:
        import psycopg2

        settings = target.settings
        self.schema = schema or str(settings.get("schema", "public"))
        self.results_written = False
        self.where = (
            f"Postgres database '{settings.get('dbname') or settings.get('database')}'"
            f" at {settings.get('host')}:{settings.get('port', 5432)}"
        )
        try:
            self.connection = psycopg2.connect(
                host=settings.get("host"),
                port=settings.get("port", 5432),
                user=settings.get("user"),
                password=settings.get("password") or None,
                dbname=settings.get("dbname") or settings.get("database"),
                connect_timeout=settings.get("connect_timeout", 10),
            )
        except psycopg2.Error as error:
            raise WarehouseError(
                f"cannot connect to the {self.where} (dbt target "
                f"'{target.target_name}'): {str(error).strip()}"
            ) from None

    def _table(self, name: str) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(name)}"

    def _definition(self, name: str) -> str:
        return ", ".join(f"{quote_identifier(c.name)} {self.TYPES[c.type]}" for c in TABLES[name])

    def read_table(self, name: str) -> pd.DataFrame:
        import psycopg2

        try:
            with self.connection.cursor() as cursor:
                cursor.execute(f"select * from {self._table(name)}")
                names = [d.name for d in cursor.description]
                frame = pd.DataFrame(cursor.fetchall(), columns=names)
        except psycopg2.errors.UndefinedTable:
            self.connection.rollback()
            raise _missing_mart(self.schema, name, f"the {self.where}") from None
        except psycopg2.Error as error:
            self._rollback()
            raise WarehouseError(
                f"reading {self.schema}.{name} failed: {error_cause(str(error))}"
            ) from None
        self.connection.rollback()  # end the read-only transaction
        return frame

    def _rollback(self) -> None:
        """Roll back; a lost connection makes that fail too, and must not hide the cause."""
        import psycopg2

        try:
            self.connection.rollback()
        except psycopg2.Error:
            pass

    def write_results(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        import psycopg2
        from psycopg2.extras import execute_values

        try:
            with self.connection.cursor() as cursor:
                cursor.execute(f"create schema if not exists {quote_identifier(self.schema)}")
                for name, frame in tables.items():
                    history = f"{name}_history"
                    cursor.execute(f"drop table if exists {self._table(name)}")
                    cursor.execute(f"create table {self._table(name)} ({self._definition(name)})")
                    targets = [name]
                    if history in TABLES:
                        targets.append(history)
                        cursor.execute(
                            f"create table if not exists {self._table(history)} "
                            f"({self._definition(history)})"
                        )
                        cursor.execute(
                            "select column_name from information_schema.columns "
                            "where table_schema = %s and table_name = %s",
                            [self.schema, history],
                        )
                        existing = {row[0] for row in cursor.fetchall()}
                        for column in missing_columns(TABLES[history], existing):
                            cursor.execute(
                                f"alter table {self._table(history)} add column "
                                f"{quote_identifier(column.name)} "
                                f"{self.TYPES[column.type]}"
                            )
                        for day in frame["analysis_date"].unique():
                            cursor.execute(
                                f"delete from {self._table(history)} where analysis_date = %s",
                                [day],
                            )
                    for table in targets:
                        names = ", ".join(quote_identifier(c.name) for c in TABLES[table])
                        execute_values(
                            cursor,
                            f"insert into {self._table(table)} ({names}) values %s",
                            _rows(frame, TABLES[table]),
                            page_size=1000,
                        )
            self.connection.commit()
        except psycopg2.Error as error:
            self._rollback()
            raise WarehouseError(
                f"writing the result tables failed, previous results kept: "
                f"{error_cause(str(error))}"
            ) from None
        except BaseException:
            self._rollback()
            raise
        self.results_written = True
        return []

    def close(self) -> None:
        self.connection.close()


class SparkWarehouse:
    """Spark through the in-process session dbt-spark uses (``method: session``)."""

    TYPES = {
        "text": "string",
        "bigint": "bigint",
        "double": "double",
        "boolean": "boolean",
        "timestamp": "timestamp",
        "date": "date",
    }
    STAGING_SUFFIX = "__staging"

    def __init__(self, target: DbtTarget, schema: str | None = None) -> None:
        method = target.settings.get("method")
        if method != "session":
            raise WarehouseError(
                f"dbt target '{target.target_name}' uses Spark method '{method}'; the analysis "
                "step supports method: session"
            )
        from pyspark.sql import SparkSession

        # The same builder as dbt-spark's session mode, so both share one metastore.
        self.spark = SparkSession.builder.enableHiveSupport().getOrCreate()
        self.schema = schema or str(target.settings.get("schema"))
        self.results_written = False

    def _table(self, name: str) -> str:
        return f"`{self.schema}`.`{name}`"

    def read_table(self, name: str) -> pd.DataFrame:
        from pyspark.errors import AnalysisException

        try:
            table = self.spark.table(self._table(name))
            # Timestamps as TIMESTAMP_NTZ: collect() would turn them into the process's local
            # time; they are UTC wall-clock times (the session's time zone is UTC).
            table = table.select(
                *(
                    f"cast(`{field.name}` as timestamp_ntz) as `{field.name}`"
                    if field.dataType.typeName() == "timestamp"
                    else f"`{field.name}`"
                    for field in table.schema.fields
                )
            )
            # collect() rather than toPandas(): pyspark does not support pandas 3's
            # conversion path yet, and the mart is small.
            return pd.DataFrame([row.asDict() for row in table.collect()], columns=table.columns)
        except AnalysisException:
            raise _missing_mart(self.schema, name, "the Spark metastore") from None

    def write_results(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        from pyspark.errors import PySparkException

        try:
            self.spark.sql(f"create schema if not exists `{self.schema}`")
            for name, frame in tables.items():
                columns = TABLES[name]
                ddl = ", ".join(f"`{c.name}` {self.TYPES[c.type]}" for c in columns)
                staged = self.spark.createDataFrame(
                    _rows(frame, columns, utc_aware=True), schema=ddl
                )
                staged.write.mode("overwrite").saveAsTable(self._table(name + self.STAGING_SUFFIX))
                if f"{name}_history" in TABLES:
                    self._append_history(f"{name}_history", staged)
            for name in tables:
                self.spark.sql(f"drop table if exists {self._table(name)}")
                self.spark.sql(
                    f"alter table {self._table(name + self.STAGING_SUFFIX)} "
                    f"rename to {self._table(name)}"
                )
        except PySparkException as error:
            raise WarehouseError(
                f"writing the result tables failed: {error_cause(str(error))}"
            ) from None
        self.results_written = True
        return []

    def _append_history(self, name: str, frame: Any) -> None:
        """Overwrite only this analysis_date's partition of the history table (Spark cannot
        delete rows from a plain table, but can replace a partition).
        """
        table = self._table(name)
        # Spark puts partition columns last: order the columns so.
        columns = sorted(TABLES[name], key=lambda c: c.name == "analysis_date")
        ddl = ", ".join(f"`{c.name}` {self.TYPES[c.type]}" for c in columns)
        self.spark.sql(
            f"create table if not exists {table} ({ddl}) using parquet "
            "partitioned by (analysis_date)"
        )
        missing = missing_columns(columns, set(self.spark.table(table).columns))
        if missing:
            added = ", ".join(f"`{c.name}` {self.TYPES[c.type]}" for c in missing)
            self.spark.sql(f"alter table {table} add columns ({added})")
        # insertInto is by position: follow the table's own order (added columns come after
        # the older ones), with nulls for columns the contract no longer has.
        from pyspark.sql import functions

        ordered = [
            functions.col(f"`{field.name}`")
            if field.name in frame.columns
            else functions.lit(None).cast(field.dataType)
            for field in self.spark.table(table).schema.fields
        ]
        self.spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        frame.select(*ordered).write.insertInto(table, overwrite=True)

    def close(self) -> None:
        """Keep the session: dbt-spark shares it within this process."""
