"""The xp command: run the pipeline, or only its analysis step, or render the report.

run and analyze start with the preflight: the source tables, the columns the config uses and
their types, the experiments' exposures. Its warnings (an experiment not started, variants
the config does not list) go to stdout as "xp: warning: ..."; an error stops the command
before anything is built or replaced. Progress lines ("xp: analysing ...") go to stderr when
it is a terminal, else to stdout, so that a failure leaves exactly one line on stderr.
Colours only reach a terminal, and never with NO_COLOR set.

exit status:
  0    success (with any warnings on stdout)
  1    failure: one line on stderr, "xp: error: ...", naming the cause (a config key, a
       table, column, value or experiment, the failing dbt model and why, the disk, memory);
       the previous results are intact unless the line says they were written
  2    command-line mistake (usage on stderr)
  130  interrupted (Ctrl-C): "xp: interrupted; the previous results are intact", or, once
       the new results are written, "xp: interrupted after the new results were written"
validate prints one line per problem it finds and exits 1 if any is an error.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from analysis_py.config import ConfigError, ExperimentConfig, load_config
from analysis_py.errors import AnalysisError, InterruptedAfterWrite
from analysis_py.pipeline.preflight import (
    Finding,
    PreflightError,
    PreflightUnavailable,
    preflight,
    raise_for_errors,
)
from analysis_py.presentation.formatting import plural
from analysis_py.result_tables import HISTORY_TABLES, LATEST_TABLES
from analysis_py.warehouse.bridge import (
    DbtTarget,
    ProfileError,
    WarehouseError,
    check_reachable,
    load_target,
    open_warehouse,
    warehouse_location,
)
from analysis_py.warehouse.dbt import (
    DbtBuildError,
    dbt_build,
    dbt_build_results,
    dbt_vars,
    one_parse_per_command,
    utc_now,
)
from analysis_py.warehouse.errors import os_error_cause
from analysis_py.warehouse.manifest import mart_schema

if TYPE_CHECKING:
    import pandas as pd

    from analysis_py.pipeline.comparisons import AnalysisResults

#: What the analysis and its output need (pandas, scipy, the report's templates): imported
#: while dbt builds, on a thread of its own, rather than before the build starts.
ANALYSIS_STACK = (
    "analysis_py.run",
    "analysis_py.presentation.summary",
    "analysis_py.presentation.report",
)


class OutputError(RuntimeError):
    """The report cannot be written where --output says; the message names the path."""


USER_ERRORS = (
    ConfigError,
    ProfileError,
    DbtBuildError,
    AnalysisError,
    WarehouseError,
    PreflightError,
    OutputError,
)
INTERRUPTED = "xp: interrupted; the previous results are intact"
#: How far ahead of now --analysis-at may be without a warning (a time later today, for a
#: cut at the end of the day, is an ordinary choice; a date a year ahead, a typo).
FUTURE_ANALYSIS_TIME = timedelta(days=1)


class _Interrupts:
    """Whether Ctrl-C (SIGINT) reached the running command.

    Python turns SIGINT into a KeyboardInterrupt, but one that lands inside dbt's own code
    (while it writes its artifacts, say) can come out of dbt as another error. The command
    then reports the interruption, not that error.
    """

    def __init__(self) -> None:
        self.seen = False

    def _handle(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable: Any) -> None:
        """Python's hook for an exception it cannot raise (one in a finalizer, a callback).

        A KeyboardInterrupt raised there is lost, and the command would go on to its end
        and exit 0: :func:`main` reports it from ``seen`` instead, with no traceback.
        """
        if not (self.seen and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            sys.__unraisablehook__(unraisable)

    @contextmanager
    def noted(self) -> Iterator[None]:
        """Note SIGINT within this block, where Python's default handler is installed."""
        self.seen = False
        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            yield  # SIGINT ignored (a background job) or handled by the caller
            return
        signal.signal(signal.SIGINT, self._handle)
        previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            sys.unraisablehook = previous_hook


interrupts = _Interrupts()
DEFAULT_REPORT = "experiment_report.html"


def _config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    if os.environ.get("XP_CONFIG"):
        return Path(os.environ["XP_CONFIG"])
    return Path(args.project_dir) / "experiments.yml"


def _report_path(args: argparse.Namespace) -> Path:
    """--output, a relative path taken from the project directory (as dbt takes its own)."""
    return Path(args.project_dir) / (args.output or DEFAULT_REPORT)


