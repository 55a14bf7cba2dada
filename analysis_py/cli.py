"""The ``xp`` command: run the pipeline, or only its analysis step.

    xp run        dbt build (seeds, models, tests), then the analysis; prints a summary
    xp analyze    only the analysis step, for schedulers that already run dbt build
    xp report     render the current result tables to one self-contained HTML file
    xp dbt-vars   print the --vars that a plain `dbt build` needs
    xp validate   check the experiment config file, and (unless --offline, or when there is
                  no dbt target or DuckDB file yet) that the warehouse holds what it needs

`run` and `analyze` start with the preflight (analysis_py/pipeline/preflight.py): the source tables,
the columns the config uses and their types, the experiments' exposures. Its warnings (an
experiment not started, variants the config does not list) go to stdout as
`xp: warning: ...`; an error stops the command before anything is built or replaced.

Exit status:
    0    success (with any warnings on stdout)
    1    failure: one line on stderr, `xp: error: ...`, naming the cause (a config key, a
         table, column, value or experiment, the failing dbt model and why, the disk, memory);
         the previous results are intact unless the line says they were written
    2    command-line mistake (usage on stderr)
    130  interrupted (Ctrl-C): `xp: interrupted; the previous results are intact`
`validate` prints one line per problem it finds and exits 1 if any is an error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from analysis_py.config import ConfigError, ExperimentConfig, load_config
from analysis_py.pipeline.comparisons import AnalysisError
from analysis_py.pipeline.preflight import (
    Finding,
    PreflightError,
    PreflightUnavailable,
    preflight,
    raise_for_errors,
)
from analysis_py.presentation.report import write_report
from analysis_py.presentation.summary import format_summary
from analysis_py.run import InterruptedAfterWrite, run_analysis, utc_now
from analysis_py.warehouse.connection import (
    WarehouseError,
    check_reachable,
    connect,
    os_error_cause,
)
from analysis_py.warehouse.dbt import DbtBuildError, dbt_build, dbt_build_results, dbt_vars
from analysis_py.warehouse.manifest import mart_schema
from analysis_py.warehouse.profiles import DbtTarget, ProfileError, check_target, load_target


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


def _config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    if os.environ.get("XP_CONFIG"):
        return Path(os.environ["XP_CONFIG"])
    return Path(args.project_dir) / "experiments.yml"


def _warn(message: str) -> None:
    print(f"xp: warning: {message}")


def _preflight(target: DbtTarget, config: ExperimentConfig, seeds_pending: bool) -> None:
    """Before dbt replaces a mart or the analysis a result: a missing column, an empty table
    or a misspelt experiment id stops the command here, with the cause in one line. When
    the preflight's own queries cannot run, the command goes on, and the step that fails
    next (dbt, or reading the marts) says why.
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


def _analyze_and_report(args: argparse.Namespace, build_first: bool) -> int:
    config = load_config(_config_path(args))
    target = load_target(args.project_dir, args.profiles_dir, args.target)
    check_target(target)
    if args.report:
        _check_writable(Path(args.output))
    analysis_at = args.analysis_at or utc_now()
    if not build_first:
        check_reachable(target)
    _preflight(target, config, seeds_pending=build_first)
    if build_first:
        # Stale incremental state rebuilds by itself inside dbt (docs/decisions/0009).
        dbt_build(target, config, ["--full-refresh"] if args.full_refresh else None, analysis_at)
        print()
    results = run_analysis(target, config, analysis_at, warn=_warn)
    try:
        dbt_build_results(target, config)
    except DbtBuildError as error:
        raise DbtBuildError(f"the results were written, but {error}") from None
    print(format_summary(results.results, results.diagnostics))
    print(
        f"Wrote {len(results.results)} rows to experiment_results and "
        f"{len(results.diagnostics)} to experiment_diagnostics (target '{target.target_name}')."
    )
    if args.report:
        try:
            path = write_report(
                results.results, results.diagnostics, args.output, results.over_time
            )
        except OSError as error:
            raise OutputError(
                f"the results were written, but not the report to "
                f"{args.output}: {os_error_cause(error)}"
            ) from None
        print(f"Wrote the report to {path}")
    return 0


