"""The experiment config: the demo file is valid; every mistake is named precisely."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from analysis_py.config import ConfigError, load_config, parse_config
from tests.conftest import DEMO_CONFIG

VALID = {
    "metrics": [
        {"id": "revenue", "event_name": "purchase", "aggregation": "sum",
         "window": {"start_day": 0, "end_day": 14}},
    ],
    "experiments": [
        {"id": "exp_a", "variants": ["control", "treatment"], "control": "control",
         "traffic": {"control": 0.5, "treatment": 0.5}, "metrics": ["revenue"],
         "lookback_days": 14},
    ],
}


def test_demo_config_is_valid() -> None:
    config = load_config(DEMO_CONFIG)
    assert [e.id for e in config.experiments] == ["checkout_redesign", "onboarding_flow"]
    assert config.experiment("onboarding_flow").treatments == ("short_form", "guided_tour")
    assert config.metrics["sessions_week_2"].window.start_seconds == 7 * 86400


def test_dbt_vars_carry_definitions_and_a_stable_hash() -> None:
    config = parse_config(copy.deepcopy(VALID), "a.yml")
    dbt_vars = config.to_dbt_vars()["xp_config"]
    assert dbt_vars["experiments"][0]["variants"][0] == {
        "id": "control", "is_control": True, "expected_share": 0.5}
    assert dbt_vars["metrics"][0]["window_end_seconds"] == 14 * 86400
    assert parse_config(copy.deepcopy(VALID), "b.yml").hash == config.hash
    changed = copy.deepcopy(VALID)
    changed["metrics"][0]["window"]["end_day"] = 7
    assert parse_config(changed, "a.yml").hash != config.hash


def _mutate(path: str, value: object) -> dict:
    """A copy of VALID with the value at a dotted path replaced (or deleted for None)."""
    document = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node: object = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
    if value is None:
        del node[last]  # type: ignore[attr-defined]
    else:
        node[last] = value  # type: ignore[index]
    return document


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("experiments.0.metrics", ["revenue", "orders"],
         "experiments[0] (id 'exp_a'): key 'metrics': unknown metric 'orders'"),
        ("experiments.0.control", "ctrl",
         "experiments[0] (id 'exp_a'): key 'control': 'ctrl' is not among the variants"),
        ("experiments.0.traffic", {"control": 0.5, "treatment": 0.6},
         "experiments[0] (id 'exp_a'): key 'traffic': weights sum to 1.1, not 1"),
        ("experiments.0.traffic", {"control": 1.0},
         "experiments[0] (id 'exp_a'): key 'traffic': must give a weight for each variant"),
        ("experiments.0.traffic", {"control": 1.0, "treatment": 0},
         "experiments[0] (id 'exp_a'): key 'traffic.treatment': must be a number > 0"),
        ("metrics.0.aggregation", "median",
         "metrics[0] (id 'revenue'): key 'aggregation': unknown aggregation 'median'"),
        ("metrics.0.window", {"start_day": 14, "end_day": 7},
         "metrics[0] (id 'revenue'): key 'window': end_day (7) must be greater than start_day"),
        ("metrics.0.window", {"start_day": -1, "end_day": 7},
         "metrics[0] (id 'revenue'): key 'window.start_day': must be a whole number >= 0"),
        ("metrics.0.window", {"start_day": 0, "end": 7},
         "metrics[0] (id 'revenue'): key 'window': missing key 'end_day'"),
        ("metrics.0.window", {"start_day": 0, "end_day": "14"},
         "metrics[0] (id 'revenue'): key 'window.end_day': must be a whole number >= 1"),
        ("experiments.0.lookback_days", True,
         "experiments[0] (id 'exp_a'): key 'lookback_days': must be a whole number >= 1"),
        ("experiments.0.lookback", 14,
         "experiments[0] (id 'exp_a'): unknown key 'lookback'"),
        ("experiments.0.variants", ["control"],
         "experiments[0] (id 'exp_a'): key 'variants': an experiment needs at least 2"),
        ("experiments.0.confidence_level", 95,
         "experiments[0] (id 'exp_a'): key 'confidence_level': must be a number between 0"),
        ("metrics.0.event_name", "x'; drop table events; --",
         "metrics[0] (id 'revenue'): key 'event_name': \"x'; drop table events; --\" is not a "
         "valid name"),
        ("experiments.0.id", "a\\' or 1=1",
         "experiments[0] (id \"a\\\\' or 1=1\"): key 'id': \"a\\\\' or 1=1\" is not a valid name"),
        ("metrics.0.id", "Revenue Total",
         "metrics[0] (id 'Revenue Total'): key 'id': 'Revenue Total' is not a valid name"),
        ("experiments.0.metrics", ["revenue", "revenue"],
         "experiments[0] (id 'exp_a'): key 'metrics': duplicate metric"),
        ("metrics.0.aggregation", "threshold",
         "metrics[0] (id 'revenue'): key 'threshold': aggregation 'threshold' needs"),
        ("metrics.0.threshold", {"of": "count", "at_least": 2},
         "metrics[0] (id 'revenue'): key 'threshold': only for aggregation 'threshold'"),
        ("metrics.0.window", {"start_hours": 0, "end_day": 7},
         "metrics[0] (id 'revenue'): key 'window': missing key 'end_hours'"),
        ("metrics.0.window", {"start_hours": 6, "end_hours": 6},
         "metrics[0] (id 'revenue'): key 'window': end_hours (6) must be greater than "
         "start_hours (6)"),
        ("metrics.0.filters", [{"column": "country", "op": "like", "value": "U%"}],
         "metrics[0] (id 'revenue'): key 'filters[0].op': must be one of"),
        ("metrics.0.filters", [{"column": "country", "op": "=", "value": "x' or '1'='1"}],
         "metrics[0] (id 'revenue'): key 'filters[0].value': \"x' or '1'='1\" is neither"),
        ("metrics.0.filters", [{"column": "Country; drop", "op": "=", "value": "US"}],
         "metrics[0] (id 'revenue'): key 'filters[0]': 'Country; drop' is not a valid name"),
        ("metrics.0.filters", [{"column": "country", "op": "in", "value": "US"}],
         "metrics[0] (id 'revenue'): key 'filters[0].value': 'in' needs a non-empty list"),
        ("metrics.0.display_name", 3,
         "metrics[0] (id 'revenue'): key 'display_name': must be text"),
        ("metrics.0.winsorize", {"upper": 99},
         "metrics[0] (id 'revenue'): key 'winsorize.upper': must be a fraction between 0 and 1"),
        ("metrics.0.winsorize", {"upper": 0.9, "lower": 0.95},
         "metrics[0] (id 'revenue'): key 'winsorize': lower (0.95) must be below upper (0.9)"),
        ("metrics.0.winsorize", {"top": 0.99},
         "metrics[0] (id 'revenue'): key 'winsorize': missing key 'upper'"),
        ("metrics.0.matured_subjects_only", "yes",
         "metrics[0] (id 'revenue'): key 'matured_subjects_only': must be true or false"),
        ("metrics.0.aggregation", "retention",  # with matured_subjects_only: false below
         None),
        ("metrics.0.numerator", "revenue",
         "metrics[0] (id 'revenue'): unknown key 'numerator'"),
    ],
)
def test_errors_name_file_entry_and_key(path: str, value: object, expected: str | None) -> None:
    document = _mutate(path, value)
    if expected is None:  # a valid change: the metric is accepted as it is
        parse_config(document, "conf/experiments.yml")
        return
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "conf/experiments.yml")
    assert str(raised.value).startswith("conf/experiments.yml: " + expected), str(raised.value)


RATIO = {"id": "revenue_per_order", "aggregation": "ratio", "numerator": "revenue",
         "denominator": "orders"}
ORDERS = {"id": "orders", "event_name": "purchase", "aggregation": "count",
          "window": {"start_day": 0, "end_day": 14}}


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ([{**RATIO, "denominator": "visits"}],
         "metrics[1] (id 'revenue_per_order'): key 'denominator': unknown metric 'visits'"),
        ([{**RATIO, "denominator": "revenue"}],
         "metrics[1] (id 'revenue_per_order'): key 'denominator': the same metric as the "
         "numerator"),
        ([ORDERS, RATIO, {**RATIO, "id": "nested", "numerator": "revenue_per_order"}],
         "metrics[3] (id 'nested'): key 'numerator': 'revenue_per_order' is itself a ratio"),
        ([{k: v for k, v in RATIO.items() if k != "denominator"}],
         "metrics[1] (id 'revenue_per_order'): missing key 'denominator'"),
        ([ORDERS, {**RATIO, "window": {"start_day": 0, "end_day": 7}}],
         "metrics[2] (id 'revenue_per_order'): unknown key 'window'"),
        ([{**ORDERS, "aggregation": "retention", "matured_subjects_only": False}],
         "metrics[1] (id 'orders'): key 'matured_subjects_only': retention counts only"),
    ],
)
def test_ratio_and_retention_errors(metrics: list[dict], expected: str) -> None:
    document = copy.deepcopy(VALID)
    document["metrics"].extend(copy.deepcopy(metrics))
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "x.yml")
    assert str(raised.value).startswith("x.yml: " + expected), str(raised.value)


TICKETS = {"id": "tickets", "dbt_source": {"source": "crm", "table": "tickets"},
           "subject_id_column": "user_id", "timestamp_column": "opened_at"}


@pytest.mark.parametrize(
    ("sources", "metric", "expected"),
    [
        ([TICKETS], {"source": "tickts"},
         "metrics[0] (id 'revenue'): key 'source': unknown event source 'tickts'"),
        ([TICKETS], {"source": "tickets"},
         "metrics[0] (id 'revenue'): key 'event_name': event source 'tickets' has no "
         "event_name_column"),
        ([TICKETS], {"source": "tickets", "event_name": None, "aggregation": "sum"},
         "metrics[0] (id 'revenue'): key 'aggregation': event source 'tickets' has no "
         "value_column to sum"),
        ([{**TICKETS, "event_name_column": "kind"}], {"source": "tickets", "event_name": None},
         "metrics[0] (id 'revenue'): missing key 'event_name'"),
        ([{**TICKETS, "timestamp_column": "opened at; drop"}], {},
         "event_sources[0] (id 'tickets'): key 'timestamp_column': 'opened at; drop' is not "
         "a valid name"),
        ([{**TICKETS, "dbt_source": {"source": "crm"}}], {},
         "event_sources[0] (id 'tickets'): key 'dbt_source': missing key 'table'"),
        ([{**TICKETS, "id": "events"}], {},
         "event_sources[0] (id 'events'): key 'id': 'events' is already an event source"),
    ],
)
def test_event_source_errors(sources: list[dict], metric: dict, expected: str) -> None:
    document = copy.deepcopy(VALID)
    document["event_sources"] = copy.deepcopy(sources)
    document["metrics"][0].update(metric)
    document["metrics"][0] = {k: v for k, v in document["metrics"][0].items() if v is not None}
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "x.yml")
    assert str(raised.value).startswith("x.yml: " + expected), str(raised.value)


def test_an_experiment_computes_its_ratios_components() -> None:
    document = copy.deepcopy(VALID)
    document["metrics"] += [ORDERS, RATIO]
    document["experiments"][0]["metrics"] = ["revenue_per_order"]
    config = parse_config(document, "x.yml")
    assert config.computed_metrics(config.experiments[0]) == (
        "revenue_per_order", "revenue", "orders")
    assert config.to_dbt_vars()["xp_config"]["experiments"][0]["metrics"] == [
        "revenue_per_order", "revenue", "orders"]


def test_duplicate_ids_are_rejected() -> None:
    document = copy.deepcopy(VALID)
    document["experiments"].append(copy.deepcopy(document["experiments"][0]))
    with pytest.raises(ConfigError, match=r"experiments\[1\] \(id 'exp_a'\): key 'id': "
                                          r"duplicate experiment id 'exp_a'"):
        parse_config(document, "x.yml")


def test_missing_file_and_bad_yaml_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yml: cannot read the experiment config"):
        load_config(tmp_path / "nope.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("metrics: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yml: not valid YAML"):
        load_config(broken)
    empty = tmp_path / "empty.yml"
    empty.write_text(yaml.safe_dump({"metrics": []}))
    with pytest.raises(ConfigError, match=r"empty\.yml: missing key 'experiments'"):
        load_config(empty)
