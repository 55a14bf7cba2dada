"""Run dbt in-process, with the experiment config passed as dbt vars."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from analysis_py.config import ExperimentConfig
from analysis_py.warehouse.errors import error_cause, os_error_cause
from analysis_py.warehouse.jinja_cache import compiled_templates_kept

if TYPE_CHECKING:  # bridge.py imports this module: the target's class is for types only
    from analysis_py.warehouse.bridge import DbtTarget


#: The pip package of an adapter type, where it is not dbt-<type>.
ADAPTER_PACKAGES = {"spark": "dbt-spark[session]"}


def adapter_package(adapter_type: str) -> str:
    """What to pip install for dbt's adapter of this target type."""
    return ADAPTER_PACKAGES.get(adapter_type, f"dbt-{adapter_type}")


class DbtBuildError(RuntimeError):
    """Dbt failed; the message names the failing models and tests, and the cause.

    The cause is read from the adapter's error: a missing table or column, a value that does
    not convert, the disk or memory.
    """


def dbt_build(
    target: DbtTarget,
    config: ExperimentConfig,
    extra_args: list[str] | None = None,
    analysis_at: datetime | None = None,
    *,
    backfill: bool = False,
) -> None:
    """Build the project's seeds, models and data tests.

    dbt unit tests (fixed literal rows, the same every night) are left to the test suite,
    as dbt advises for production runs.

    Args:
        target: The dbt target to build in.
        config: The experiment config, passed as dbt vars.
        extra_args: Further arguments for `dbt build`.
        analysis_at: The analysis time (UTC). It cuts the data: exposures and events from
            then on are left out, and metrics that count only matured subjects judge
            maturity at that time.
        backfill: Replay the results over time from the first day
            (fct_variant_metric_daily_statistics) instead of adding this run's snapshot.

    Raises:
        DbtBuildError: The build failed.
    """
    run_dbt(
        "build",
        target,
        config,
        [
            "--exclude-resource-type",
            "unit_test",
            "--exclude",
            RESULTS_AND_DOWNSTREAM,
            *(extra_args or []),
        ],
        analysis_at,
        backfill=backfill,
    )


#: The result tables' dbt models, their tests and the host's models that read them: built
#: after the analysis has written the tables (docs/decisions/0012).
RESULTS_AND_DOWNSTREAM = "tag:xp_results+"


def dbt_build_results(
    target: DbtTarget, config: ExperimentConfig, extra_args: list[str] | None = None
) -> None:
    """After the analysis: test the result tables just written and build what reads them.

    Raises:
        DbtBuildError: A test or a model failed (the results stay written).
    """
    run_dbt(
        "build",
        target,
        config,
        [
            "--exclude-resource-type",
            "unit_test",
            "--select",
            RESULTS_AND_DOWNSTREAM,
            *(extra_args or []),
        ],
    )


ANALYSIS_AT_VARIABLE = "XP_ANALYSIS_AT"
#: Set to 1 for a build that replays the results over time (macros/xp_results_over_time.sql);
#: like the analysis time, an environment variable, so that asking does not re-parse.
BACKFILL_VARIABLE = "XP_BACKFILL"
# dbt's message when an incremental model's new columns differ from the stored table's and
# the model fails on a schema change (on_schema_change: fail).
SCHEMA_CHANGED = "schemas on this incremental model are out of sync"
# The data test that fails when stored subject keys are no longer the engine's hash of them.
KEYS_CHANGED_TEST = "assert_subject_keys_are_their_hash"


def dbt_vars(config: ExperimentConfig, analysis_at: datetime | None = None) -> dict[str, Any]:
    """The --vars for a plain `dbt build`: the config, and the analysis time if there is one.

    `xp run` passes the time in the environment instead: see :func:`run_dbt`.
    """
    variables = config.to_dbt_vars()
    if analysis_at is not None:
        variables["xp_analysis_at"] = analysis_time_text(analysis_at)
    return variables


def utc_now() -> datetime:
    """Now, in UTC, as a naive timestamp to the second (how the result tables store it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def analysis_time_text(analysis_at: datetime) -> str:
    """The analysis time as dbt's models read it: 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    return analysis_at.strftime("%Y-%m-%d %H:%M:%S")