def _check_writable(path: Path) -> None:
    """Fail before the run, rather than after it, when the report cannot be written."""
    if path.is_dir():
        raise OutputError(
            f"--output {path} is a directory; name a file, e.g. {path / 'experiment_report.html'}"
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


def _command_analyze(args: argparse.Namespace) -> int:
    return _analyze_and_report(args, build_first=False)


def _command_report(args: argparse.Namespace) -> int:
    target = load_target(args.project_dir, args.profiles_dir, args.target)
    check_target(target)
    _check_writable(Path(args.output))
    warehouse = connect(target, mart_schema(target))
    try:
        results = warehouse.read_table("experiment_results")
        diagnostics = warehouse.read_table("experiment_diagnostics")
        over_time = warehouse.read_table("experiment_results_over_time")
    finally:
        warehouse.close()
    try:
        path = write_report(results, diagnostics, args.output, over_time)
    except OSError as error:
        raise OutputError(
            f"cannot write the report to {args.output}: {os_error_cause(error)}"
        ) from None
    print(f"Wrote the report to {path}")
    return 0


def _command_dbt_vars(args: argparse.Namespace) -> int:
    print(json.dumps(dbt_vars(load_config(_config_path(args)), args.analysis_at)))
    return 0


def _command_validate(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args))
    n_comparisons = sum(len(e.metrics) * len(e.treatments) for e in config.experiments)
    print(
        f"{config.path}: {len(config.experiments)} experiments, {len(config.metrics)} "
        f"metrics, {n_comparisons} comparisons: valid"
    )
    if args.offline:
        return 0
    try:
        target = load_target(args.project_dir, args.profiles_dir, args.target)
        check_target(target)
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
    print(
        f"Target '{target.target_name}': "
        + (
            f"{len(errors)} error(s), {len(findings) - len(errors)} warning(s)"
            if findings
            else "the source tables hold what the config needs"
        )
    )
    return 1 if errors else 0


def _utc_timestamp(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
    return stamp


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xp", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, help_text, needs_target in (
        ("run", _command_run, "dbt build, then the analysis", True),
        ("analyze", _command_analyze, "only the analysis step", True),
        ("report", _command_report, "render the current results to one HTML file", True),
        ("dbt-vars", _command_dbt_vars, "print the --vars for a plain dbt build", False),
        (
            "validate",
            _command_validate,
            "check the experiment config file (and the warehouse)",
            False,
        ),
    ):
        command = commands.add_parser(name, help=help_text)
        command.set_defaults(handler=handler)
        command.add_argument(
            "--project-dir", default=".", help="the dbt project directory (default: .)"
        )
        command.add_argument(
            "--config",
            help="experiment config file (default: $XP_CONFIG, else "
            "experiments.yml in the project directory)",
        )
        if needs_target:
            command.add_argument(
                "--profiles-dir",
                help="directory of profiles.yml "
                "(default: as dbt: $DBT_PROFILES_DIR, the project, ~/.dbt)",
            )
            command.add_argument(
                "--target", help="dbt target (default: $DBT_TARGET, else the profile's target)"
            )
            command.add_argument(
                "--output",
                default="experiment_report.html",
                help="where `report` (and `run`/`analyze` with --report) write the HTML report",
            )
            if name != "report":
                command.add_argument(
                    "--report", action="store_true", help="also write the HTML report (to --output)"
                )
        if name == "validate":
            command.add_argument("--profiles-dir", help="directory of profiles.yml")
            command.add_argument("--target", help="dbt target whose tables to check")
            command.add_argument(
                "--offline", action="store_true", help="check the file only, without the warehouse"
            )
        if name == "run":
            command.add_argument(
                "--full-refresh",
                action="store_true",
                help="rebuild the incremental models from all events (needed after editing "
                "or deleting past rows; a changed config, code or source, or an "
                "--analysis-at before the last run's, rebuilds what it must by itself)",
            )
        if name in ("run", "analyze", "dbt-vars"):
            command.add_argument(
                "--analysis-at",
                type=_utc_timestamp,
                help="UTC analysis time, e.g. 2026-03-20T06:00 (default: now). `run` and "
                "`dbt-vars` cut the data there (exposures and events before it; maturity "
                "judged at it), so a rerun for a past time is reproducible; every run is "
                "stamped with it, and the history keeps one snapshot per date",
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        return _fail(str(error))
    except InterruptedAfterWrite:
        print("xp: interrupted after the new results were written", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except MemoryError:
        return _fail(
            "out of memory: give the process more memory, or lower the dbt target's threads"
        )
    except OSError as error:
        return _fail(os_error_cause(error))
    except Exception as error:  # a bug: still one line for a nightly log
        if os.environ.get("XP_DEBUG"):
            raise
        return _fail(
            f"unexpected {type(error).__name__}: {error} (XP_DEBUG=1 shows the "
            "traceback; please report it)"
        )


def _fail(message: str) -> int:
    print("xp: error: " + " ".join(message.split()), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
