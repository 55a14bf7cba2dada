"""The experiment config: the demo file is valid; every mistake is named precisely."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from analysis_py.config import (
    AnalysisSettings,
    ConfigError,
    EventSource,
    Experiment,
    ExperimentConfig,
    Metric,
    load_config,
    parse_config,
    parsing,
)
from analysis_py.config.schema import (
    Convert,
    Entry,
    Key,
    Location,
    Rule,
    Table,
    boolean,
    number,
    one_of,
    optional,
    text,
    walk,
    whole_number,
)
from analysis_py.config.types import Filter, Threshold, Winsorize
from tests.conftest import DEMO_CONFIG

VALID = {
    "metrics": [
        {
            "id": "revenue",
            "event_name": "purchase",
            "aggregation": "sum",
            "window": {"start_day": 0, "end_day": 14},
        },
    ],
    "experiments": [
        {
            "id": "exp_a",
            "variants": ["control", "treatment"],
            "control": "control",
            "traffic": {"control": 0.5, "treatment": 0.5},
            "metrics": ["revenue"],
            "lookback_days": 14,
        },
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
        "id": "control",
        "is_control": True,
        "expected_share": 0.5,
    }
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
        (
            "experiments.0.metrics",
            ["revenue", "orders"],
            "experiments[0] (id 'exp_a'): key 'metrics': unknown metric 'orders' (defined: ",
        ),
        (
            "experiments.0.metrics",
            ["revenu"],
            "experiments[0] (id 'exp_a'): key 'metrics': unknown metric 'revenu'; "
            "did you mean 'revenue'? (defined: ",
        ),
        (
            "experiments.0.control",
            "ctrl",
            "experiments[0] (id 'exp_a'): key 'control': 'ctrl' is not among the variants",
        ),
        (
            "experiments.0.traffic",
            {"control": 0.5, "treatment": 0.6},
            "experiments[0] (id 'exp_a'): key 'traffic': weights sum to 1.1, not 1",
        ),
        (
            "experiments.0.traffic",
            {"control": 1.0},
            "experiments[0] (id 'exp_a'): key 'traffic': must give a weight for each variant",
        ),
        (
            "experiments.0.traffic",
            {"control": 1.0, "treatment": 0},
            "experiments[0] (id 'exp_a'): key 'traffic.treatment': must be a number > 0",
        ),
        (
            "metrics.0.aggregation",
            "median",
            "metrics[0] (id 'revenue'): key 'aggregation': unknown aggregation 'median'",
        ),
        (
            "metrics.0.window",
            {"start_day": 14, "end_day": 7},
            "metrics[0] (id 'revenue'): key 'window': end_day (7) must be greater than start_day",
        ),
        (
            "metrics.0.window",
            {"start_day": -1, "end_day": 7},
            "metrics[0] (id 'revenue'): key 'window.start_day': must be a whole number >= 0",
        ),
        (
            "metrics.0.window",
            {"start_day": 0, "end": 7},
            "metrics[0] (id 'revenue'): key 'window': missing key 'end_day'",
        ),
        (
            "metrics.0.window",
            {"start_day": 0, "end_day": "14"},
            "metrics[0] (id 'revenue'): key 'window.end_day': must be a whole number >= 1",
        ),
        (
            "experiments.0.lookback_days",
            True,
            "experiments[0] (id 'exp_a'): key 'lookback_days': must be a whole number >= 1",
        ),
        ("experiments.0.lookback", 14, "experiments[0] (id 'exp_a'): unknown key 'lookback'"),
        (
            "experiments.0.variants",
            ["control"],
            "experiments[0] (id 'exp_a'): key 'variants': an experiment needs at least 2",
        ),
        (
            "experiments.0.confidence_level",
            95,
            "experiments[0] (id 'exp_a'): key 'confidence_level': must be a number between 0",
        ),
        (
            "metrics.0.event_name",
            "x'; drop table events; --",
            "metrics[0] (id 'revenue'): key 'event_name': \"x'; drop table events; --\" is not a "
            "valid name",
        ),
        (
            "experiments.0.id",
            "a\\' or 1=1",
            'experiments[0] (id "a\\\\\' or 1=1"): '
            "key 'id': \"a\\\\' or 1=1\" is not a valid name",
        ),
        (
            "metrics.0.id",
            "Revenue Total",
            "metrics[0] (id 'Revenue Total'): key 'id': 'Revenue Total' is not a valid name",
        ),
        (
            "experiments.0.metrics",
            ["revenue", "revenue"],
            "experiments[0] (id 'exp_a'): key 'metrics': duplicate metric",
        ),
        (
            "metrics.0.aggregation",
            "threshold",
            "metrics[0] (id 'revenue'): key 'threshold': aggregation 'threshold' needs",
        ),
        (
            "metrics.0.threshold",
            {"of": "count", "at_least": 2},
            "metrics[0] (id 'revenue'): key 'threshold': only for aggregation 'threshold'",
        ),
        (
            "metrics.0.window",
            {"start_hours": 0, "end_day": 7},
            "metrics[0] (id 'revenue'): key 'window': missing key 'end_hours'",
        ),
        (
            "metrics.0.window",
            {"start_hours": 6, "end_hours": 6},
            "metrics[0] (id 'revenue'): key 'window': end_hours (6) must be greater than "
            "start_hours (6)",
        ),
        (
            "metrics.0.filters",
            [{"column": "country", "op": "like", "value": "U%"}],
            "metrics[0] (id 'revenue'): key 'filters[0].op': must be one of",
        ),
        (
            "metrics.0.filters",
            [{"column": "country", "op": "=", "value": "x' or '1'='1"}],
            "metrics[0] (id 'revenue'): key 'filters[0].value': \"x' or '1'='1\" is neither",
        ),
        (
            "metrics.0.filters",
            [{"column": "Country; drop", "op": "=", "value": "US"}],
            "metrics[0] (id 'revenue'): key 'filters[0]': 'Country; drop' is not a valid name",
        ),
        (
            "metrics.0.filters",
            [{"column": "country", "op": "in", "value": "US"}],
            "metrics[0] (id 'revenue'): key 'filters[0].value': 'in' needs a non-empty list",
        ),
        (
            "metrics.0.display_name",
            3,
            "metrics[0] (id 'revenue'): key 'display_name': must be text",
        ),
        (
            "metrics.0.winsorize",
            {"upper": 99},
            "metrics[0] (id 'revenue'): key 'winsorize.upper': must be a fraction between 0 and 1",
        ),
        (
            "metrics.0.winsorize",
            {"upper": 0.9, "lower": 0.95},
            "metrics[0] (id 'revenue'): key 'winsorize': lower (0.95) must be below upper (0.9)",
        ),
        (
            "metrics.0.winsorize",
            {"top": 0.99},
            "metrics[0] (id 'revenue'): key 'winsorize': missing key 'upper'",
        ),
        (
            "metrics.0.matured_subjects_only",
            "yes",
            "metrics[0] (id 'revenue'): key 'matured_subjects_only': must be true or false",
        ),
        (
            "metrics.0.aggregation",
            "retention",  # with matured_subjects_only: false below
            None,
        ),
        ("metrics.0.numerator", "revenue", "metrics[0] (id 'revenue'): unknown key 'numerator'"),
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


RATIO = {
    "id": "revenue_per_order",
    "aggregation": "ratio",
    "numerator": "revenue",
    "denominator": "orders",
}
ORDERS = {
    "id": "orders",
    "event_name": "purchase",
    "aggregation": "count",
    "window": {"start_day": 0, "end_day": 14},
}


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        (
            [{**RATIO, "denominator": "visits"}],
            "metrics[1] (id 'revenue_per_order'): key 'denominator': unknown metric 'visits'",
        ),
        (
            [{**RATIO, "denominator": "revenue"}],
            "metrics[1] (id 'revenue_per_order'): key 'denominator': the same metric as the "
            "numerator",
        ),
        (
            [ORDERS, RATIO, {**RATIO, "id": "nested", "numerator": "revenue_per_order"}],
            "metrics[3] (id 'nested'): key 'numerator': 'revenue_per_order' is itself a ratio",
        ),
        (
            [{k: v for k, v in RATIO.items() if k != "denominator"}],
            "metrics[1] (id 'revenue_per_order'): missing key 'denominator'",
        ),
        (
            [ORDERS, {**RATIO, "window": {"start_day": 0, "end_day": 7}}],
            "metrics[2] (id 'revenue_per_order'): unknown key 'window'",
        ),
        (
            [{**ORDERS, "aggregation": "retention", "matured_subjects_only": False}],
            "metrics[1] (id 'orders'): key 'matured_subjects_only': retention counts only",
        ),
    ],
)
def test_ratio_and_retention_errors(metrics: list[dict], expected: str) -> None:
    document = copy.deepcopy(VALID)
    document["metrics"].extend(copy.deepcopy(metrics))
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "x.yml")
    assert str(raised.value).startswith("x.yml: " + expected), str(raised.value)


TICKETS = {
    "id": "tickets",
    "dbt_source": {"source": "crm", "table": "tickets"},
    "subject_id_column": "user_id",
    "timestamp_column": "opened_at",
}


@pytest.mark.parametrize(
    ("sources", "metric", "expected"),
    [
        (
            [TICKETS],
            {"source": "tickts"},
            "metrics[0] (id 'revenue'): key 'source': unknown event source 'tickts'",
        ),
        (
            [TICKETS],
            {"source": "tickets"},
            "metrics[0] (id 'revenue'): key 'event_name': event source 'tickets' has no "
            "event_name_column",
        ),
        (
            [TICKETS],
            {"source": "tickets", "event_name": None, "aggregation": "sum"},
            "metrics[0] (id 'revenue'): key 'aggregation': event source 'tickets' has no "
            "value_column to sum",
        ),
        (
            [{**TICKETS, "event_name_column": "kind"}],
            {"source": "tickets", "event_name": None},
            "metrics[0] (id 'revenue'): missing key 'event_name'",
        ),
        (
            [{**TICKETS, "timestamp_column": "opened at; drop"}],
            {},
            "event_sources[0] (id 'tickets'): key 'timestamp_column': 'opened at; drop' is not "
            "a valid name",
        ),
        (
            [{**TICKETS, "dbt_source": {"source": "crm"}}],
            {},
            "event_sources[0] (id 'tickets'): key 'dbt_source': missing key 'table'",
        ),
        (
            [{**TICKETS, "id": "events"}],
            {},
            "event_sources[0] (id 'events'): key 'id': 'events' is already an event source",
        ),
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


@pytest.mark.parametrize("key", ["subject_id_column", "timestamp_column"])
def test_an_event_sources_required_columns_are_not_null(key: str) -> None:
    document = {**copy.deepcopy(VALID), "event_sources": [{**TICKETS, key: None}]}
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "x.yml")
    assert str(raised.value).startswith(
        f"x.yml: event_sources[0] (id 'tickets'): key '{key}': None is not a valid name"
    )


def test_an_experiment_computes_its_ratios_components() -> None:
    document = copy.deepcopy(VALID)
    document["metrics"] += [ORDERS, RATIO]
    document["experiments"][0]["metrics"] = ["revenue_per_order"]
    config = parse_config(document, "x.yml")
    assert config.computed_metrics(config.experiments[0]) == (
        "revenue_per_order",
        "revenue",
        "orders",
    )
    assert config.to_dbt_vars()["xp_config"]["experiments"][0]["metrics"] == [
        "revenue_per_order",
        "revenue",
        "orders",
    ]


def test_duplicate_ids_are_rejected() -> None:
    document = copy.deepcopy(VALID)
    document["experiments"].append(copy.deepcopy(document["experiments"][0]))
    with pytest.raises(
        ConfigError,
        match=r"experiments\[1\] \(id 'exp_a'\): key 'id': "
        r"duplicate experiment id 'exp_a'",
    ):
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


# Issue 18, "config that means one thing": each case below was accepted, or crashed with a
# traceback, before; now it is one line naming the file, the entry and the key.


def _load_text(tmp_path: Path, text: str | bytes) -> object:
    """load_config on a file holding ``text``; the ConfigError's message, else the config."""
    path = tmp_path / "experiments.yml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    try:
        return load_config(path)
    except ConfigError as error:
        message = str(error)
        assert "\n" not in message, message
        assert message.startswith(f"{path}: "), message
        return message.removeprefix(f"{path}: ")