def colour_enabled(stream: TextIO) -> bool:
    """Colour only for a terminal, and not with NO_COLOR set (no-color.org) or TERM=dumb."""
    return (
        stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM", "") != "dumb"
    )


@contextmanager
def dbt_colours_as_ours() -> Iterator[None]:
    """Within this block, dbt colours its output only where xp would (:func:`colour_enabled`).

    Through DBT_USE_COLORS, so that every dbt call of a command agrees: its parse, the
    preflight's macro and the builds, an interrupted one's last lines included. A value
    the caller set stays.
    """
    if "DBT_USE_COLORS" in os.environ or colour_enabled(sys.stdout):
        yield
        return
    os.environ["DBT_USE_COLORS"] = "false"
    try:
        yield
    finally:
        os.environ.pop("DBT_USE_COLORS", None)


def _warn(message: str) -> None:
    print(f"xp: warning: {message}")


def _progress(message: str) -> None:
    """A step of long work: on stderr for a terminal; in a log, stderr keeps only errors."""
    stream = sys.stderr if sys.stderr.isatty() else sys.stdout
    print(f"xp: {message}", file=stream, flush=True)


def _preflight(target: DbtTarget, config: ExperimentConfig, seeds_pending: bool) -> None:
    """Check the warehouse before dbt replaces a mart or the analysis a result.

    A missing column, an empty table or a misspelt experiment id stops the command here,
    with the cause in one line. When the preflight's own queries cannot run, the command
    goes on, and the step that fails next (dbt, or reading the marts) says why.
    """
    try:
        findings = preflight(target, config, seeds_pending=seeds_pending)
    except PreflightUnavailable as error:
        _warn(f"{error}; going on without the preflight")
        return
    _print_findings(raise_for_errors(findings))


def _print_findings(findings: list[Finding]) -> None:
    for finding in findings:
        _warn(finding.message)


def results_location(target: DbtTarget) -> str:
    """Where the result tables are: the engine, its database or file, and the schema."""
    return f"{warehouse_location(target)}, schema {mart_schema(target)}"


def _written_line(target: DbtTarget, config: ExperimentConfig, n_comparisons: int) -> str:
    tables = ", ".join([*LATEST_TABLES, *HISTORY_TABLES])
    return (
        f"Wrote the results of {plural(len(config.experiments), 'experiment')} "
        f"({plural(n_comparisons, 'comparison')}) to {results_location(target)}: {tables}."
    )


def _analyze_and_report(
    args: argparse.Namespace, build_first: bool, *, backfill: bool = False
) -> int:
    config = load_config(_config_path(args))
    target = load_target(args.project_dir, args.profiles_dir, args.target)
    if args.report:
        _check_writable(_report_path(args))
    now = utc_now()
    analysis_at = args.analysis_at or now
    if analysis_at - now > FUTURE_ANALYSIS_TIME:
        _warn(
            f"--analysis-at {analysis_at:%Y-%m-%d %H:%M:%S} is more than a day ahead of now "
            f"({now:%Y-%m-%d %H:%M:%S} UTC): the results and their history snapshot "
            "are dated then"
        )
    if not build_first:
        check_reachable(target)
    _preflight(target, config, seeds_pending=build_first)
    if build_first:
        _progress("building the models (dbt build)...")
        flags = ["--full-refresh"] if args.full_refresh else []
        importing = import_in_background(ANALYSIS_STACK)
        # Stale incremental state rebuilds by itself inside dbt (docs/decisions/0009).
        dbt_build(target, config, flags, analysis_at, backfill=backfill)
        importing.join()
        print()
    from analysis_py.run import run_analysis

    n_comparisons = sum(len(e.metrics) * len(e.treatments) for e in config.experiments)
    _progress(f"analysing {plural(n_comparisons, 'comparison')} and writing the result tables...")
    # Without a build, the statistics mart says what time it was built for (run.py).
    requested = analysis_at if build_first else args.analysis_at
    results = run_analysis(target, config, requested, warn=_warn)
    try:
        _after_the_write(args, target, config, results, n_comparisons)
    except KeyboardInterrupt:
        raise InterruptedAfterWrite() from None
    except Exception:
        if interrupts.seen:  # Ctrl-C, come out of dbt as another error
            raise InterruptedAfterWrite() from None
        raise
    return 0


