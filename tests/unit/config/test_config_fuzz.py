"""Config keys set to values of the wrong type.

Every key of the config, set to values of the wrong type: a one-line ConfigError or a
valid config, never another exception (issue 18: such values raised TypeError before).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator

import pytest
import yaml

from analysis_py.config import ConfigError, parse_config
from tests.conftest import DEMO_CONFIG

FREE_TEXT = {"description", "display_name"}
WRONG = [
    "text",
    "",
    ["a"],
    [],
    [["a"]],
    [{"a": 1}],
    {"a": 1},
    {},
    None,
    True,
    False,
    math.nan,
    math.inf,
    -math.inf,
    0,
    -1,
    1.5,
    10**30,
    10**400,  # beyond the range of floats
]
KEYS = [1, None, True, 1.5, "new\nkey"]  # keys YAML gives that are not plain text


def base() -> dict:
    """The demo config plus the optional keys it leaves out, so that every key is fuzzed."""
    document = yaml.safe_load(DEMO_CONFIG.read_text())
    document["event_sources"][0]["event_name_column"] = "kind"
    for metric in document["metrics"]:
        if metric.get("source") == "support_tickets":
            metric["event_name"] = "ticket"
    document["metrics"].append(
        {
            "id": "extra",
            "event_name": "x",
            "aggregation": "conversion",
            "window": {"start_hours": 0, "end_hours": 5},
            "matured_subjects_only": True,
            "winsorize": {"upper": 0.9, "lower": 0.1},
        }
    )
    document["experiments"][1]["analysis"].update(
        sequential=True, sequential_tuning=4000, bayesian=False
    )
    return document


def paths(node: object, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key and list index below ``node``, as paths of keys and indices."""
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def at(document: object, path: tuple) -> object:
    for part in path:
        document = document[part]  # type: ignore[index]
    return document


def check(document: dict, must_fail: bool) -> None:
    try:
        parse_config(document, "fuzz.yml")
    except ConfigError as error:
        message = str(error)
        assert message.startswith("fuzz.yml: ") and "\n" not in message, message
    else:
        assert not must_fail, "accepted"


def test_the_base_is_valid() -> None:
    parse_config(base(), "fuzz.yml")


@pytest.mark.parametrize("section", ["event_sources", "metrics", "experiments"])
def test_every_value_replaced_or_removed(section: str) -> None:
    """Every wrong value below a section fails, or gives a valid config.

    Replace each value below ``section`` by each of WRONG (and delete it): non-finite
    numbers, booleans for numbers and names ending in a newline must always fail.
    """
    document = base()
    for path in [(section,), *paths(document[section], (section,))]:
        original = at(document, path)
        wrong = [*WRONG, original + "\n"] if isinstance(original, str) else WRONG
        for value in [*wrong, "<delete>"]:
            changed = copy.deepcopy(document)
            parent = at(changed, path[:-1])
            if value == "<delete>":
                del parent[path[-1]]  # type: ignore[attr-defined]
            else:
                parent[path[-1]] = copy.deepcopy(value)  # type: ignore[index]
            is_number = isinstance(original, int | float) and not isinstance(original, bool)
            must_fail = (
                (isinstance(value, float) and not math.isfinite(value))
                or (isinstance(value, bool) and is_number)
                or (isinstance(value, str) and value.endswith("\n") and path[-1] not in FREE_TEXT)
            )
            try:
                check(changed, must_fail)
            except AssertionError as error:
                raise AssertionError(f"{path} = {value!r}: {error}") from None


def test_every_mapping_and_list_given_an_odd_key_or_item() -> None:
    document = base()
    containers = [(), *(p for p in paths(document) if isinstance(at(document, p), dict | list))]
    for path in containers:
        for key in KEYS:
            changed = copy.deepcopy(document)
            node = at(changed, path)
            if isinstance(node, dict):
                node[key] = "x"
            else:
                node.append(key)  # type: ignore[attr-defined]
            try:
                check(changed, must_fail=False)
            except AssertionError as error:
                raise AssertionError(f"{path} + {key!r}: {error}") from None