def _line_of(text: str, needle: str, start: int = 0) -> int:
    return text.count("\n", 0, text.index(needle, start)) + 1


def test_a_key_given_twice_is_an_error_not_the_last_one_winning(tmp_path: Path) -> None:
    text = DEMO_CONFIG.read_text()
    arms = "    control: control\n    traffic: {control: 0.5, treatment: 0.5}\n"
    swapped = text.replace(arms, arms + "    control: treatment\n", 1)
    assert swapped != text
    first = _line_of(swapped, "    control: control\n")
    assert _load_text(tmp_path, swapped) == (
        f"experiments[0] (id 'checkout_redesign'): key 'control': given twice, at lines "
        f"{first} and {first + 2} (YAML would silently keep the last)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "metrics: []\nexperiments: []\nmetrics: []\n",
            "key 'metrics': given twice, at lines 1 and 3",
        ),
        (
            "experiments:\n  - id: e\n    analysis: {power: 0.8, power: 0.9}\n",
            "experiments[0] (id 'e'): key 'analysis.power': given twice, on line 3",
        ),
        (
            "metrics:\n  - id: m\n    filters:\n      - {column: c, op: '=', value: 1, value: 2}\n",
            "metrics[0] (id 'm'): key 'filters[0].value': given twice, on line 4",
        ),
        (
            "experiments:\n  - id: e\n    metrics:\n      primary: [a]\n      primary: [b]\n",
            "experiments[0] (id 'e'): key 'metrics.primary': given twice, at lines 4 and 5",
        ),
        (
            "experiments:\n  - id: e\n    traffic: {1: 0.5, 1.0: 0.5}\n",  # equal as YAML keys
            "experiments[0] (id 'e'): key 'traffic.1.0': given twice, on line 3",
        ),
    ],
)
def test_duplicate_keys_are_named_wherever_they_are(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert _load_text(tmp_path, text) == expected + " (YAML would silently keep the last)"


def test_keys_merged_from_an_anchor_may_be_overridden(tmp_path: Path) -> None:
    experiment = VALID["experiments"][0]
    text = yaml.safe_dump({"metrics": VALID["metrics"]}) + (
        "experiments:\n"
        f"  - &base {yaml.safe_dump(experiment, default_flow_style=True)}"
        "  - <<: *base\n    id: exp_b\n    lookback_days: 7\n"
    )
    config = _load_text(tmp_path, text)
    assert [(e.id, e.lookback_days) for e in config.experiments] == [  # type: ignore[attr-defined]
        ("exp_a", 14),
        ("exp_b", 7),
    ]


def test_the_demo_file_loads_as_plain_yaml_reads_it() -> None:
    """The strict loader changes no valid document, so no config hash changes either."""
    document = yaml.safe_load(DEMO_CONFIG.read_text())
    assert load_config(DEMO_CONFIG) == parse_config(document, str(DEMO_CONFIG))


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "metrics.0.filters",
            [{"column": "amount", "op": ">", "value": NAN}],
            "metrics[0] (id 'revenue'): key 'filters[0].value': nan is neither a finite number",
        ),
        (
            "metrics.0.filters",
            [{"column": "amount", "op": "in", "value": [1, INF]}],
            "metrics[0] (id 'revenue'): key 'filters[0].value': inf is neither a finite number",
        ),
        (
            "metrics.0.winsorize",
            {"upper": NAN},
            "metrics[0] (id 'revenue'): key 'winsorize.upper': must be a fraction between 0 and "
            "1 (exclusive), e.g. 0.99 for the 99th percentile, got nan (not a finite number)",
        ),
        (
            "metrics.0.window",
            {"start_day": 0, "end_day": INF},
            "metrics[0] (id 'revenue'): key 'window.end_day': must be a whole number >= 1, "
            "got inf (not a finite number)",
        ),
        (
            "experiments.0.traffic",
            {"control": INF, "treatment": 0.5},
            "experiments[0] (id 'exp_a'): key 'traffic.control': must be a number > 0, got inf",
        ),
        (
            "experiments.0.confidence_level",
            NAN,
            "experiments[0] (id 'exp_a'): key 'confidence_level': must be a number between 0 and "
            "1 (exclusive), got nan (not a finite number)",
        ),
        (
            "experiments.0.analysis",
            {"power": NAN},
            "experiments[0] (id 'exp_a'): key 'analysis.power': must be a number > 0 and < 1, "
            "got nan (not a finite number)",
        ),
        (
            "experiments.0.analysis",
            {"bayesian_prior_sd": NAN},
            "experiments[0] (id 'exp_a'): key 'analysis.bayesian_prior_sd': must be a number > 0,"
            " got nan",
        ),
        (
            "experiments.0.analysis",
            {"target_relative_effect": INF},
            "experiments[0] (id 'exp_a'): key 'analysis.target_relative_effect': must be a number"
            " > 0, got inf",
        ),
        (
            "experiments.0.analysis",
            {"sequential_tuning": NAN},
            "experiments[0] (id 'exp_a'): key 'analysis.sequential_tuning': must be a number > 0,"
            " got nan",
        ),
        (
            "experiments.0.analysis",
            {"noninferiority_margin": NAN},
            "experiments[0] (id 'exp_a'): key 'analysis.noninferiority_margin': must be a number "
            ">= 0, got nan",
        ),
    ],
)
def test_non_finite_numbers_are_rejected(
    tmp_path: Path, path: str, value: object, expected: str
) -> None:
    text = yaml.safe_dump(_mutate(path, value))
    assert ".nan" in text or ".inf" in text
    assert _load_text(tmp_path, text).startswith(expected)


