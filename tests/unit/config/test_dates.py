"""An experiment's dates and phases: parsed to UTC, checked, and what dbt receives of them."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from analysis_py.config import ConfigError, load_config, parse_config
from tests.unit.config.test_config import VALID

RAMP = {
    "name": "ramp",
    "start_at": "2026-03-01T00:00:00Z",
    "end_at": "2026-03-05T00:00:00Z",
    "traffic": {"control": 0.9, "treatment": 0.1},
}
FULL = {
    "name": "full",
    "start_at": "2026-03-06 12:00:00+02:00",
    "traffic": {"control": 0.5, "treatment": 0.5},
}


def _experiment(**changes: Any) -> dict[str, Any]:
    """VALID with its experiment's keys changed (None removes a key)."""
    document = copy.deepcopy(VALID)
    experiment = document["experiments"][0]
    for key, value in changes.items():
        if value is None:
            experiment.pop(key, None)
        else:
            experiment[key] = value
    return document


def _dbt_experiment(document: dict[str, Any]) -> dict[str, Any]:
    return parse_config(document, "x.yml").to_dbt_vars()["xp_config"]["experiments"][0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T00:00:00Z", datetime(2026, 3, 1)),
        ("2026-03-01 09:30:00+02:00", datetime(2026, 3, 1, 7, 30)),
        ("2026-03-01T09:30:00-0500", datetime(2026, 3, 1, 14, 30)),
        ("2026-03-01T09:30", datetime(2026, 3, 1, 9, 30)),  # naive: UTC
        ("2026-03-01", datetime(2026, 3, 1)),
        ("2026-03-01T00:00:00.250Z", datetime(2026, 3, 1, 0, 0, 0, 250000)),
    ],
)
def test_times_are_read_as_utc(value: str, expected: datetime) -> None:
    experiment = parse_config(_experiment(start_at=value), "x.yml").experiments[0]
    assert experiment.start_at == expected
    assert experiment.analysed_phase is not None
    assert experiment.analysed_phase.start_at == expected


def test_yaml_timestamps_and_dates_are_read_too(tmp_path: Path) -> None:
    """Unquoted, YAML itself turns these into datetimes (with their offset) and dates."""
    path = tmp_path / "experiments.yml"
    path.write_text(
        "metrics: [{id: revenue, event_name: purchase, aggregation: sum,\n"
        "           window: {start_day: 0, end_day: 14}}]\n"
        "experiments:\n"
        "  - {id: e, variants: [a, b], control: a, traffic: {a: 0.5, b: 0.5},\n"
        "     metrics: [revenue], lookback_days: 1,\n"
        "     start_at: 2026-03-01 09:00:00+02:00, end_at: 2026-03-02}\n"
    )
    phase = load_config(path).experiments[0].analysed_phase
    assert phase is not None
    assert (phase.start_at, phase.end_at) == (datetime(2026, 3, 1, 7), datetime(2026, 3, 2))


def test_no_dates_no_phase_and_an_unchanged_hash() -> None:
    """An experiment without dates has no phase, and what dbt receives is as before."""
    config = parse_config(copy.deepcopy(VALID), "x.yml")
    assert config.experiments[0].analysed_phase is None
    assert "phase" not in config.to_dbt_vars()["xp_config"]["experiments"][0]
    assert "partition_date_column" not in str(config.to_dbt_vars())


def test_start_and_end_are_one_phase_with_the_experiments_traffic() -> None:
    vars_ = _dbt_experiment(_experiment(start_at="2026-03-01", end_at="2026-03-15T06:00:00Z"))
    assert vars_["phase"] == {
        "name": "main",
        "start_at": "2026-03-01 00:00:00",
        "end_at": "2026-03-15 06:00:00",
    }
    assert [v["expected_share"] for v in vars_["variants"]] == [0.5, 0.5]


def test_the_last_phase_is_analysed_with_its_own_split() -> None:
    document = _experiment(traffic=None, phases=[RAMP, FULL])
    experiment = parse_config(document, "x.yml").experiments[0]
    assert experiment.traffic == {"control": 0.5, "treatment": 0.5}
    vars_ = _dbt_experiment(document)
    assert vars_["phase"] == {"name": "full", "start_at": "2026-03-06 10:00:00", "end_at": None}
    assert {v["id"]: v["expected_share"] for v in vars_["variants"]} == FULL["traffic"]


def test_analysis_phase_names_the_phase_whose_split_the_srm_check_expects() -> None:
    document = _experiment(traffic=None, phases=[RAMP, FULL], analysis_phase="ramp")
    vars_ = _dbt_experiment(document)
    assert vars_["phase"]["name"] == "ramp"
    assert vars_["phase"]["end_at"] == "2026-03-05 00:00:00"
    assert {v["id"]: v["expected_share"] for v in vars_["variants"]} == RAMP["traffic"]


