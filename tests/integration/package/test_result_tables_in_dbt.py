"""The result tables as dbt knows them: declared in models/results/, tested, and ref-able.

The analysis step writes the tables; dbt declares them with a no-op materialization
(docs/decisions/0012), so that a host project sees them in its docs and lineage, refs them
in its own models, and tests their keys and freshness.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from analysis_py.cli import main
from analysis_py.config import load_config
from analysis_py.result_tables import TABLE_KEYS, TABLES, column_names, dbt_files
from tests.conftest import DEMO_CONFIG, REPO, DemoRun, n_comparisons
from tests.integration.package.test_dbt_package import OUR_SCHEMA, make_host_project, query

RESULTS_DIR = REPO / "models" / "results"


def test_dbt_declarations_are_generated_from_the_contract() -> None:
    expected = dbt_files()
    committed = {path.name: path.read_text(encoding="utf-8") for path in RESULTS_DIR.iterdir()}
    assert committed == expected, (
        "models/results/ differs from analysis_py/result_tables.py: run "
        "`python -m analysis_py.result_tables --dbt models/results`"
    )


def _dbt_build_results(path: Path, monkeypatch: pytest.MonkeyPatch):
    """`dbt build` of the result tables' declarations and tests on a copy of a warehouse."""
    from dbt.cli.main import dbtRunner

    monkeypatch.setenv("XP_DUCKDB_PATH", str(path))
    variables = json.dumps(load_config(DEMO_CONFIG).to_dbt_vars())
    return dbtRunner().invoke(
        [
            "build",
            "--select",
            "tag:xp_results",
            "--project-dir",
            str(REPO),
            "--profiles-dir",
            str(REPO),
            "--target-path",
            str(path.parent / "target"),
            "--vars",
            variables,
        ]
    )


def _statuses(result) -> dict[str, str]:
    return {r.node.name: str(r.status) for r in result.result}


def test_result_tests_pass_on_the_demo_and_warn_when_stale(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "copy.duckdb"
    shutil.copy(demo_run.path, path)
    result = _dbt_build_results(path, monkeypatch)
    assert result.success, result.exception
    statuses = _statuses(result)
    keys = {name: s for name, s in statuses.items() if name.startswith("xp_result_key")}
    assert len(keys) == len(TABLES) and set(keys.values()) == {"pass"}
    # The demo's analysis ran on 2026-04-10, long before today: the freshness rule warns.
    (fresh,) = (s for name, s in statuses.items() if name.startswith("xp_result_is_recent"))
    assert fresh == "warn"

    connection = duckdb.connect(str(path))
    connection.execute("update experiment_diagnostics set analysis_at = current_timestamp")
    connection.execute(
        "insert into experiment_scorecard select * from experiment_scorecard limit 1"
    )
    connection.close()
    result = _dbt_build_results(path, monkeypatch)
    assert not result.success
    statuses = _statuses(result)
    failed = [name for name, s in statuses.items() if s == "fail"]
    assert len(failed) == 1 and failed[0].startswith(
        "xp_result_key_is_unique_experiment_scorecard_"
    )
    assert [s for n, s in statuses.items() if n.startswith("xp_result_is_recent")] == ["pass"]


def test_result_tests_pass_before_the_first_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _dbt_build_results(tmp_path / "empty.duckdb", monkeypatch)
    assert result.success, result.exception
    assert set(_statuses(result).values()) <= {"pass", "success"}


@pytest.fixture(scope="module")
def host_with_a_results_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    host = make_host_project(tmp_path_factory.mktemp("host_results"))
    (host / "models" / "winning_comparisons.sql").write_text(
        "select experiment_id, metric_id, treatment_variant_id, decision_relative_effect\n"
        "from {{ ref('experiment_analysis', 'experiment_scorecard') }}\n"
        "where verdict = 'better'\n"
    )
    return host


def test_a_host_model_refs_the_scorecard(host_with_a_results_model: Path) -> None:
    from dbt.cli.main import dbtRunner

    host = host_with_a_results_model
    assert main(["run", "--project-dir", str(host)]) == 0
    result = dbtRunner().invoke(
        [
            "build",
            "--select",
            "winning_comparisons",
            "--project-dir",
            str(host),
            "--profiles-dir",
            str(host),
        ]
    )
    assert result.success, result.exception
    winners = query(host, "select * from analytics.winning_comparisons")
    scorecard = query(host, f"select * from {OUR_SCHEMA}.experiment_scorecard")
    assert len(scorecard) == n_comparisons(load_config(host / "experiments.yml"))
    assert len(winners) == (scorecard.verdict == "better").sum()

    # dbt's docs: every result table with its described columns, in the host's lineage.
    manifest = json.loads((host / "target" / "manifest.json").read_text())
    for table in TABLES:
        node = manifest["nodes"][f"model.experiment_analysis.{table}"]
        assert node["schema"] == OUR_SCHEMA
        assert list(node["columns"]) == column_names(table)
        assert all(column["description"] for column in node["columns"].values())
    model = manifest["nodes"]["model.host_analytics.winning_comparisons"]
    assert model["depends_on"]["nodes"] == ["model.experiment_analysis.experiment_scorecard"]
    tests = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and n["name"].startswith("xp_result_key_is_unique")
    ]
    assert {t["attached_node"].rsplit(".", 1)[1] for t in tests} == set(TABLE_KEYS)