def _after_the_write(
    args: argparse.Namespace,
    target: DbtTarget,
    config: ExperimentConfig,
    results: AnalysisResults,
    n_comparisons: int,
) -> None:
    """Test the result tables just written, build what reads them, print, render.

    The new results are committed by now: an interruption here says so (the caller).
    """
    from analysis_py.presentation.summary import format_summary

    _progress("testing the result tables and building what reads them (dbt build)...")
    try:
        dbt_build_results(target, config)
    except DbtBuildError as error:
        raise DbtBuildError(f"the results were written, but {error}") from None
    print(format_summary(results.results, results.diagnostics, colour_enabled(sys.stdout)))
    print(_written_line(target, config, n_comparisons))
    if args.report:
        try:
            path = _render(target, _report_path(args), config)
        except OSError as error:
            raise OutputError(
                f"the results were written, but not the report to "
                f"{_report_path(args)}: {os_error_cause(error)}"
            ) from None
        print(f"Wrote the report to {path.resolve()}")


def import_in_background(modules: tuple[str, ...]) -> threading.Thread:
    """Start importing ``modules`` on a daemon thread; join it before using them.

    dbt spends most of a build waiting on the warehouse, so the imports cost the run little
    there. Should one fail, the thread ends quietly and the import that follows the join
    raises the error where it is reported.
    """

    def import_all() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # raised again by the import after the join
                return

    thread = threading.Thread(target=import_all, name="xp-imports", daemon=True)
    thread.start()
    return thread


def _descriptions(config: ExperimentConfig | None) -> dict[str, str]:
    return {e.id: e.description for e in config.experiments} if config else {}


def _read_results(target: DbtTarget, config: ExperimentConfig | None) -> dict[str, pd.DataFrame]:
    """The latest result tables, from wherever the analysis wrote them."""
    with open_warehouse(target, config) as warehouse:
        return {name: warehouse.read_table(name) for name in LATEST_TABLES}


def _render(target: DbtTarget, path: Path, config: ExperimentConfig | None) -> Path:
    from analysis_py.presentation.report import write_report

    _progress("writing the report...")
    tables = _read_results(target, config)
    return write_report(
        tables["experiment_results"],
        tables["experiment_diagnostics"],
        path,
        tables["experiment_results_over_time"],
        dimensions=tables["experiment_dimension_results"],
        descriptions=_descriptions(config),
    )


def _check_writable(path: Path) -> None:
    """Fail before the run, rather than after it, when the report cannot be written."""
    if path.is_dir():
        raise OutputError(
            f"--output {path} is a directory; name a file, e.g. {path / DEFAULT_REPORT}"
        )
    if path.exists():
        if not os.access(path, os.W_OK):
            raise OutputError(f"cannot write the report to {path}: permission denied")
        return
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"cannot write the report to {path}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write the report to {path}: {ancestor} is not writable")


def _command_run(args: argparse.Namespace) -> int:
    return _analyze_and_report(args, build_first=True)


def _command_backfill(args: argparse.Namespace) -> int:
    return _analyze_and_report(args, build_first=True, backfill=True)


def _command_analyze(args: argparse.Namespace) -> int:
    return _analyze_and_report(args, build_first=False)


def _command_report(args: argparse.Namespace) -> int:
    target = load_target(args.project_dir, args.profiles_dir, args.target)
    output = _report_path(args)
    _check_writable(output)
    try:
        config: ExperimentConfig | None = load_config(_config_path(args))
    except ConfigError as error:
        _warn(f"{error}; the report goes without the experiments' descriptions")
        config = None
    try:
        path = _render(target, output, config)
    except OSError as error:
        raise OutputError(f"cannot write the report to {output}: {os_error_cause(error)}") from None
    print(f"Wrote the report to {path.resolve()}")
    return 0


def _command_dbt_vars(args: argparse.Namespace) -> int:
    print(json.dumps(dbt_vars(load_config(_config_path(args)), args.analysis_at)))
    return 0