def test_non_finite_at_least_is_rejected(tmp_path: Path) -> None:
    document = _mutate("metrics.0.aggregation", "threshold")
    document["metrics"][0]["threshold"] = {"of": "sum", "at_least": INF}
    assert _load_text(tmp_path, yaml.safe_dump(document)) == (
        "metrics[0] (id 'revenue'): key 'threshold.at_least': must be a number > 0, got inf "
        "(not a finite number)"
    )


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            "lookback_days: 14",
            "lookback_days: 14\n  analysis: {power: high}",
            "experiments[0] (id 'exp_a'): key 'analysis.power': must be a number > 0 and < 1, "
            "got 'high'",
        ),
        (
            "lookback_days: 14",
            "lookback_days: 14\n  analysis: {power: yes}",
            "experiments[0] (id 'exp_a'): key 'analysis.power': must be a number > 0 and < 1, "
            "got True (YAML reads yes, no, on, off, true, false as booleans)",
        ),
        (
            "lookback_days: 14",
            "lookback_days: 14\n  analysis: [power]",
            "experiments[0] (id 'exp_a'): key 'analysis': must be a mapping",
        ),
        (
            "lookback_days: 14",
            "lookback_days: 14\n  analysis: {1: 0.8}",
            "experiments[0] (id 'exp_a'): key 'analysis': unknown key 1 (allowed: ",
        ),
        (
            "lookback_days: 14",
            "lookback_days: 14\n  analysis: {power: 0.8, 1: 2, x: 3}",
            "experiments[0] (id 'exp_a'): key 'analysis': unknown key 1 (allowed: ",
        ),
        (
            "metrics:\n- aggregation",
            "event_sources: 5\nmetrics:\n- aggregation",
            "key 'event_sources': must be a list of event sources",
        ),
        (
            "  metrics:\n  - revenue",
            "  metrics:\n  - [revenue]",
            "experiments[0] (id 'exp_a'): key 'metrics': ['revenue'] is not a metric id",
        ),
        (
            "  metrics:\n  - revenue",
            "  metrics: {primary: [{revenue: 1}]}",
            "experiments[0] (id 'exp_a'): key 'metrics.primary': {'revenue': 1} is not a metric id",
        ),
        (
            "  metrics:\n  - revenue",
            "  metrics: {primary: {revenue: 1}}",
            "experiments[0] (id 'exp_a'): key 'metrics.primary': must be a list of metric ids",
        ),
        (
            "  metrics:\n  - revenue",
            "  metrics: {1: [revenue], primary: [revenue]}",
            "experiments[0] (id 'exp_a'): key 'metrics': unknown role 1",
        ),
        (
            "    control: 0.5\n    treatment: 0.5\n",
            "    - 0.5\n    - 0.5\n",
            "experiments[0] (id 'exp_a'): key 'traffic': must give a weight for each variant "
            "['control', 'treatment'] and nothing else, got [0.5, 0.5]",
        ),
        (
            "    control: 0.5\n",
            "    1: 0.5\n",
            "experiments[0] (id 'exp_a'): key 'traffic': must give a weight for each variant "
            "['control', 'treatment'] and nothing else, got [1, 'treatment']",
        ),
        (
            "  - control\n  - treatment\n",
            "    control: 1\n    treatment: 2\n",
            "experiments[0] (id 'exp_a'): key 'variants': must be a non-empty list",
        ),
        (
            "  lookback_days: 14",
            "  lookback_days: yes",
            "experiments[0] (id 'exp_a'): key 'lookback_days': must be a whole number >= 1, got "
            "True (YAML reads yes",
        ),
        (
            "  event_name: purchase",
            "  event_name: purchase\n  source: [events]",
            "metrics[0] (id 'revenue'): key 'source': unknown event source ['events']",
        ),
        (
            "    end_day: 14",
            "    end_day: 14.0",
            "metrics[0] (id 'revenue'): key 'window.end_day': must be a whole number >= 1, got "
            "14.0",
        ),
    ],
)
def test_wrong_types_are_named_not_a_traceback(
    tmp_path: Path, replace: str, by: str, expected: str
) -> None:
    text = yaml.safe_dump(VALID, default_flow_style=False)
    assert text.count(replace) == 1, text
    assert str(_load_text(tmp_path, text.replace(replace, by))).startswith(expected)


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("experiments.0.id", "exp_a\n", "id"),
        ("experiments.0.variants", ["control", "treatment\n"], "variants"),
        ("metrics.0.id", "revenue\n", "id"),
        ("metrics.0.event_name", "purchase\n", "event_name"),
        ("metrics.0.filters", [{"column": "country\n", "op": "=", "value": "US"}], "filters[0]"),
        (
            "metrics.0.filters",
            [{"column": "country", "op": "=", "value": "US\n"}],
            "filters[0].value",
        ),
        ("experiments.0.dimensions", ["platform\n"], "dimensions"),
    ],
)
def test_names_ending_in_a_newline_are_rejected(
    tmp_path: Path, path: str, value: object, key: str
) -> None:
    """``$`` matches before a final newline: names are checked with fullmatch instead."""
    message = _load_text(tmp_path, yaml.safe_dump(_mutate(path, value)))
    entry = path.split(".")[0] + "[0]"
    assert isinstance(message, str) and message.startswith(f"{entry} "), message
    assert f": key '{key}': " in message and "\\n'" in message, message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("id", "tickets\n"),
        ("timestamp_column", "opened_at\n"),
        ("dbt_source", {"source": "crm", "table": "tickets\n"}),
    ],
)
def test_event_source_names_ending_in_a_newline_are_rejected(
    tmp_path: Path, key: str, value: object
) -> None:
    document = {**copy.deepcopy(VALID), "event_sources": [{**TICKETS, key: value}]}
    message = _load_text(tmp_path, yaml.safe_dump(document))
    assert isinstance(message, str) and message.startswith("event_sources[0] "), message
    assert ": key '" in message and "is not a valid name" in message, message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            yaml.safe_dump(VALID).replace("purchase", "caf\u00e9").encode("latin-1"),
            "not UTF-8 text: byte 0xe9 at line ",
        ),
        (
            yaml.safe_dump(VALID).encode("utf-16"),
            "not UTF-8 text: byte 0xff at line 1; save the file as UTF-8",
        ),
        (
            b"\x00\x01binary",
            "not valid YAML at line 1: character #x0000: special characters are not allowed",
        ),
        (
            b"metrics: [\n",
            "not valid YAML at line 2, column 1: while parsing a flow node, "
            "expected the node content, but found '<stream end>'",
        ),
        (
            b"metrics:\n\t- x\n",
            "not valid YAML at line 2, column 1: while scanning for the next "
            "token, found character '\\t' that cannot start any token",
        ),
        (b"a: 1\n---\nb: 2\n", "not valid YAML at line 2, column 1: expected a single document"),
        (
            b"metrics: !!python/object:os.system x\n",
            "not valid YAML at line 1, column 10: could not determine a constructor",
        ),
        (b"", "the file is empty; it must be a mapping with keys 'metrics' and 'experiments'"),
        (b"# nothing yet\n", "the file is empty"),
        (b"just words\n", "the file must be a mapping with keys 'metrics' and 'experiments'"),
        (b"[" * 1000 + b"]" * 1000, "not valid YAML: nested too deeply"),
    ],
)
def test_a_file_that_is_not_utf8_yaml_is_one_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    assert str(_load_text(tmp_path, content)).startswith(expected)


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    config = _load_text(tmp_path, b"\xef\xbb\xbf" + DEMO_CONFIG.read_bytes())
    demo = dataclasses.replace(load_config(DEMO_CONFIG), path=str(tmp_path / "experiments.yml"))
    assert config == demo and config.hash == demo.hash  # type: ignore[attr-defined]


