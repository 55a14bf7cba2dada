"""The dbt conventions we follow, read from the manifest.

These are dbt Labs' structure and style guides and dbt-project-evaluator's rules: every
model states its grain, documents its columns, has a primary-key test, and reads only
earlier layers. A model that breaks a rule on purpose is listed below with the reason; a
new break fails the test.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from analysis_py.config import load_config
from analysis_py.marts import MART, MART_COLUMNS, RATIO_SUM_COLUMNS, SUM_COLUMNS
from analysis_py.planning import plan_dbt_vars, plan_window
from analysis_py.result_tables import PLAN_MART, column_names
from tests.conftest import DEMO_CONFIG, parse_manifest

#: The model folders, in the order data flows through them (results: the tables the
#: analysis step writes, declared to dbt).
LAYERS = {"staging": 0, "intermediate": 1, "marts": 2, "results": 3}
UNIQUENESS_TESTS = {"unique", "unique_combination_of_columns", "xp_result_key_is_unique"}

#: Models without a uniqueness test in the build, and why.
NO_PRIMARY_KEY_TEST = {
    "stg_experimentation__assignments": "an exposure log: any number of rows per subject",
    "stg_experimentation__events": "an event log: identical events may repeat",
    "int_metric_events_joined_to_exposures": "one row per event and exposure: no natural key",
    "int_subject_metric_recent_days": "the nights' day rows; its grain is checked by "
    "tests/integration/dbt/test_incremental.py against full refreshes, not in every build",
    "int_subject_metric_values": "tested by tests/integration/dbt/test_statistics_mart.py, "
    "not in every build (its description says so)",
    "int_counted_subject_metric_values": "a view over int_subject_metric_values, same key",
    "int_weighted_subject_metrics": "a view whose weighted rows have no key of their own",
    "fct_subject_metrics": "a view over the subject values; its sums are tested against "
    "pandas in tests/integration/dbt/test_statistics_mart.py",
}
#: Models that read a later layer, and why.
READS_A_LATER_LAYER = {
    "int_weighted_subject_metrics": "folds fct_subject_metrics for the statistics marts; "
    "the performance issue's restructure of the subject models is to move it",
}


#: The models only `xp plan` builds (enabled by the var xp_plan).
PLAN_MODELS = {"int_plan_pseudo_exposures", PLAN_MART}


def plan_vars() -> dict:
    """`xp plan`'s vars for every demo experiment: the config's, and xp_plan."""
    config = load_config(DEMO_CONFIG)
    windows = {e.id: plan_window(config, e, datetime(2026, 4, 10)) for e in config.experiments}
    return plan_dbt_vars(config, windows)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every model of ours, parsed with `xp plan`'s vars, which enable all of them.

    The plan's vars hold the config's, so `xp run`'s models are enabled too.
    """
    manifest = parse_manifest(tmp_path_factory.mktemp("manifest"), plan_vars())
    nodes = manifest["nodes"]
    ours = {
        node_id: node
        for node_id, node in nodes.items()
        if node["resource_type"] == "model" and node["package_name"] == "experiment_analysis"
    }
    for node in ours.values():
        node["_tests"] = set()
    for node in nodes.values():
        if node["resource_type"] == "test":
            name = (node.get("test_metadata") or {}).get("name", node["name"])
            for parent in node["depends_on"]["nodes"]:
                if parent in ours:
                    ours[parent]["_tests"].add(name)
    return ours


def test_the_plan_models_are_checked(models: dict[str, dict]) -> None:
    names = {m["name"] for m in models.values()}
    assert PLAN_MODELS <= names, PLAN_MODELS - names
    assert {MART, "experiment_plan"} <= names


def test_every_model_states_its_grain_first(models: dict[str, dict]) -> None:
    missing = [
        m["name"]
        for m in models.values()
        if not " ".join(m["description"].split()).startswith("One row per")
    ]
    assert not missing, f"descriptions that do not start with the grain: {missing}"


def test_every_model_documents_its_columns(models: dict[str, dict]) -> None:
    undocumented = [m["name"] for m in models.values() if not m["columns"]]
    blank = [
        f"{m['name']}.{c}"
        for m in models.values()
        for c, column in m["columns"].items()
        if not column.get("description")
    ]
    assert not undocumented and not blank, (undocumented, blank)


def test_every_model_has_a_primary_key_test_or_a_reason(models: dict[str, dict]) -> None:
    untested = sorted(
        m["name"]
        for m in models.values()
        if not m["_tests"] & UNIQUENESS_TESTS and m["name"] not in NO_PRIMARY_KEY_TEST
    )
    assert not untested, f"models without a uniqueness test: {untested}"
    stale = sorted(
        name
        for name in NO_PRIMARY_KEY_TEST
        if name not in {m["name"] for m in models.values()}
        or {m["name"]: m for m in models.values()}[name]["_tests"] & UNIQUENESS_TESTS
    )
    assert not stale, f"exemptions no longer needed: {stale}"


def test_models_read_only_earlier_layers(models: dict[str, dict]) -> None:
    def layer(node: dict) -> int:
        return LAYERS[node["fqn"][1]]

    backwards = sorted(
        f"{m['name']} reads {models[parent]['name']}"
        for m in models.values()
        for parent in m["depends_on"]["nodes"]
        if parent in models
        and layer(models[parent]) > layer(m)
        and m["name"] not in READS_A_LATER_LAYER
    )
    assert not backwards, backwards
    staging_reads = sorted(
        f"{m['name']} reads {parent}"
        for m in models.values()
        if layer(m) == 0
        for parent in m["depends_on"]["nodes"]
        if parent in models
    )
    assert not staging_reads, "staging models read only sources and seeds: " + str(staging_reads)


def test_the_sum_columns_are_one_fact(models: dict[str, dict]) -> None:
    """analysis_py/marts.py names the sums; the contracted mart and result tables carry them."""
    mart = next(m for m in models.values() if m["name"] == MART)
    assert mart["contract"]["enforced"]
    assert set(MART_COLUMNS) <= set(mart["columns"])
    sums = [c for c in mart["columns"] if c == "n" or c.startswith("sum_")]
    assert sums == [*SUM_COLUMNS, *RATIO_SUM_COLUMNS]
    for arm in ("control", "treatment"):
        stored = [
            c[len(arm) + 1 :]
            for c in column_names("experiment_results")
            if c.startswith(f"{arm}_") and (c == f"{arm}_n" or "_sum_" in c)
        ]
        assert stored == list(SUM_COLUMNS)