def _command_validate(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args))
    n_comparisons = sum(len(e.metrics) * len(e.treatments) for e in config.experiments)
    print(
        f"{config.path}: {plural(len(config.experiments), 'experiment')}, "
        f"{plural(len(config.metrics), 'metric')}, "
        f"{plural(n_comparisons, 'comparison')}: valid"
    )
    if args.offline:
        return 0
    try:
        target = load_target(args.project_dir, args.profiles_dir, args.target)
        check_reachable(target)
    except (ProfileError, WarehouseError) as error:
        print(f"Checked the file only: {error}")
        return 0
    # Would `xp run` run? (It loads the demo seeds itself.)
    findings = preflight(target, config, seeds_pending=True)
    errors = [f for f in findings if f.level == "error"]
    for finding in findings:
        if finding.level == "error":
            print(f"xp: error: {finding.message}", file=sys.stderr)
        else:
            _warn(finding.message)
    counts = f"{plural(len(errors), 'error')}, {plural(len(findings) - len(errors), 'warning')}"
    print(
        f"Target '{target.target_name}': "
        + (counts if findings else "the source tables hold what the config needs")
    )
    return 1 if errors else 0


def _command_plan(args: argparse.Namespace) -> int:
    from analysis_py.planning import planned_experiments, run_plan
    from analysis_py.presentation.plan import format_plan

    config = load_config(_config_path(args))
    try:
        experiments = planned_experiments(config, args.experiment or [])
    except KeyError as error:
        known = ", ".join(e.id for e in config.experiments)
        raise ConfigError(
            f"{config.path}: --experiment {error.args[0]!r} is not an experiment of the "
            f"config (experiments: {known})"
        ) from None
    if not experiments:
        raise ConfigError(
            f"{config.path}: no experiment has a plan block; add `plan:` to one, or name it "
            "with --experiment"
        )
    target = load_target(args.project_dir, args.profiles_dir, args.target)
    _progress("building the plan from the history (dbt build)...")
    rows = run_plan(
        target,
        config,
        experiments,
        history_end=args.history_end or utc_now(),
        analysis_at=utc_now(),
    )
    print()
    print(format_plan(rows))
    print(f"Wrote the plan to {results_location(target)}: experiment_plan.")
    return 0