def test_alternative_is_validated_and_kept_out_of_sequential_experiments() -> None:
    document = copy.deepcopy(VALID)
    document["metrics"][0]["alternative"] = "greater"
    assert parse_config(document, "a.yml").metrics["revenue"].alternative == "greater"
    document["metrics"][0]["alternative"] = "bigger"
    with pytest.raises(
        ConfigError,
        match="key 'alternative': must be one of two-sided, greater, less, got 'bigger'",
    ):
        parse_config(document, "a.yml")
    document["metrics"][0]["alternative"] = "less"
    document["experiments"][0]["analysis"] = {"sequential": True}
    with pytest.raises(
        ConfigError,
        match="always-valid intervals are two-sided, but metric 'revenue' has alternative 'less'",
    ):
        parse_config(document, "a.yml")


@pytest.mark.parametrize("document", ["README.md", "docs/configuration.md"])
def test_the_documented_config_examples_load(document: str) -> None:
    """Every YAML block with experiments in the docs is a config the loader accepts."""
    import re
    import textwrap

    import yaml

    text = (DEMO_CONFIG.parent / document).read_text(encoding="utf-8")
    examples = [
        yaml.safe_load(textwrap.dedent(block))
        for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    ]
    examples = [e for e in examples if isinstance(e, dict) and "experiments" in e]
    assert examples
    for example in examples:
        parse_config(example, document)