def test_only_the_analysed_phase_changes_the_hash() -> None:
    """Editing another phase changes no row dbt builds: the incremental tables stay."""
    base = parse_config(_experiment(traffic=None, phases=[RAMP, FULL]), "x.yml").hash
    ramp = {**RAMP, "traffic": {"control": 0.8, "treatment": 0.2}}
    assert parse_config(_experiment(traffic=None, phases=[ramp, FULL]), "x.yml").hash == base
    full = {**FULL, "start_at": "2026-03-07"}
    assert parse_config(_experiment(traffic=None, phases=[RAMP, full]), "x.yml").hash != base


def test_partition_date_column_reaches_dbt() -> None:
    document = copy.deepcopy(VALID)
    document["event_sources"] = [
        {
            "id": "tickets",
            "dbt_source": {"source": "crm", "table": "tickets"},
            "subject_id_column": "user_id",
            "timestamp_column": "opened_at",
            "partition_date_column": "opened_on",
        }
    ]
    sources = parse_config(document, "x.yml").to_dbt_vars()["xp_config"]["event_sources"]
    assert sources[0]["partition_date_column"] == "opened_on"
    document["event_sources"][0]["partition_date_column"] = "opened on; drop"
    with pytest.raises(ConfigError, match="key 'partition_date_column': 'opened on; drop'"):
        parse_config(document, "x.yml")


PREFIX = "x.yml: experiments[0] (id 'exp_a'): "


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"start_at": "yesterday"}, "key 'start_at': must be an ISO 8601 time"),
        ({"start_at": 20260301}, "key 'start_at': must be an ISO 8601 time"),
        ({"start_at": "2026-W09-1"}, "key 'start_at': must be an ISO 8601 time"),
        ({"start_at": "2026-02-30"}, "key 'start_at': '2026-02-30' is not a valid time"),
        ({"end_at": "2026-03-01"}, "key 'end_at': needs start_at"),
        (
            {"start_at": "2026-03-01T02:00:00+02:00", "end_at": "2026-03-01T00:00:00Z"},
            "key 'end_at': end_at (2026-03-01 00:00:00) must be after start_at",
        ),
        (
            {"phases": [RAMP]},
            "key 'traffic': not with phases: each phase has its own",
        ),
        (
            {"traffic": None, "phases": [RAMP], "start_at": "2026-03-01"},
            "key 'start_at': not with phases",
        ),
        ({"traffic": None}, "missing key 'traffic'"),
        ({"analysis_phase": "ramp"}, "key 'analysis_phase': only with phases"),
        (
            {"traffic": None, "phases": [RAMP, FULL], "analysis_phase": "launch"},
            "key 'analysis_phase': 'launch' is not among the phases ['ramp', 'full']",
        ),
        ({"traffic": None, "phases": []}, "key 'phases': must be a non-empty list"),
        ({"traffic": None, "phases": [{**RAMP, "name": "Ramp 1"}]}, "key 'phases[0].name'"),
        (
            {"traffic": None, "phases": [{k: v for k, v in RAMP.items() if k != "start_at"}]},
            "key 'phases[0]': missing key 'start_at'",
        ),
        (
            {"traffic": None, "phases": [{**RAMP, "end_at": "2026-02-01"}]},
            "key 'phases[0].end_at': end_at (2026-02-01 00:00:00) must be after start_at",
        ),
        (
            {"traffic": None, "phases": [FULL, RAMP]},
            "key 'phases[1]': phase 'full' before it has no end_at: only the last phase",
        ),
        (
            {"traffic": None, "phases": [RAMP, {**FULL, "start_at": "2026-03-04T23:59:59Z"}]},
            "key 'phases[1].start_at': 2026-03-04 23:59:59 is before the end of phase 'ramp'",
        ),
        (
            {"traffic": None, "phases": [RAMP, {**FULL, "name": "ramp"}]},
            "key 'phases[1].name': duplicate phase name 'ramp'",
        ),
        (
            {"traffic": None, "phases": [{**RAMP, "traffic": {"control": 0.9, "treatment": 0.2}}]},
            "key 'phases[0].traffic': weights sum to 1.1, not 1",
        ),
        (
            {"traffic": None, "phases": [{**RAMP, "traffic": {"control": 1.0}}]},
            "key 'phases[0].traffic': must give a weight for each variant",
        ),
    ],
)
def test_date_errors_name_experiment_and_key(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(_experiment(**changes), "x.yml")
    message = str(raised.value)
    assert message.startswith(PREFIX + expected), message
    assert "\n" not in message


def test_phases_may_touch() -> None:
    """A phase may start the instant the one before ends: the bounds are [start, end)."""
    full = {**FULL, "start_at": RAMP["end_at"]}
    experiment = parse_config(_experiment(traffic=None, phases=[RAMP, full]), "x.yml")
    assert [p.name for p in experiment.experiments[0].phases] == ["ramp", "full"]
