"""Run dbt in-process, with the experiment config passed as dbt vars."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from analysis_py.config import ExperimentConfig
from analysis_py.profiles import DbtTarget


class DbtBuildError(RuntimeError):
    """dbt build failed; the message names the failing models and tests."""


def dbt_build(target: DbtTarget, config: ExperimentConfig,
              extra_args: list[str] | None = None, analysis_at: datetime | None = None) -> None:
    """Build the project's seeds, models and data tests; raise :class:`DbtBuildError` on
    failure.

    ``analysis_at`` (UTC) cuts the data: exposures and events from then on are left out, and
    metrics that count only matured subjects judge maturity at that time. dbt unit tests
    (fixed literal rows, the same every night) are left to the test suite, as dbt advises
    for production runs.
    """
    run_dbt("build", target, config, ["--exclude-resource-type", "unit_test", *(extra_args or [])],
            analysis_at)


ANALYSIS_AT_VARIABLE = "XP_ANALYSIS_AT"
# dbt's message when an incremental model's new columns differ from the stored table's and
# the model fails on a schema change (on_schema_change: fail).
SCHEMA_CHANGED = "schemas on this incremental model are out of sync"
# The data test that fails when stored subject keys are no longer the engine's hash of them.
KEYS_CHANGED_TEST = "assert_subject_keys_are_their_hash"


def dbt_vars(config: ExperimentConfig, analysis_at: datetime | None = None) -> dict[str, Any]:
    """The --vars for a plain `dbt build`: the config, and the analysis time if there is one.
    (`xp run` passes the time in the environment instead: see :func:`run_dbt`.)"""
    variables = config.to_dbt_vars()
    if analysis_at is not None:
        variables["xp_analysis_at"] = analysis_time_text(analysis_at)
    return variables


def analysis_time_text(analysis_at: datetime) -> str:
    return analysis_at.strftime("%Y-%m-%d %H:%M:%S")


def run_dbt(command: str, target: DbtTarget, config: ExperimentConfig,
            extra_args: list[str] | None = None, analysis_at: datetime | None = None) -> None:
    """Run a dbt command (build, parse, ...) on the target's project with the config's vars."""
    from dbt.cli.main import dbtRunner

    # dbt's anonymous usage tracking tries the network at every call (~1 s here).
    os.environ.setdefault("DO_NOT_TRACK", "1")
    args = [
        command,
        "--project-dir", str(target.project_dir),
        "--profiles-dir", str(target.profiles_dir),
        "--target", target.target_name,
        "--vars", json.dumps(config.to_dbt_vars()),
        *(extra_args or []),
    ]
    # The analysis time changes every night: as an environment variable it leaves the vars
    # unchanged, so dbt can parse partially (a var change re-parses everything, ~2.5 s).
    previous = os.environ.pop(ANALYSIS_AT_VARIABLE, None)
    if analysis_at is not None:
        os.environ[ANALYSIS_AT_VARIABLE] = analysis_time_text(analysis_at)
    try:
        result = dbtRunner().invoke(args)
    finally:
        os.environ.pop(ANALYSIS_AT_VARIABLE, None)
        if previous is not None:
            os.environ[ANALYSIS_AT_VARIABLE] = previous
    if result.success:
        return
    if result.exception is not None:
        # dbt's messages run over many lines; the log above has them in full.
        message = " ".join(str(result.exception).split())
        if len(message) > 300:
            message = message[:300] + "... (see dbt's log above)"
        raise DbtBuildError(f"dbt {command} failed: {message}")
    failed = [node for node in (result.result or [])
              if str(node.status) in {"error", "fail", "runtime error"}]
    failures = ", ".join(f"{node.node.name} ({node.status})" for node in failed)
    if any(SCHEMA_CHANGED in str(node.message) for node in failed):
        failures += (": its columns changed (after an upgrade, see CHANGELOG.md); rebuild once "
                     "with `xp run --full-refresh`")
    elif any(node.node.name == KEYS_CHANGED_TEST for node in failed):
        failures += (": the engine now hashes subjects to other keys than the stored ones "
                     "(after an engine upgrade); rebuild once with `xp run --full-refresh`")
    raise DbtBuildError(f"dbt {command} failed: " + (failures or "see the log above"))