def parse_project(target: DbtTarget, config: ExperimentConfig | None) -> Any:
    """Dbt's manifest of the target's project, parsed as `dbt parse` does.

    With the vars every other dbt call of the run passes, so that dbt's partial parsing
    reuses the last invocation's work; within :func:`one_parse_per_command`, the command's
    manifest, without calling dbt.

    Raises:
        DbtBuildError: The project does not parse.
    """
    return run_dbt("parse", target, config, ["--quiet", "--no-write-json"])


#: The manifests parsed in the current `xp` command (see :func:`one_parse_per_command`),
#: by project, profiles directory, target and vars; None outside a command.
_command_manifests: dict[tuple[str, ...], Any] | None = None


@contextmanager
def one_parse_per_command() -> Iterator[None]:
    """Within this block, dbt parses each project once; later dbt calls reuse the manifest.

    An `xp run` calls dbt four times (the preflight's macro, the build, the analysis step's
    connection, the result tables' build). Each call would read dbt's partial-parse cache,
    check every file and write ``manifest.json`` again: about 0.4 s apiece at any data size.
    Nothing edits the project during one command, so one parse serves them all. Outside
    such a block (the library's callers, the tests' own dbt calls) every call parses.
    """
    global _command_manifests
    previous, _command_manifests = _command_manifests, {}
    try:
        yield
    finally:
        _command_manifests = previous


def run_dbt(
    command: str,
    target: DbtTarget,
    config: ExperimentConfig | None,
    extra_args: list[str] | None = None,
    analysis_at: datetime | None = None,
    *,
    backfill: bool = False,
    callbacks: list[Callable[[Any], None]] | None = None,
) -> Any:
    """Run a dbt command (build, parse, run-operation, ...) on the target's project.

    Within :func:`one_parse_per_command`, the first call parses the project and later
    calls with the same vars reuse that manifest (a parse then returns it without calling
    dbt).

    Args:
        command: The dbt command.
        target: The dbt target: project, profiles directory and target name.
        config: The experiment config, passed as dbt vars (none: the project's own vars).
        extra_args: Further arguments for the command.
        analysis_at: The analysis time (UTC), if the command builds models.
        backfill: Whether a build replays the results over time (see :func:`dbt_build`).
        callbacks: Receive every dbt event.

    Returns:
        What the command returns through dbt's programmatic API (for parse, the manifest).

    Raises:
        DbtBuildError: dbt failed; one line names the cause.
        KeyboardInterrupt: dbt was interrupted.
    """
    # dbt's anonymous usage tracking tries the network at every call.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    location = [
        "--project-dir",
        str(target.project_dir),
        "--profiles-dir",
        str(target.profiles_dir),
        "--target",
        target.target_name,
        *(["--vars", json.dumps(config.to_dbt_vars())] if config else []),
    ]
    manifest = None
    # A further --vars (the plan's) changes what dbt parses: such a call parses for itself.
    if _command_manifests is not None and "--vars" not in (extra_args or []):
        key = tuple(location)
        if key not in _command_manifests:
            _command_manifests[key] = _invoke(command, target, ["parse", *location, "--quiet"])
        manifest = _command_manifests[key]
        if command == "parse":
            return manifest
    # The analysis time changes every night: as an environment variable it leaves the vars
    # unchanged, so dbt can parse partially (a change of vars re-parses everything).
    environment = {
        ANALYSIS_AT_VARIABLE: analysis_time_text(analysis_at) if analysis_at else None,
        BACKFILL_VARIABLE: "1" if backfill else None,
    }
    previous = {name: os.environ.pop(name, None) for name in environment}
    os.environ.update({name: value for name, value in environment.items() if value})
    try:
        arguments = [command, *location, *(extra_args or [])]
        return _invoke(command, target, arguments, callbacks, manifest)
    finally:
        for name, value in previous.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def _invoke(
    command: str,
    target: DbtTarget,
    args: list[str],
    callbacks: list[Callable[[Any], None]] | None = None,
    manifest: Any = None,
) -> Any:
    """One dbt invocation, with ``manifest`` already parsed if given; what it returns.

    Errors name ``command``: the one the caller asked for, also when this is its parse.

    Raises:
        DbtBuildError: dbt failed; one line names the cause.
        KeyboardInterrupt: dbt was interrupted.
    """
    from dbt.cli.main import dbtRunner

    errors: list[str] = []  # dbt's error events: the cause when a result carries none

    def record_errors(event: Any) -> None:
        if event.info.level == "error" and event.info.name != "MainStackTrace":
            errors.append(str(getattr(event.data, "exc", "") or event.info.msg))

    with compiled_templates_kept(target.target_path):
        result = dbtRunner(
            manifest=manifest,
            callbacks=[_without_console_stack_traces, record_errors, *(callbacks or [])],
        ).invoke(args)
    if result.success:
        return result.result
    if result.exception is not None:
        raise _exception_error(command, target, result.exception)
    raise DbtBuildError(f"dbt {command} failed: " + _node_failures(result.result, errors))


