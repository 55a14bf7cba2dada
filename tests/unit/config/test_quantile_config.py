"""Quantile metrics in the config: their keys, their limits and what dbt receives."""

from __future__ import annotations

import copy

import pytest

from analysis_py.config import ConfigError, load_config, parse_config
from tests.conftest import DEMO_CONFIG

P90 = {
    "id": "revenue_p90",
    "event_name": "purchase",
    "aggregation": "quantile",
    "quantile": 0.9,
    "window": {"start_day": 0, "end_day": 14},
}
BASE = {
    "metrics": [
        {
            "id": "revenue",
            "event_name": "purchase",
            "aggregation": "sum",
            "window": {"start_day": 0, "end_day": 14},
        },
        P90,
    ],
    "experiments": [
        {
            "id": "e1",
            "variants": ["control", "treatment"],
            "control": "control",
            "traffic": {"control": 0.5, "treatment": 0.5},
            "metrics": ["revenue", "revenue_p90"],
            "lookback_days": 7,
        }
    ],
}


def _with(metric: dict | None = None, **experiment: object) -> dict:
    document = copy.deepcopy(BASE)
    if metric is not None:
        document["metrics"][1] = {**P90, **metric}
    document["experiments"][0].update(experiment)
    return document


def test_a_quantile_metric_parses_with_its_defaults() -> None:
    metric = parse_config(_with(), "q.yml").metrics["revenue_p90"]
    assert metric.is_quantile and metric.quantile == 0.9
    assert (metric.quantile_of, metric.ignore_zeros, metric.value_aggregation) == (
        "sum",
        False,
        "sum",
    )
    counted = parse_config(_with({"of": "count", "ignore_zeros": True}), "q.yml")
    assert counted.metrics["revenue_p90"].value_aggregation == "count"
    assert counted.metrics["revenue_p90"].ignore_zeros


def test_dbt_receives_the_per_subject_aggregation_and_the_level() -> None:
    config = parse_config(_with({"of": "count", "ignore_zeros": True}), "q.yml")
    metrics = {m["id"]: m for m in config.to_dbt_vars()["xp_config"]["metrics"]}
    assert metrics["revenue_p90"]["aggregation"] == "count"
    assert (metrics["revenue_p90"]["quantile"], metrics["revenue_p90"]["ignore_zeros"]) == (
        0.9,
        True,
    )
    # Other metrics carry no quantile keys, so configs without quantiles keep their hash.
    assert "quantile" not in metrics["revenue"]
    assert config.has_quantile_metrics


def test_configs_without_quantiles_keep_their_hash() -> None:
    # The demo's hash before quantile metrics existed (main at the bridge merge).
    assert load_config(DEMO_CONFIG).hash == "2cd4452a88a86250"
    assert not load_config(DEMO_CONFIG).has_quantile_metrics


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ({"quantile": 0.9999}, "key 'quantile': must be a number from 0.001 to 0.999"),
        ({"quantile": 0}, "key 'quantile': must be a number from 0.001 to 0.999"),
        ({"quantile": "p90"}, "key 'quantile': must be a number from 0.001 to 0.999"),
        ({"quantile": None}, "key 'quantile': must be a number"),
        ({"of": "distinct_days"}, "key 'of': must be 'sum' or 'count'"),
        ({"ignore_zeros": "yes"}, "key 'ignore_zeros': must be true or false"),
        ({"winsorize": {"upper": 0.99}}, "key 'winsorize': a quantile is not winsorized"),
    ],
)
def test_quantile_key_errors_name_file_metric_and_key(metric: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(_with(metric), "q.yml")
    assert str(error.value).startswith("q.yml: metrics[1] (id 'revenue_p90'): ")
    assert expected in str(error.value)


def test_a_quantile_needs_its_level() -> None:
    metric = {k: v for k, v in P90.items() if k != "quantile"}
    document = _with()
    document["metrics"][1] = metric
    with pytest.raises(
        ConfigError, match=r"q\.yml: metrics\[1\] \(id 'revenue_p90'\): missing key 'quantile'"
    ):
        parse_config(document, "q.yml")


def test_quantile_keys_belong_to_quantile_metrics() -> None:
    document = _with()
    document["metrics"][0]["quantile"] = 0.5
    with pytest.raises(ConfigError, match=r"metrics\[0\] \(id 'revenue'\): unknown key 'quantile'"):
        parse_config(document, "q.yml")


def test_a_ratio_cannot_divide_a_quantile() -> None:
    document = _with()
    document["metrics"].append(
        {"id": "r", "aggregation": "ratio", "numerator": "revenue_p90", "denominator": "revenue"}
    )
    with pytest.raises(
        ConfigError, match=r"metrics\[2\] \(id 'r'\): key 'numerator': 'revenue_p90' is a quantile"
    ):
        parse_config(document, "q.yml")


def test_sequential_experiments_reject_quantile_metrics() -> None:
    with pytest.raises(
        ConfigError,
        match=r"experiments\[0\] \(id 'e1'\): key 'analysis.sequential': always-valid intervals "
        r"are for means; metric 'revenue_p90' is a quantile",
    ):
        parse_config(_with(analysis={"sequential": True}), "q.yml")
    # Bayesian read-outs apply: the posterior is on the relative effect and its standard error.
    assert parse_config(_with(analysis={"bayesian": True}), "q.yml").experiments[0]
