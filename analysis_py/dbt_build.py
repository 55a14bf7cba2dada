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
    """Build the project's seeds, models and tests; raise :class:`DbtBuildError` on failure.

    ``analysis_at`` (UTC) cuts the data: exposures and events from then on are left out, and
    metrics that count only matured subjects judge maturity at that time.
    """
    run_dbt("build", target, config, extra_args, analysis_at)


def dbt_vars(config: ExperimentConfig, analysis_at: datetime | None = None) -> dict[str, Any]:
    """The --vars dbt needs: the config, and the analysis time if there is one."""
    variables = config.to_dbt_vars()
    if analysis_at is not None:
        variables["xp_analysis_at"] = analysis_at.strftime("%Y-%m-%d %H:%M:%S")
    return variables


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
        "--vars", json.dumps(dbt_vars(config, analysis_at)),
        *(extra_args or []),
    ]
    result = dbtRunner().invoke(args)
    if result.success:
        return
    if result.exception is not None:
        # dbt's messages run over many lines; the log above has them in full.
        message = " ".join(str(result.exception).split())
        if len(message) > 300:
            message = message[:300] + "... (see dbt's log above)"
        raise DbtBuildError(f"dbt {command} failed: {message}")
    failures = [
        f"{node.node.name} ({node.status})"
        for node in (result.result or [])
        if str(node.status) in {"error", "fail", "runtime error"}
    ]
    raise DbtBuildError(f"dbt {command} failed: " + (", ".join(failures)
                                                     or "see the log above"))
