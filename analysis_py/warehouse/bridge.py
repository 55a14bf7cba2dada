"""The analysis step's one way to the warehouse: dbt's own adapter, opened in-process.

The target is dbt's reading of ``dbt_project.yml`` and ``profiles.yml`` (its RuntimeConfig:
the same ``env_var()`` rendering and target choice as `dbt build`), and the warehouse is
reached through the adapter dbt registers for that target: the same driver, credentials and
SQL dialect. No other module imports dbt's adapter or a database driver.

Reading runs a ``select`` through the adapter and fetches from its DB-API cursor. Writing runs
the dispatch macro ``xp_write_results`` (macros/xp_write_results*.sql) through the adapter,
with the project's macros as dbt parses them: the engine-specific SQL lives there, one
implementation per adapter. Python only hands over the rows, as a Parquet file where the
engine reads local files and as bound values elsewhere.

Writes keep the previous results on failure: one transaction where the engine has them
(DuckDB, Postgres); elsewhere (Spark) the macro writes every table in full under a staging
name before it swaps them in. Why, and what a dbt upgrade may break:
docs/decisions/0013-one-connection-dbts.md.
"""

from __future__ import annotations

import os
import re
import tempfile
from argparse import Namespace
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from analysis_py.config import ExperimentConfig
from analysis_py.marts import MART
from analysis_py.result_tables import TABLES, Column
from analysis_py.warehouse.dbt import adapter_package, parse_project
from analysis_py.warehouse.errors import error_cause, first_line

if TYPE_CHECKING:
    import pandas as pd

#: The dbt project (and package) name our models and macros live in.
PACKAGE = "experiment_analysis"
#: Rows per insert statement where rows are sent as bound values.
BATCH_ROWS = 1000


class ProfileError(ValueError):
    """The dbt project, profile or target cannot be loaded; the message says which."""


class WarehouseError(RuntimeError):
    """The warehouse cannot be read or written; the message names the table or setting."""


@dataclass(frozen=True)
class DbtTarget:
    """The active dbt target, as dbt reads it: where dbt builds and results are written.

    Attributes:
        project_dir: The dbt project's directory.
        profiles_dir: The directory of the profiles.yml in use.
        profile_name: The profile the project names.
        target_name: The target in use (``--target``, else the profile's ``target:``).
        type: The adapter type: duckdb, postgres, spark, ...
        schema: The target's schema.
        connection: dbt's connection settings of the target, without secrets (host, port,
            database, path, ...: the keys differ per adapter).
        config: dbt's RuntimeConfig, from which the adapter is opened.
    """

    project_dir: Path
    profiles_dir: Path
    profile_name: str
    target_name: str
    type: str
    schema: str
    connection: dict[str, Any]
    config: Any = field(default=None, compare=False, repr=False)

    @property
    def target_path(self) -> Path:
        """Dbt's target directory of the project (see :func:`target_path`)."""
        return target_path(self.project_dir)


def target_path(project_dir: str | Path) -> Path:
    """Dbt's target directory of a project: $DBT_TARGET_PATH, else its target-path."""
    project_dir = Path(project_dir)
    if os.environ.get("DBT_TARGET_PATH"):
        return Path(os.environ["DBT_TARGET_PATH"])
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    return project_dir / str(project.get("target-path", "target"))


def resolve_profiles_dir(project_dir: Path, profiles_dir: str | Path | None) -> Path:
    """The directory of profiles.yml: the option, $DBT_PROFILES_DIR, the project, ~/.dbt.

    The project directory comes before ~/.dbt, so that `xp --project-dir X` run from
    anywhere finds X's profiles.yml.
    """
    if profiles_dir:
        return Path(profiles_dir)
    if os.environ.get("DBT_PROFILES_DIR"):
        return Path(os.environ["DBT_PROFILES_DIR"])
    if (project_dir / "profiles.yml").exists():
        return project_dir
    return Path.home() / ".dbt"


