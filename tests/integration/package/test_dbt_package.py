"""This repository as a dbt package inside a host project, and the nightly Dagster example."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from analysis_py.cli import main
from analysis_py.config import load_config
from tests.conftest import DEMO_CONFIG, REPO, SEEDS, DemoRun, n_comparisons
from tests.tables import TABLE_KEYS, assert_tables_agree

HOST_SCHEMA = "analytics"
OUR_SCHEMA = "analytics_experiments"  # dbt's default generate_schema_name: target_custom


def make_host_project(root: Path) -> Path:
    """A host dbt project with a model and raw tables of its own, and this package.

    This repository is a local package of it, configured only through vars.
    """
    host = root / "host"
    (host / "models").mkdir(parents=True)
    (host / "dbt_project.yml").write_text(
        textwrap.dedent("""\
        name: host_analytics
        version: "1.0.0"
        config-version: 2
        profile: host_analytics
        vars:
          experiment_analysis:
            xp_source_schema: raw
            xp_assignments_table: exposures
            xp_events_table: product_events
            xp_demo_data: false
        models:
          experiment_analysis:
            +schema: experiments
        """)
    )
    (host / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    (host / "profiles.yml").write_text(
        textwrap.dedent(f"""\
        host_analytics:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{host / "warehouse.duckdb"}"
              schema: {HOST_SCHEMA}
              threads: 2
        """)
    )
    (host / "models" / "_sources.yml").write_text(
        textwrap.dedent("""\
        version: 2
        sources:
          - name: raw
            schema: raw
            tables: [{name: product_events}, {name: tickets}]
        """)
    )
    (host / "models" / "daily_purchases.sql").write_text(
        textwrap.dedent("""\
        select cast(event_at as date) as day, count(*) as n_purchases
        from {{ source('raw', 'product_events') }}
        where event_name = 'purchase'
        group by cast(event_at as date)
        """)
    )
    # The demo config, with its second event source declared by the host (raw.tickets).
    (host / "experiments.yml").write_text(
        DEMO_CONFIG.read_text().replace(
            "dbt_source: {source: experimentation, table: support_tickets}",
            "dbt_source: {source: raw, table: tickets}",
        )
    )

    connection = duckdb.connect(str(host / "warehouse.duckdb"))
    connection.execute("create schema raw")
    connection.execute(
        "create table raw.exposures as select * from read_csv(?)",
        [str(SEEDS / "demo_assignments.csv")],
    )
    connection.execute(
        "create table raw.product_events as select * from read_csv(?)",
        [str(SEEDS / "demo_events.csv")],
    )
    connection.execute(
        "create table raw.tickets as select * from read_csv(?)",
        [str(SEEDS / "demo_support_tickets.csv")],
    )
    connection.close()

    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["deps", "--project-dir", str(host), "--profiles-dir", str(host)])
    assert result.success, result.exception
    return host


@pytest.fixture(scope="module")
def host_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_host_project(tmp_path_factory.mktemp("package"))


def query(host: Path, sql: str):
    connection = duckdb.connect(str(host / "warehouse.duckdb"))
    try:
        return connection.execute(sql).df()
    finally:
        connection.close()


def test_host_build_and_analysis_as_a_package(host_project: Path, demo_run: DemoRun) -> None:
    # A backfill, as the demo's reference run: its results over time hold every day.
    assert main(["backfill", "--project-dir", str(host_project)]) == 0

    # The host's own model, in the host's schema.
    purchases = query(
        host_project, f"select sum(n_purchases) as n from {HOST_SCHEMA}.daily_purchases"
    )
    raw = query(
        host_project, "select count(*) as n from raw.product_events where event_name = 'purchase'"
    )
    assert purchases.n[0] == raw.n[0] > 0

    # Our models and result tables, in the schema the host chose; no demo seeds loaded.
    tables = set(
        query(
            host_project,
            "select table_schema || '.' || table_name as t from information_schema.tables",
        ).t
    )
    assert {
        f"{OUR_SCHEMA}.fct_variant_metric_statistics",
        f"{OUR_SCHEMA}.experiment_results",
        f"{OUR_SCHEMA}.experiment_diagnostics",
    } <= tables
    assert not any(t.endswith(("demo_events", "demo_assignments")) for t in tables)

    # Same inputs and definitions as the demo: the same numbers (the config's and the
    # tickets metric's hashes differ, as the host's config names its own source for them).
    for table, keys in TABLE_KEYS.items():
        assert_tables_agree(
            demo_run.query(f"select * from {table}"),
            query(host_project, f"select * from {OUR_SCHEMA}.{table}"),
            keys,
            table,
            ignore=frozenset({"config_hash", "definition_hash"}),
        )


def test_host_dbt_runs_without_the_config_skip_our_models(host_project: Path) -> None:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        ["build", "--project-dir", str(host_project), "--profiles-dir", str(host_project)]
    )
    assert result.success
    built = {r.node.name for r in result.result}
    assert "daily_purchases" in built
    assert not any(name.startswith(("stg_", "int_", "fct_")) for name in built)


@pytest.mark.slow
def test_dagster_nightly_example_materialises_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("dagster_dbt")
    import dagster as dg

    host = make_host_project(tmp_path)
    monkeypatch.setenv("XP_DBT_PROJECT_DIR", str(host))
    spec = importlib.util.spec_from_file_location(
        "dagster_nightly", REPO / "examples" / "dagster_nightly.py"
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "dagster_nightly", module)
    spec.loader.exec_module(module)

    result = dg.materialize(
        [module.dbt_models, module.experiment_results], resources=module.defs.resources
    )
    assert result.success
    metadata = result.asset_materializations_for_node("experiment_results")[0].metadata
    assert metadata["comparisons"].value == n_comparisons(load_config(DEMO_CONFIG)) == 24
    assert metadata["sample_ratio_mismatches"].value == 0
    results = query(host, f"select count(*) as n from {OUR_SCHEMA}.experiment_results")
    assert results.n[0] == 24
    assert module.nightly.cron_schedule == "0 4 * * *"