def _without_console_stack_traces(event: Any) -> None:
    """Keep dbt's stack traces (an interrupt, a crash) out of the terminal.

    xp says what happened in one line, and dbt's log file (logs/dbt.log) keeps the trace.
    Installed on dbt's console logger at the first event of each invocation.
    """
    try:
        from dbt_common.events.event_manager_client import get_event_manager

        for logger in get_event_manager().loggers:
            if logger.name == "stdout_log" and not getattr(logger.filter, "_xp", False):

                def keep(message: Any, _filter: Callable[[Any], bool] = logger.filter) -> bool:
                    return message.info.name != "MainStackTrace" and _filter(message)

                keep._xp = True  # type: ignore[attr-defined]
                logger.filter = keep
    except (ImportError, AttributeError):  # another dbt version: leave its console as it is
        pass


def _exception_error(command: str, target: DbtTarget, exception: BaseException) -> BaseException:
    """Dbt stopped with an exception (not a failing node): the error to raise instead."""
    if isinstance(exception, KeyboardInterrupt):
        return exception
    if isinstance(exception, MemoryError):
        return DbtBuildError(f"dbt {command} failed: out of memory")
    text = str(exception)
    if "Could not find adapter type" in text:
        return DbtBuildError(
            f"dbt has no adapter for target '{target.target_name}' of type "
            f"'{target.type}': pip install {adapter_package(target.type)}"
        )
    if isinstance(exception, OSError):
        return DbtBuildError(f"dbt {command} failed: {os_error_cause(exception)}")
    # dbt's messages run over many lines; the log above has them in full.
    cause = error_cause(text) or type(exception).__name__
    return DbtBuildError(f"dbt {command} failed: {cause} (dbt's log above has the detail)")


def _name(result: Any) -> str:
    """The model, test or operation a node result is about."""
    node = getattr(result, "node", None)
    if node is not None:
        return str(node.name)
    return str(getattr(result, "unique_id", "") or "").rsplit(".", 1)[-1] or "an operation"


def _node_failures(results: Any, errors: list[str]) -> str:
    """The failing models and tests, the first one with its cause.

    The cause is read from the adapter's message: the table, column or value at fault, the
    disk or memory.
    """
    failed = [
        node for node in (results or []) if str(node.status) in {"error", "fail", "runtime error"}
    ]
    if not failed:
        return "see the log above"
    failures = ", ".join(f"{_name(node)} ({node.status})" for node in failed[:3])
    if len(failed) > 3:
        failures += f" and {len(failed) - 3} more"
    if any(SCHEMA_CHANGED in str(node.message) for node in failed):
        return failures + (
            ": its columns changed (after an upgrade, see CHANGELOG.md); "
            "rebuild once with `xp run --full-refresh`"
        )
    if any(_name(node) == KEYS_CHANGED_TEST for node in failed):
        return failures + (
            ": the engine now hashes subjects to other keys than the stored "
            "ones (after an engine upgrade); rebuild once with "
            "`xp run --full-refresh`"
        )
    first = failed[0]
    if str(first.status) == "fail":  # a data test that found rows
        failing = getattr(first, "failures", None)
        return failures + (f": {failing} failing rows" if failing else "")
    cause = error_cause(
        str(getattr(first, "message", None) or "") or next((e for e in errors if e.strip()), "")
    )
    sources = [
        unique_id.split(".", 2)[2]
        for unique_id in getattr(
            getattr(getattr(first, "node", None), "depends_on", None), "nodes", None
        )
        or []
        if unique_id.startswith("source.")
    ]
    if cause and len(sources) == 1:
        cause += f" (source {sources[0]})"
    return failures + (f": {cause}" if cause else "")