def load_target(
    project_dir: str | Path = ".", profiles_dir: str | Path | None = None, target: str | None = None
) -> DbtTarget:
    """Load the active target of the dbt project in ``project_dir``, through dbt.

    Raises:
        ProfileError: dbt cannot load the project, the profile or the target's adapter.
    """
    from dbt_common.exceptions import DbtRuntimeError

    project_dir = Path(project_dir)
    profiles_dir = resolve_profiles_dir(project_dir, profiles_dir)
    try:
        # dbt's command line reads DBT_TARGET itself; its RuntimeConfig does not.
        config = _runtime_config(
            project_dir, profiles_dir, target or os.environ.get("DBT_TARGET") or None
        )
    except ModuleNotFoundError as error:  # the adapter is installed, a module it needs is not
        raise _missing_module_error(error) from None
    except DbtRuntimeError as error:
        raise _profile_error(str(error), project_dir, profiles_dir) from None
    credentials = config.credentials
    return DbtTarget(
        project_dir=project_dir,
        profiles_dir=profiles_dir,
        profile_name=config.profile_name,
        target_name=config.target_name,
        type=credentials.type,
        schema=credentials.schema,
        connection=dict(credentials.connection_info()),
        config=config,
    )


def _runtime_config(project_dir: Path, profiles_dir: Path, target: str | None) -> Any:
    """Dbt's RuntimeConfig of the project and target, read as a dbt command reads it."""
    from dbt.config.runtime import RuntimeConfig
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ)  # where dbt's env_var() looks
    arguments = Namespace(
        project_dir=str(project_dir),
        profiles_dir=str(profiles_dir),
        target=target,
        vars={},
        threads=None,
        profile=None,
    )
    set_from_args(arguments, None)
    with _dbt_events_muted():
        return RuntimeConfig.from_args(arguments)


@contextmanager
def _dbt_events_muted() -> Iterator[None]:
    """Keep dbt's log lines (e.g. a failed adapter import) out of the terminal.

    The error that follows says it in one line.
    """
    from dbt_common.events.event_manager_client import get_event_manager

    manager = get_event_manager()
    loggers, manager.loggers = manager.loggers, []
    try:
        yield
    finally:
        manager.loggers = loggers


# dbt's messages for a project, profile or target it cannot load -> ours, in one line. Each
# pattern's groups fill the template; dbt's own first line is kept when none matches.
_PROFILE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (
            r"The profile '(?P<profile>[^']*)' does not have a target named '(?P<target>[^']*)'",
            "{profiles}: profile '{profile}' has no target '{target}' (targets: {targets})",
        ),
        (
            r"target \"(?P<target>[^\"]*)\" invalid: .*Could not find adapter type (?P<type>\w+)",
            "dbt target '{target}' has type '{type}', but dbt's adapter for it is not "
            "installed: pip install {package}",
        ),
        (
            r"required field \"type\" not found in profile (?P<profile>\S+) and target "
            r"(?P<target>\S+)",
            "dbt target '{target}' of profile '{profile}' has no 'type'",
        ),
        (
            r"Env var required but not provided: '(?P<name>[^']*)'",
            "profiles.yml or dbt_project.yml needs the environment variable {name}, which is "
            "not set",
        ),
        (
            r"Could not find profile named '(?P<profile>[^']*)'",
            "{profiles}: no profile named '{profile}' (the 'profile' of {project})",
        ),
        (r"No dbt_project.yml found", "{project}: cannot read: No such file or directory"),
    )
)


def _profile_error(text: str, project_dir: Path, profiles_dir: Path) -> ProfileError:
    """Dbt's error loading the project or target, as one line naming file, profile, target."""
    message = " ".join(text.split("\n"))
    for pattern, template in _PROFILE_ERRORS:
        match = pattern.search(message)
        if match:
            found = match.groupdict()
            targets = re.findall(r" - (\S+)", message[match.end() :])
            return ProfileError(
                template.format(
                    **found,
                    profiles=profiles_dir / "profiles.yml",
                    project=project_dir / "dbt_project.yml",
                    targets=", ".join(targets) or "none",
                    package=adapter_package(found.get("type") or ""),
                )
            )
    return ProfileError(f"dbt cannot load the project's target: {first_line(text)}")


