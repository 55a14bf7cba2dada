"""Shared fixtures: the repository's paths and one demo pipeline run per test session."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import duckdb
import pandas as pd
import pytest

from analysis_py.config import ExperimentConfig, load_config

REPO = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO / "experiments.yml"
SEEDS = REPO / "seeds" / "demo"
#: The demo run's analysis time: after the last demo event, so every window has ended.
DEMO_ANALYSIS_AT = pd.Timestamp("2026-04-10 00:00:00")


def load_script(path: Path) -> ModuleType:
    """A script of the repository (scripts/*.py) imported as a module, under its file name.

    The module is registered in sys.modules: dataclasses look their module up while being
    defined.
    """
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def parse_manifest(target_path: Path, variables: dict | None = None) -> dict:
    """Dbt's manifest of the project parsed into ``target_path``.

    ``variables`` are the dbt vars to parse with, by default the demo config's
    (``xp run``'s); models disabled by them are not among the manifest's nodes.
    """
    import json

    from dbt.cli.main import dbtRunner

    text = json.dumps(variables or load_config(DEMO_CONFIG).to_dbt_vars())
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(REPO),
            "--profiles-dir",
            str(REPO),
            "--target-path",
            str(target_path),
            "--vars",
            text,
        ]
    )
    assert result.success, result.exception
    return json.loads((target_path / "manifest.json").read_text())


def n_comparisons(config: ExperimentConfig) -> int:
    """Rows of experiment_results: experiments × listed metrics × treatments."""
    return sum(len(e.metrics) * len(e.treatments) for e in config.experiments)


@dataclass(frozen=True)
class DemoRun:
    """A DuckDB file holding the demo pipeline's marts and result tables."""

    path: Path
    config: ExperimentConfig
    analysis_at: pd.Timestamp = DEMO_ANALYSIS_AT

    def query(self, sql: str) -> pd.DataFrame:
        connection = duckdb.connect(str(self.path))
        try:
            return connection.execute(sql).df()
        finally:
            connection.close()

    def built_for(self, analysis_at: str) -> None:
        """Date the statistics mart as if dbt had built it for ``analysis_at``.

        `xp analyze` stamps its results with the mart's time and refuses another (run.py):
        tests of what it writes under a date use this instead of a dbt build per date.
        """
        connection = duckdb.connect(str(self.path))
        try:
            connection.execute(
                "update fct_variant_metric_statistics set analysis_at = cast(? as timestamp)",
                [analysis_at.replace("T", " ")],
            )
        finally:
            connection.close()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run the pipeline on the demo data once, into a DuckDB file of its own.

    As `xp backfill`, so that the results over time hold every day (an `xp run` on a new
    warehouse holds its own day only).
    """
    from analysis_py.cli import main

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    previous = os.environ.get("XP_DUCKDB_PATH")
    os.environ["XP_DUCKDB_PATH"] = str(path)
    try:
        assert (
            main(
                [
                    "backfill",
                    "--project-dir",
                    str(REPO),
                    "--analysis-at",
                    DEMO_ANALYSIS_AT.isoformat(),
                ]
            )
            == 0
        )
    finally:
        if previous is None:
            del os.environ["XP_DUCKDB_PATH"]
        else:
            os.environ["XP_DUCKDB_PATH"] = previous
    return DemoRun(path=path, config=load_config(DEMO_CONFIG))