# The tables the parser is declared in (config/parsing.py), and the walk over them
# (config/schema.py).


def _fields_filled(*tables: Table) -> set[str]:
    """The fields the keys of ``tables`` fill one each (keys that fill several aside)."""
    return {
        item.field_name or item.name
        for table in tables
        for item in table
        if isinstance(item, Key) and not item.spread
    }


@pytest.mark.parametrize(
    ("tables", "filled_otherwise", "dataclass"),
    [
        ((parsing._EVENT_SOURCE,), {"source_name", "table_name"}, EventSource),
        ((parsing._RATIO_METRIC, parsing._EVENT_METRIC, parsing._QUANTILE_METRIC), set(), Metric),
        ((parsing._THRESHOLD,), set(), Threshold),
        ((parsing._FILTER,), set(), Filter),
        ((parsing._WINSORIZE,), set(), Winsorize),
        ((parsing._EXPERIMENT,), {"metrics", "roles"}, Experiment),
        ((parsing._ANALYSIS,), set(), AnalysisSettings),
        ((parsing._DOCUMENT,), {"path"}, ExperimentConfig),
    ],
)
def test_every_field_of_the_types_has_a_key(
    tables: tuple[Table, ...], filled_otherwise: set[str], dataclass: type
) -> None:
    """A field added to a type without a key in its table (or the reverse) fails here."""
    fields = {f.name for f in dataclasses.fields(dataclass)}
    assert _fields_filled(*tables) | filled_otherwise == fields