def _missing_module_error(error: ModuleNotFoundError) -> ProfileError:
    """A module that dbt's adapter imports is missing (a driver, say): what to install.

    The target and adapter type are dbt's own arguments at the failing import (its
    credentials loader); in a dbt release that renames them, the message says less.
    """
    found: dict[str, Any] = {}
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_name == "_credentials_from_profile":
            found = dict(trace.tb_frame.f_locals)
        trace = trace.tb_next
    adapter_type = str(found.get("typename", "")) or "?"
    return ProfileError(
        f"dbt target '{found.get('target_name', '?')}' has type '{adapter_type}', but Python "
        f"cannot import {error.name}: pip install {adapter_package(adapter_type)}"
    )


def warehouse_location(target: DbtTarget) -> str:
    """The warehouse in words: the engine and its database or file."""
    connection = target.connection
    if target.type == "duckdb":
        path = str(connection.get("path", ""))
        return f"DuckDB file {path if path == ':memory:' else Path(path).resolve()}"
    if target.type == "postgres":
        return (
            f"Postgres database '{connection.get('database')}' at "
            f"{connection.get('host')}:{connection.get('port')}"
        )
    return f"{target.type} target '{target.target_name}'"


def check_reachable(target: DbtTarget) -> None:
    """Fail in one line when the target's warehouse is certainly not there yet.

    That is a local DuckDB file that does not exist: dbt would create an empty one.

    Raises:
        WarehouseError: The warehouse is not there.
    """
    if target.type != "duckdb":
        return
    path = str(target.connection.get("path", ""))
    if path == ":memory:" or path.startswith("md:") or "://" in path:
        return
    if not path or not Path(path).exists():
        raise WarehouseError(
            f"DuckDB file '{path}' (dbt target '{target.target_name}') does not exist: "
            "run `xp run` (or `dbt build`) first"
        )


@contextmanager
def open_warehouse(target: DbtTarget, config: ExperimentConfig | None) -> Iterator[Warehouse]:
    """Open the target's warehouse through dbt's adapter, in this process.

    The project's manifest comes first: within an `xp` command, the command's one parse
    (:func:`~analysis_py.warehouse.dbt.one_parse_per_command`), else a parse with the run's
    vars. The write runs the project's macros, and the marts are read where that manifest
    puts them. The connection is closed on leaving.

    Args:
        target: The active dbt target.
        config: The experiment config, for dbt's vars (none: the project's defaults).

    Raises:
        DbtBuildError: The project does not parse.
        WarehouseError: The connection failed.
    """
    from dbt.adapters.factory import get_adapter, register_adapter, reset_adapters
    from dbt.context.providers import generate_runtime_macro_context
    from dbt.mp_context import get_mp_context
    from dbt_common.events.base_types import EventLevel

    manifest = parse_project(target, config)
    node = manifest.nodes.get(f"model.{PACKAGE}.{MART}")
    # dbt keeps one adapter per type for the process: ours is registered afresh.
    reset_adapters()
    register_adapter(target.config, get_mp_context(), EventLevel.DEBUG)
    adapter = get_adapter(target.config)
    adapter.set_macro_resolver(manifest)
    adapter.set_macro_context_generator(generate_runtime_macro_context)
    try:
        with adapter.connection_named("xp_analysis"):
            warehouse = Warehouse(
                adapter,
                target,
                database=node.database if node else None,
                schema=node.schema if node else target.schema,
            )
            warehouse.connect()
            yield warehouse
    finally:
        reset_adapters()


