"""The ``xp`` command: run the pipeline, or only its analysis step.

    xp run        dbt build (seeds, models, tests), then the analysis; prints a summary
    xp analyze    only the analysis step, for schedulers that already run dbt build
    xp report     render the current result tables to one self-contained HTML file
    xp dbt-vars   print the --vars that a plain `dbt build` needs
    xp validate   check the experiment config file

Exit status: 0 on success, 1 with a one-line reason on stderr when the config, dbt or the
warehouse fails, 2 for a command-line mistake.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from analysis_py.analysis import (
    CROSS_PRODUCTS,
    DAILY_MART,
    DIMENSION_MART,
    MART,
    AnalysisError,
    AnalysisResults,
    analyze,
    analyze_slices,
    needs_cross_products,
)
from analysis_py.config import ConfigError, ExperimentConfig, load_config
from analysis_py.dbt_build import DbtBuildError, dbt_build, dbt_vars
from analysis_py.manifest import mart_schema
from analysis_py.profiles import DbtTarget, ProfileError, load_target
from analysis_py.report import write_report
from analysis_py.summary import format_summary
from analysis_py.warehouse import WarehouseError, connect

USER_ERRORS = (ConfigError, ProfileError, DbtBuildError, AnalysisError, WarehouseError)


def _config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    if os.environ.get("XP_CONFIG"):
        return Path(os.environ["XP_CONFIG"])
    return Path(args.project_dir) / "experiments.yml"


def run_analysis(target: DbtTarget, config: ExperimentConfig,
                 analysis_at: datetime | None = None) -> AnalysisResults:
    """Read the marts, analyse them, and write the result tables (latest and history).

    ``analysis_at`` (UTC, default now) stamps the run; the history keeps one snapshot per
    UTC date of it.
    """
    warehouse = connect(target, mart_schema(target))
    try:
        mart = warehouse.read_table(MART)
        cross_products = (warehouse.read_table(CROSS_PRODUCTS)
                          if needs_cross_products(config) else None)
        stamp = analysis_at or _now()
        run_id = uuid.uuid4().hex
        results = analyze(mart, config, run_id=run_id, analysis_at=stamp,
                          cross_products=cross_products)
        tables = {"experiment_results": results.results,
                  "experiment_diagnostics": results.diagnostics,
                  "experiment_results_over_time": analyze_slices(
                      warehouse.read_table(DAILY_MART), config, run_id, stamp,
                      ("day_number", "as_of_date"), "experiment_results_over_time")}
        if any(e.dimensions for e in config.experiments):
            tables["experiment_dimension_results"] = analyze_slices(
                warehouse.read_table(DIMENSION_MART), config, run_id, stamp,
                ("dimension_name", "dimension_value"), "experiment_dimension_results")
        warehouse.write_results(tables)
        results = replace(results, over_time=tables["experiment_results_over_time"])
    finally:
        warehouse.close()
    return results


def _analyze_and_report(args: argparse.Namespace, build_first: bool) -> int:
    config = load_config(_config_path(args))
    target = load_target(args.project_dir, args.profiles_dir, args.target)
    analysis_at = args.analysis_at or _now()
    if build_first:
        full_refresh = args.full_refresh or _built_from_another_config(target, config)
        dbt_build(target, config, ["--full-refresh"] if full_refresh else None, analysis_at)
        print()
    results = run_analysis(target, config, analysis_at)
    print(format_summary(results.results, results.diagnostics))
    if args.report:
        path = write_report(results.results, results.diagnostics, args.output,
                            results.over_time)
        print(f"Wrote the report to {path}")
    print(f"Wrote {len(results.results)} rows to experiment_results and "
          f"{len(results.diagnostics)} to experiment_diagnostics (target '{target.target_name}').")
    return 0


def _built_from_another_config(target: DbtTarget, config: ExperimentConfig) -> bool:
    """True unless the warehouse holds a statistics mart built from this config: the
    incremental models then rebuild in full, as rows of other definitions may be in them.
    Spark rebuilds every run anyway (no incremental models there)."""
    if target.type == "spark":
        return False
    try:
        warehouse = connect(target, mart_schema(target))
        try:
            hashes = set(warehouse.read_table(MART)["config_hash"])
        finally:
            warehouse.close()
    except (*USER_ERRORS, OSError, KeyError):
        return True
    return hashes != {config.hash}


def _command_run(args: argparse.Namespace) -> int:
    return _analyze_and_report(args, build_first=True)


def _command_analyze(args: argparse.Namespace) -> int:
    return _analyze_and_report(args, build_first=False)


def _command_report(args: argparse.Namespace) -> int:
    target = load_target(args.project_dir, args.profiles_dir, args.target)
    warehouse = connect(target, mart_schema(target))
    try:
        results = warehouse.read_table("experiment_results")
        diagnostics = warehouse.read_table("experiment_diagnostics")
        over_time = warehouse.read_table("experiment_results_over_time")
    finally:
        warehouse.close()
    path = write_report(results, diagnostics, args.output, over_time)
    print(f"Wrote the report to {path}")
    return 0


def _command_dbt_vars(args: argparse.Namespace) -> int:
    print(json.dumps(dbt_vars(load_config(_config_path(args)), args.analysis_at)))
    return 0


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _command_validate(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args))
    n_comparisons = sum(len(e.metrics) * len(e.treatments) for e in config.experiments)
    print(f"{config.path}: {len(config.experiments)} experiments, {len(config.metrics)} "
          f"metrics, {n_comparisons} comparisons: valid")
    return 0


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
        ("validate", _command_validate, "check the experiment config file", False),
    ):
        command = commands.add_parser(name, help=help_text)
        command.set_defaults(handler=handler)
        command.add_argument("--project-dir", default=".",
                             help="the dbt project directory (default: .)")
        command.add_argument("--config",
                             help="experiment config file (default: $XP_CONFIG, else "
                                  "experiments.yml in the project directory)")
        if needs_target:
            command.add_argument("--profiles-dir", help="directory of profiles.yml "
                                 "(default: as dbt: $DBT_PROFILES_DIR, the project, ~/.dbt)")
            command.add_argument("--target", help="dbt target (default: $DBT_TARGET, else "
                                 "the profile's target)")
            command.add_argument("--output", default="experiment_report.html",
                                 help="where `report` (and `run`/`analyze` with --report) "
                                      "write the HTML report")
            if name != "report":
                command.add_argument("--report", action="store_true",
                                     help="also write the HTML report (to --output)")
        if name == "run":
            command.add_argument(
                "--full-refresh", action="store_true",
                help="rebuild the incremental models from all events (needed after editing "
                     "past rows or for an --analysis-at before the last run's; a changed "
                     "config triggers it by itself)")
        if name in ("run", "analyze", "dbt-vars"):
            command.add_argument(
                "--analysis-at", type=_utc_timestamp,
                help="UTC analysis time, e.g. 2026-03-20T06:00 (default: now). `run` and "
                     "`dbt-vars` cut the data there (exposures and events before it; maturity "
                     "judged at it), so a rerun for a past time is reproducible; every run is "
                     "stamped with it, and the history keeps one snapshot per date")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        print(f"xp: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