def test_the_walk_takes_keys_and_rules_in_table_order() -> None:
    seen: list[tuple] = []

    def doubled(at: Location, value: int) -> int:
        seen.append(("key", at.key))
        return value * 2

    def rule(at: Location) -> None:
        seen.append(("rule", at.key, dict(at.parsed)))

    table = Table(
        Key("a", doubled, required=True),
        Rule("", rule),
        Key("b", doubled, default=5),  # absent: the default, not converted
        Key("c", doubled, default_from=lambda parsed: parsed["a"] + 1),
        Key("d", doubled),  # absent without a default: left to the dataclass
        Key("e", doubled, field_name="f"),
        Key("g", lambda at, value: {"x": value, "y": 0}, spread=True),
        Rule("b", rule),
    )
    at = Location(Entry("x.yml", "metrics[0]"), "window")
    parsed = walk(table, at, {"g": 4, "e": 3, "a": 1})
    assert parsed == {"a": 2, "b": 5, "c": 3, "f": 6, "x": 4, "y": 0}
    assert seen == [
        ("key", "window.a"),
        ("rule", "window", {"a": 2}),
        ("key", "window.e"),
        ("rule", "window.b", {"a": 2, "b": 5, "c": 3, "f": 6, "x": 4, "y": 0}),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([1], "key 'window': must be a mapping"),
        ({"e": 1}, "key 'window': missing key 'a'"),
        ({"a": 1, "f": 1}, "key 'window': unknown key 'f' (allowed: a, b, c, d, e, g)"),
        ({"a": "x"}, "key 'window.a': must be a whole number >= 1, got 'x'"),
    ],
)
def test_the_walk_names_the_nested_key(raw: object, expected: str) -> None:
    table = Table(
        *(Key(name, whole_number(1), required=name == "a") for name in "abcdeg"),
    )
    with pytest.raises(ConfigError) as raised:
        walk(table, Location(Entry("x.yml", "metrics[0]"), "window"), raw)
    assert str(raised.value) == "x.yml: metrics[0]: " + expected


@pytest.mark.parametrize(
    ("convert", "value", "expected"),
    [
        (one_of(("count", "sum")), "max", "must be 'count' or 'sum', got 'max'"),
        (one_of(("a", "b", "c")), 1, "must be one of a, b, c, got 1"),
        (optional(text), 1, "must be text"),
        (number(0, 1), 1, "must be a number > 0 and < 1, got 1"),
        (number(0, low_inclusive=True), -1, "must be a number >= 0, got -1"),
        (whole_number(0), 0.0, "must be a whole number >= 0, got 0.0"),
        (boolean, "no", "must be true or false, got 'no'"),
    ],
)
def test_converters_say_what_they_expected(convert: Convert, value: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=f"^x.yml: key 'k': {re.escape(expected)}$"):
        convert(Location(Entry("x.yml", ""), "k"), value)
    assert optional(convert)(Location(Entry("x.yml", ""), "k"), None) is None