class Warehouse:
    """The marts and result tables of a dbt target, through dbt's adapter.

    Attributes:
        database: The database of the marts and result tables (none where the engine has
            none).
        schema: Their schema: where dbt built the statistics mart.
        results_written: True once write_results has committed; an interruption after it
            leaves the new results.
    """

    def __init__(
        self, adapter: Any, target: DbtTarget, *, database: str | None, schema: str
    ) -> None:
        """Read and write next to the statistics mart, through ``adapter``."""
        self._adapter = adapter
        self._target = target
        self.database = database
        self.schema = schema
        self.results_written = False

    def connect(self) -> None:
        """Open the connection now, so that a failure names the warehouse.

        Raises:
            WarehouseError: The connection failed.
        """
        from dbt_common.exceptions import DbtRuntimeError

        connections = self._adapter.connections
        try:
            type(connections).open(connections.get_thread_connection())
        except DbtRuntimeError as error:
            raise WarehouseError(
                f"cannot connect to {warehouse_location(self._target)} (dbt target "
                f"'{self._target.target_name}'): {first_line(str(error))}"
            ) from None

    def read_table(self, name: str) -> pd.DataFrame:
        """All rows of one of our marts or result tables (they hold sums, never subjects).

        Raises:
            WarehouseError: The table is not there, or reading it failed.
        """
        from dbt_common.exceptions import DbtRuntimeError

        try:
            query = self._macro("xp_write_results_read", relation=self._relation(name))
            _, cursor = self._adapter.connections.add_query(query["sql"], auto_begin=False)
            rows, description = cursor.fetchall(), cursor.description
        except DbtRuntimeError as error:
            cause = error_cause(str(error))
            if cause.startswith("table '"):
                raise WarehouseError(
                    f"table {self.schema}.{name} not found in "
                    f"{warehouse_location(self._target)}: run `xp run` (or `dbt build`) first"
                ) from None
            raise WarehouseError(f"reading {self.schema}.{name} failed: {cause}") from None
        kinds = {column["name"]: column["kind"] for column in query["columns"]}
        return _frame(rows or [], [column[0] for column in description or []], kinds)

    def write_results(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        """Replace each latest result table by its frame and add the frame to its history.

        A history table keeps one snapshot per analysis_date: the frame's replaces it. On
        failure the previous results stay (see the module's doc for how, per engine).

        Returns:
            Warnings (one line each) about steps after the commit that failed.

        Raises:
            WarehouseError: Writing failed.
        """
        from dbt_common.exceptions import DbtRuntimeError

        # dbt's `target` in Jinja lacks some settings (Spark's method): passed as arguments.
        credentials = self._target.config.credentials
        options = self._macro(
            "xp_write_results_options", method=getattr(credentials, "method", None)
        )
        connections = self._adapter.connections
        with tempfile.TemporaryDirectory(prefix="xp-results-") as directory:
            files = Path(directory) if options["files"] else None
            loads = [_load(name, frame, files) for name, frame in tables.items()]
            # dbt's column queries of the reads may have opened a transaction: it is ended,
            # so that the write's own transaction holds the write alone.
            self._rollback()
            try:
                connections.begin()
                self._macro(
                    "xp_write_results", database=self.database, schema=self.schema, tables=loads
                )
                connections.commit()
            except DbtRuntimeError as error:
                self._rollback()
                kept = ", previous results kept" if options["transaction"] else ""
                raise WarehouseError(
                    f"writing the result tables failed{kept}: {error_cause(str(error))}"
                ) from None
            except BaseException:
                self._rollback()
                raise
        self.results_written = True
        return self._after_commit()

    def _after_commit(self) -> list[str]:
        """Run the engine's steps after the commit; a warning for each that fails.

        The results are committed already: such a step only tidies up (DuckDB's checkpoint).
        """
        from dbt_common.exceptions import DbtRuntimeError

        warnings = []
        for step in self._macro("xp_write_results_after_commit"):
            try:
                self._adapter.connections.add_query(step["sql"], auto_begin=False)
            except DbtRuntimeError as error:
                warnings.append(
                    f"the results are committed, but {step['what']} failed "
                    f"({error_cause(str(error))}); {step['otherwise']}"
                )
        return warnings

    def _rollback(self) -> None:
        """Roll back if a transaction is open; dbt logs a rollback that fails itself.

        A failed commit may have ended the transaction, and a lost connection makes the
        rollback fail too: its error must not replace the one that caused it.
        """
        from dbt_common.exceptions import DbtRuntimeError

        try:
            self._adapter.connections.rollback_if_open()
        except DbtRuntimeError:
            pass

    def _relation(self, name: str) -> Any:
        """A table next to the mart, as dbt's relation (quoted as the adapter quotes)."""
        return self._adapter.Relation.create(
            database=self.database, schema=self.schema, identifier=name, type="table"
        )

    def _macro(self, name: str, **kwargs: Any) -> Any:
        """Run one of our macros through the adapter; its return value.

        Raises:
            WarehouseError: The project lacks the macro (not this release's macros/).
        """
        from dbt_common.exceptions import DbtRuntimeError

        try:
            return self._adapter.execute_macro(name, project=PACKAGE, kwargs=kwargs)
        except DbtRuntimeError as error:
            if "could not find a macro" not in str(error):
                raise
            raise WarehouseError(
                f"the dbt project in {self._target.project_dir} has no macro {name}: are "
                "macros/xp_write_results*.sql of this release in the project?"
            ) from None


def _frame(rows: list[Any], names: list[str], kinds: dict[str, str]) -> pd.DataFrame:
    """Fetched rows as a frame, typed alike whichever engine they came from.

    Each column is typed by its kind as DuckDB's own pandas conversion types it: numbers
    float64 (exact decimals too), integers and booleans nullable where a value
    is null, dates and timestamps datetime64; text is left to pandas.
    """
    import pandas as pd

    frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=names)
    for name in names:
        kind = kinds.get(name, "text")
        if kind == "float":
            frame[name] = frame[name].astype("float64")
        elif kind in _NULLABLE:
            plain, nullable = _NULLABLE[kind]
            frame[name] = frame[name].astype(nullable if frame[name].isna().any() else plain)
        elif kind in ("date", "timestamp"):
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
    return frame


