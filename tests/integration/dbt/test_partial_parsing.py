"""A new analysis time each night leaves dbt's partial parsing with nothing to re-parse.

`xp run` passes the analysis time in the environment (XP_ANALYSIS_AT). dbt notes every
environment variable a model reads while parsing and re-parses that model when its value
changes, so the macro reads it only when dbt executes. The compiled SQL must still carry
the night's time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from analysis_py.config import load_config
from analysis_py.warehouse.bridge import load_target
from analysis_py.warehouse.dbt import run_dbt
from tests.conftest import DEMO_CONFIG, REPO


def _changed_files(target_path: Path, analysis_at: datetime) -> list[int]:
    """Parse the demo project; the files dbt's partial parsing reports as changed."""
    changed: list[int] = []

    def record(event: Any) -> None:
        if event.info.name == "PartialParsingEnabled":
            changed.append(event.data.changed)

    run_dbt(
        "parse",
        load_target(REPO, target="duckdb"),
        load_config(DEMO_CONFIG),
        ["--target-path", str(target_path), "--no-write-json"],
        analysis_at,
        callbacks=[record],
    )
    return changed


def test_a_new_analysis_time_reparses_nothing(tmp_path: Path) -> None:
    first = _changed_files(tmp_path, datetime(2026, 3, 20))
    assert first == []  # no saved manifest yet: a full parse, no partial-parsing event
    assert _changed_files(tmp_path, datetime(2026, 3, 21)) == [0]
    assert _changed_files(tmp_path, datetime(2026, 3, 22)) == [0]


def test_the_compiled_sql_carries_the_analysis_time(tmp_path: Path) -> None:
    target = load_target(REPO, target="duckdb")
    config = load_config(DEMO_CONFIG)
    compile_args = ["--target-path", str(tmp_path), "--select", "int_exposures_deduplicated"]
    for night in (datetime(2026, 3, 20), datetime(2026, 3, 27)):
        run_dbt("compile", target, config, [*compile_args, "--quiet"], night)
        compiled = next((tmp_path / "compiled").rglob("int_exposures_deduplicated.sql"))
        assert f"'{night:%Y-%m-%d %H:%M:%S}'" in compiled.read_text()
