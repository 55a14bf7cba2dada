"""The experiment config's ``plan`` block: what `xp plan` reads for a proposed experiment."""

from __future__ import annotations

import copy

import pytest

from analysis_py.config import ConfigError, PlanSettings, parse_config
from tests.unit.config.test_config import VALID


def _with_plan(plan: object) -> dict:
    document = copy.deepcopy(VALID)
    document["experiments"][0]["plan"] = plan
    return document


def test_an_experiment_without_plan_is_not_planned() -> None:
    assert parse_config(copy.deepcopy(VALID)).experiments[0].plan is None


def test_plan_alone_marks_the_experiment_with_the_defaults() -> None:
    assert parse_config(_with_plan(None)).experiments[0].plan == PlanSettings()


def test_plan_settings_are_read() -> None:
    plan = (
        parse_config(
            _with_plan(
                {
                    "history_days": 21,
                    "population_experiments": ["old test", "checkout_v1"],
                    "expected_daily_subjects": 1500,
                }
            )
        )
        .experiments[0]
        .plan
    )
    assert plan == PlanSettings(21, ("old test", "checkout_v1"), 1500)


def test_the_plan_does_not_change_what_dbt_builds() -> None:
    """A plan reaches dbt as its own var: the marts' config hash stays as it was."""
    assert (
        parse_config(_with_plan({"history_days": 7})).hash
        == parse_config(copy.deepcopy(VALID)).hash
    )


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        ({"history_days": 0}, "key 'plan.history_days': must be a whole number >= 1, got 0"),
        ({"expected_daily_subjects": -5}, "key 'plan.expected_daily_subjects'"),
        ({"population_experiments": "checkout"}, "key 'plan.population_experiments': must be"),
        ({"population_experiments": ["a'b"]}, "key 'plan.population_experiments'"),
        ({"target_relative_effect": 0.1}, "key 'plan': unknown key 'target_relative_effect'"),
        ([7], "key 'plan'"),
    ],
)
def test_plan_errors_name_file_experiment_and_key(plan: object, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(_with_plan(plan), "conf/experiments.yml")
    message = str(raised.value)
    assert message.startswith("conf/experiments.yml: experiments[0] (id "), message
    assert expected in message, message