#: The pandas types of integer and boolean columns: plain, and where a value is null.
_NULLABLE = {"integer": ("int64", "Int64"), "boolean": ("bool", "boolean")}


def _load(name: str, frame: pd.DataFrame, files: Path | None) -> dict[str, Any]:
    """What the write macro needs of one result table: its columns and its rows.

    The rows go as a Parquet file in ``files`` if given, else as batches of bound values.
    """
    import pandas as pd

    columns = TABLES[name]
    history = f"{name}_history" if f"{name}_history" in TABLES else None
    dates = pd.to_datetime(frame["analysis_date"]).dropna().dt.strftime("%Y-%m-%d")
    load: dict[str, Any] = {
        "name": name,
        "columns": [{"name": column.name, "type": column.type} for column in columns],
        "history": history,
        "dates": sorted(set(dates)) if history else [],
        "file": None,
        "batches": [],
    }
    if files is not None:
        load["file"] = str(_parquet(frame, columns, files / f"{name}.parquet"))
    else:
        load["batches"] = _batches(frame, columns)
    return load


def _parquet(frame: pd.DataFrame, columns: tuple[Column, ...], path: Path) -> Path:
    """Write the frame's contract columns to a Parquet file, typed by the contract.

    Timestamps are naive microseconds (UTC wall-clock times): what every engine reads.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        "text": pa.string(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us"),
        "date": pa.date32(),
    }
    data = frame[[column.name for column in columns]].copy()
    for column in columns:
        if column.type in ("timestamp", "date"):
            stamps = pd.to_datetime(data[column.name])
            data[column.name] = stamps.dt.date if column.type == "date" else stamps
    schema = pa.schema([(column.name, types[column.type]) for column in columns])
    pq.write_table(pa.Table.from_pandas(data, schema=schema, preserve_index=False), path)
    return path


def _batches(frame: pd.DataFrame, columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    """The frame's rows in batches of flat bound values, in contract order, NaN as None.

    Times go as ISO text, which every engine casts and every driver binds.
    """
    values = [_bindable(frame[column.name], column.type) for column in columns]
    rows = list(zip(*values, strict=True))
    return [
        {
            "rows": len(rows[start : start + BATCH_ROWS]),
            "bindings": [value for row in rows[start : start + BATCH_ROWS] for value in row],
        }
        for start in range(0, len(rows), BATCH_ROWS)
    ]


def _bindable(series: pd.Series, column_type: str) -> list[Any]:
    """One column as plain Python values for a driver to bind."""
    import pandas as pd

    if column_type in ("timestamp", "date"):
        layout = "%Y-%m-%d %H:%M:%S.%f" if column_type == "timestamp" else "%Y-%m-%d"
        series = pd.to_datetime(series).dt.strftime(layout)
    values: list[Any] = series.astype(object).where(series.notna(), None).tolist()
    return values