def _utc_timestamp(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
    # To the second, as dbt cuts the data (analysis_time_text) and the tables store it.
    if stamp.microsecond:
        print(
            f"xp: --analysis-at {text} is taken to the second, {stamp:%Y-%m-%d %H:%M:%S} UTC: "
            "the data is cut and the results dated at whole seconds",
            file=sys.stderr,
        )
    return stamp.replace(microsecond=0)


def _version() -> str:
    try:
        return metadata.version("experiment-analysis")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


COMMANDS = (
    ("run", _command_run, "dbt build (seeds, models, tests), then the analysis; prints a summary"),
    (
        "backfill",
        _command_backfill,
        "run, replaying the results over time from each experiment's first day instead of "
        "adding today's snapshot (after a new experiment, a changed metric or late data)",
    ),
    ("analyze", _command_analyze, "only the analysis step, for schedulers that run dbt build"),
    ("report", _command_report, "render the current result tables to one self-contained HTML file"),
    (
        "plan",
        _command_plan,
        "plan proposed experiments from the warehouse's history: the subjects and days a "
        "target effect needs, with and without CUPED",
    ),
    ("dbt-vars", _command_dbt_vars, "print the --vars that a plain dbt build needs"),
    (
        "validate",
        _command_validate,
        "check the experiment config file, and (unless --offline, or without a dbt target or "
        "DuckDB file yet) that the warehouse holds what it needs",
    ),
)


def _add_common(name: str, command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--project-dir",
        default=".",
        help="the dbt project directory (default: the current directory)",
    )
    command.add_argument(
        "--config",
        help="experiment config file (default: $XP_CONFIG, else experiments.yml in the "
        "project directory)",
    )
    if name == "dbt-vars":
        return
    command.add_argument(
        "--profiles-dir",
        help="directory of profiles.yml (default, as dbt's: $DBT_PROFILES_DIR, else the "
        "project directory if it holds profiles.yml, else ~/.dbt)",
    )
    command.add_argument(
        "--target", help="dbt target (default: $DBT_TARGET, else the profile's target)"
    )


def _add_options(name: str, command: argparse.ArgumentParser) -> None:
    if name in ("run", "backfill", "analyze", "report"):
        command.add_argument(
            "--output",
            metavar="FILE",
            help="where the HTML report goes, relative to the project directory "
            f"(default: {DEFAULT_REPORT})",
        )
    if name in ("run", "backfill", "analyze"):
        command.add_argument(
            "--report", action="store_true", help="also write the HTML report (to --output)"
        )
    if name == "validate":
        command.add_argument(
            "--offline", action="store_true", help="check the file only, without the warehouse"
        )
    if name in ("run", "backfill"):
        command.add_argument(
            "--full-refresh",
            action="store_true",
            help="rebuild the incremental models from all events (needed after editing "
            "or deleting past rows; a changed config, code or source, or an "
            "--analysis-at before the last run's, rebuilds what it must by itself)",
        )
    if name == "plan":
        command.add_argument(
            "--experiment",
            action="append",
            metavar="ID",
            help="plan this experiment of the config, with or without a plan block "
            "(repeatable; default: the experiments with a plan block)",
        )
        command.add_argument(
            "--history-end",
            type=_utc_timestamp,
            metavar="TIME",
            help="UTC end of the history read, cut to its midnight (default: now)",
        )
    if name in ("run", "backfill", "analyze", "dbt-vars"):
        command.add_argument(
            "--analysis-at",
            type=_utc_timestamp,
            metavar="TIME",
            help="UTC analysis time to the second, e.g. 2026-03-20T06:00 (default: now; "
            "for analyze, the time the statistics mart was built for, and another time "
            "is refused). run and dbt-vars cut the data there (exposures and events "
            "before it; maturity judged at it), so a rerun for a past time is "
            "reproducible; every run is stamped with it, and the history keeps one "
            "snapshot per date",
        )


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``xp <command> [options]``."""
    # The module's doc: a summary line, then what the epilog says.
    summary, _, rest = (__doc__ or "").partition("\n\n")
    parser = argparse.ArgumentParser(
        prog="xp",
        description=summary.replace("The xp command: ", "").capitalize(),
        epilog=rest,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, handler, help_text in COMMANDS:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        _add_common(name, command)
        _add_options(name, command)
    return parser


def failure(error: BaseException) -> tuple[str, int]:
    """The line for stderr and the exit status of a command that raised ``error``."""
    if isinstance(error, InterruptedAfterWrite):  # before KeyboardInterrupt: a subclass
        return "xp: interrupted after the new results were written", 130
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED, 130
    if isinstance(error, USER_ERRORS):
        cause = str(error)
    elif isinstance(error, MemoryError):
        cause = "out of memory: give the process more memory, or lower the dbt target's threads"
    elif isinstance(error, OSError):
        cause = os_error_cause(error)
    else:  # a bug: still one line for a nightly log
        cause = (
            f"unexpected {type(error).__name__}: {error} (XP_DEBUG=1 shows the "
            "traceback; please report it)"
        )
    return "xp: error: " + " ".join(cause.split()), 1


EXPECTED = (*USER_ERRORS, KeyboardInterrupt, MemoryError, OSError)
#: The commands that replace result tables: at their end, the new results are written.
WRITING_COMMANDS = ("run", "backfill", "analyze", "plan")


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names; returns the exit status (see the module's doc)."""
    args = build_parser().parse_args(argv)
    try:
        with one_parse_per_command(), interrupts.noted(), dbt_colours_as_ours():
            status = int(args.handler(args))
        if interrupts.seen:
            # Ctrl-C where Python could not raise it (in a finalizer): the command went on
            # to its end, and wrote its results if it writes any.
            if args.command in WRITING_COMMANDS:
                raise InterruptedAfterWrite()
            raise KeyboardInterrupt()
        return status
    except (Exception, KeyboardInterrupt) as error:
        if os.environ.get("XP_DEBUG") and not isinstance(error, EXPECTED):
            raise
        if interrupts.seen and not isinstance(error, KeyboardInterrupt):
            # Ctrl-C landed inside dbt's own code, which turned it into another error.
            error = KeyboardInterrupt()
        line, status = failure(error)
        print(line, file=sys.stderr)
        return status


def console() -> NoReturn:
    """The `xp` command: :func:`main`, then exit without tearing the interpreter down.

    dbt leaves a large graph of objects behind (its manifest, adapters, event machinery);
    freeing it one object at a time at interpreter shutdown took longer than the analysis.
    The exit handlers still run (logging, multiprocessing's semaphores), after the output
    is flushed; only the module teardown is skipped.
    """
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()  # the standard exit handlers, without the teardown
    os._exit(status)


if __name__ == "__main__":
    console()
