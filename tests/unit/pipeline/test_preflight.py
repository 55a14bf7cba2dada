"""The preflight's judgement, on literal facts shaped like the macro's.

The macro is macros/xp_preflight.sql; each finding is one line naming table, column, value
or experiment.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from analysis_py.config import parse_config
from analysis_py.pipeline.preflight import (
    ASSIGNMENT_COLUMNS,
    EVENT_COLUMNS,
    Finding,
    PreflightError,
    judge,
    raise_for_errors,
    table_specs,
)
from tests.conftest import REPO
from tests.unit.config.test_config import VALID

TYPES = {
    "text": ("VARCHAR", False, True),
    "number": ("DOUBLE", True, False),
    "time": ("TIMESTAMP", False, False),
    "bigint": ("BIGINT", True, False),
    "boolean": ("BOOLEAN", False, False),
}


def config_with(**experiment):
    document = copy.deepcopy(VALID)
    document["experiments"][0].update(experiment)
    return parse_config(document, "test.yml")


def table(
    relation: str,
    columns: dict[str, str],
    *,
    n_rows: int = 100,
    unreadable=(),
    exposures=None,
    exists: bool = True,
) -> dict:
    """Facts about one table, as the macro reports them."""
    facts = {
        "declared": True,
        "exists": exists,
        "relation": relation,
        "source": f"experimentation.{relation.split('.')[-1]}",
    }
    if not exists:
        return facts
    facts.update(
        columns={
            name.lower(): dict(
                zip(("dtype", "is_number", "is_string"), TYPES[kind], strict=True), name=name
            )
            for name, kind in columns.items()
        },
        n_sampled_rows=n_rows,
        sample_rows=10_000,
        unreadable=list(unreadable),
    )
    if exposures is not None:
        facts["exposures"] = exposures
    return facts


ASSIGNMENTS = {
    "subject_id": "text",
    "experiment_id": "text",
    "variant_id": "text",
    "assigned_at": "time",
}
EVENTS = {"subject_id": "text", "event_name": "text", "event_at": "time", "value": "number"}


def findings(config, assignments=None, events=None, exposures=None, **options) -> list[Finding]:
    experiment = config.experiments[0]
    if exposures is None:
        exposures = [[experiment.id, variant, 500] for variant in experiment.variants]
    facts = {
        "demo_data": options.pop("demo_data", False),
        "tables": [
            assignments
            if assignments is not None
            else table("src.assignments", ASSIGNMENTS, exposures=exposures),
            events if events is not None else table("src.events", EVENTS),
        ],
    }
    return judge(facts, config, table_specs(config), **options)


def messages(found: list[Finding], level: str = "error") -> list[str]:
    return [f.message for f in found if f.level == level]


def test_a_warehouse_that_holds_what_the_config_needs_has_no_findings() -> None:
    assert findings(config_with()) == []


def test_the_input_contract_is_the_sources_declared_columns() -> None:
    """One fact, two copies: the columns checked here are those the sources declare.

    That is, those _staging__sources.yml declares for the two input tables.
    """
    sources = yaml.safe_load((REPO / "models/staging/_staging__sources.yml").read_text())
    declared = {
        t["name"]: [c["name"] for c in t["columns"]]
        for t in sources["sources"][0]["tables"]
        if t["name"] in ("assignments", "events")
    }
    assert declared == {"assignments": list(ASSIGNMENT_COLUMNS), "events": list(EVENT_COLUMNS)}


def test_a_misspelt_experiment_id_fails_with_the_closest_id_in_the_data() -> None:
    config = config_with(id="checkout_redesing")
    found = findings(
        config,
        exposures=[
            ["checkout_redesign", "control", 600],
            ["checkout_redesign", "treatment", 590],
            ["pricing_test", "control", 10],
        ],
    )
    assert messages(found) == [
        "experiment 'checkout_redesing' has no exposures in "
        "src.assignments; did you mean 'checkout_redesign'?"
    ]
    with pytest.raises(PreflightError, match="did you mean 'checkout_redesign'"):
        raise_for_errors(found)


def test_an_experiment_without_exposures_is_not_started_a_warning() -> None:
    config = config_with(id="checkout_v2")
    # checkout_v1 is its predecessor, not a misspelling: only the version differs.
    found = findings(
        config, exposures=[["checkout_v1", "control", 600], ["checkout_v1", "treatment", 590]]
    )
    assert messages(found) == []
    assert messages(found, "warning") == [
        "experiment 'checkout_v2' has no exposures in src.assignments yet (not started)"
    ]
    assert raise_for_errors(found) == found


def test_variants_the_config_does_not_list_are_reported() -> None:
    config = config_with()
    experiment = config.experiments[0]
    found = findings(
        config,
        exposures=[[experiment.id, experiment.control, 1200], [experiment.id, "cheap", 1192]],
    )
    treatment = experiment.treatments[0]
    assert messages(found) == []
    assert messages(found, "warning") == [
        f"experiment '{experiment.id}': variant 'cheap' has 1,192 exposure rows in "
        "src.assignments but is not in the config; its subjects are left out",
        f"experiment '{experiment.id}': configured variant '{treatment}' has no exposures "
        "in src.assignments",
    ]


@pytest.mark.parametrize(
    ("table_name", "drop", "expected"),
    [
        (
            "events",
            "value",
            "the events table src.events has no column 'value' (input contract); "
            "its columns: subject_id, event_name, event_at",
        ),
        (
            "assignments",
            "subject_id",
            "the assignments table src.assignments has no column "
            "'subject_id' (input contract); its columns: experiment_id, "
            "variant_id, assigned_at",
        ),
    ],
)
def test_a_missing_contract_column_is_named(table_name, drop, expected) -> None:
    columns = {
        k: v for k, v in (EVENTS if table_name == "events" else ASSIGNMENTS).items() if k != drop
    }
    relation = f"src.{table_name}"
    config = config_with()
    if table_name == "events":
        found = findings(config, events=table(relation, columns))
    else:
        found = findings(config, assignments=table(relation, columns, exposures=[]))
    assert messages(found)[0] == expected


def test_missing_filter_and_dimension_columns_name_who_uses_them() -> None:
    document = copy.deepcopy(VALID)
    document["experiments"][0]["dimensions"] = ["platform"]
    metric = document["metrics"][0]
    metric["filters"] = [{"column": "country", "op": "=", "value": "DE"}]
    config = parse_config(document, "test.yml")
    found = messages(findings(config))
    assert found == [
        "the assignments table src.assignments has no column 'platform' (dimension of "
        f"experiment '{config.experiments[0].id}'); its columns: subject_id, experiment_id, "
        "variant_id, assigned_at",
        "the events table src.events has no column 'country' (filter of metric "
        f"'{metric['id']}'); its columns: subject_id, event_name, event_at, value",
    ]


def test_unusable_types_and_unreadable_text_are_named() -> None:
    config = config_with()
    epoch = table(
        "src.assignments",
        {**ASSIGNMENTS, "assigned_at": "bigint"},
        exposures=[[config.experiments[0].id, v, 5] for v in config.experiments[0].variants],
    )
    assert messages(findings(config, assignments=epoch))[0].startswith(
        "the assignments table src.assignments: column 'assigned_at' is BIGINT, not a "
        "timestamp (input contract)"
    )
    boolean = table("src.events", {**EVENTS, "value": "boolean"})
    assert messages(findings(config, events=boolean)) == [
        "the events table src.events: column 'value' is BOOLEAN, not a number (input contract)"
    ]
    text = table(
        "src.events",
        {**EVENTS, "value": "text"},
        n_rows=4244,
        unreadable=[{"column": "value", "kind": "number", "count": 3, "example": "abc"}],
    )
    assert messages(findings(config, events=text)) == [
        "src.events.value is not a number: 'abc' (3 of its 4,244 rows)"
    ]
    dates = table(
        "src.events",
        {**EVENTS, "event_at": "text"},
        unreadable=[{"column": "event_at", "kind": "time", "count": 1, "example": "15/01/2026"}],
    )
    assert messages(findings(config, events=dates)) == [
        "src.events.event_at is not an ISO 8601 timestamp ('YYYY-MM-DD HH:MM:SS', optionally "
        "with Z or +HH:MM): '15/01/2026' (1 of its 100 rows)"
    ]
    readable = table(
        "src.events",
        {**EVENTS, "event_at": "text"},
        unreadable=[{"column": "event_at", "kind": "time", "count": 0, "example": None}],
    )
    assert findings(config, events=readable) == []


def test_empty_and_missing_tables_fail() -> None:
    config = config_with()
    assert messages(findings(config, events=table("src.events", EVENTS, n_rows=0))) == [
        "the events table src.events is empty: a run now would replace the results with empty ones"
    ]
    missing = findings(config, events=table("src.events", EVENTS, exists=False))
    assert messages(missing) == [
        "the events table src.events does not exist: set the vars xp_source_schema and "
        "xp_events_table to your table (README, Use your own data)"
    ]
    # The demo seeds: `xp run` loads them before anything reads them.
    assert (
        findings(
            config,
            events=table("main.demo_events", EVENTS, exists=False),
            demo_data=True,
            seeds_pending=True,
        )
        == []
    )


def test_errors_come_first_and_the_first_is_raised_with_a_count() -> None:
    config = config_with(id="not_started_yet")
    events = table("src.events", {"subject_id": "text"}, n_rows=0)
    found = findings(config, events=events, exposures=[])
    assert [f.level for f in found] == ["error"] * 4 + ["warning"]
    with pytest.raises(PreflightError) as raised:
        raise_for_errors(found)
    assert str(raised.value) == (
        "the events table src.events has no column 'event_name' (input contract); its "
        "columns: subject_id (and 3 more: `xp validate` lists them)"
    )


def test_event_sources_are_checked_with_their_own_column_names() -> None:
    from analysis_py.config import load_config

    config = load_config(REPO / "experiments.yml")
    specs = {spec.role: spec for spec in table_specs(config)}
    tickets = specs["support_tickets"]
    assert (tickets.source_name, tickets.table_name) == ("experimentation", "support_tickets")
    assert [(c.name, c.kind) for c in tickets.columns] == [
        ("user_id", "any"),
        ("opened_at", "time"),
        ("minutes_to_resolve", "number"),
        ("channel", "any"),
    ]
    assert [c.name for c in specs["assignments"].columns][4:] == ["platform", "country"]
    assert [c.name for c in specs["events"].columns][4:] == ["country"]
    undeclared = {"declared": False, "exists": False, "source": "experimentation.support_tickets"}
    facts = {
        "demo_data": False,
        "tables": [
            table(
                "main.a",
                {**ASSIGNMENTS, "platform": "text", "country": "text"},
                exposures=[[e.id, v, 10] for e in config.experiments for v in e.variants],
            ),
            table("main.e", {**EVENTS, "country": "text"}),
            undeclared,
        ],
    }
    assert messages(judge(facts, config, list(specs.values()))) == [
        "event source 'support_tickets': dbt source experimentation.support_tickets is not "
        "declared in the dbt project (or is disabled)"
    ]
