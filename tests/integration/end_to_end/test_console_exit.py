"""The `xp` command exits without the interpreter's teardown, and loses nothing by it.

`console()` runs the exit handlers and then leaves with `os._exit`: the results must be in
the warehouse file afterwards, and stderr must stay empty (no warning from multiprocessing
about semaphores that were not cleaned up).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import DEMO_ANALYSIS_AT, REPO, DemoRun


def test_analyze_exits_cleanly_with_the_results_written(demo_run: DemoRun, tmp_path: Path) -> None:
    path = tmp_path / "copy.duckdb"
    shutil.copy(demo_run.path, path)
    with duckdb.connect(str(path)) as connection:
        expected = connection.execute("select count(*) from experiment_results").fetchone()[0]
        connection.execute("delete from experiment_results")
    env = {**os.environ, "XP_DUCKDB_PATH": str(path), "DO_NOT_TRACK": "1", "PYTHONPATH": str(REPO)}
    analysis_at = DEMO_ANALYSIS_AT.isoformat()
    completed = subprocess.run(
        [sys.executable, "-m", "analysis_py.cli", "analyze", "--project-dir", str(REPO),
         "--analysis-at", analysis_at],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert "Wrote the results of 2 experiments" in completed.stdout
    with duckdb.connect(str(path), read_only=True) as connection:
        written = connection.execute("select count(*) from experiment_results").fetchone()[0]
    assert written == expected > 0
