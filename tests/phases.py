"""A dated and a phased experiment on generated data, for the tests of dates and phases.

``phased`` has a ramp-up phase (90/10) and a second phase (60/40, the analysed one), with
exposures before, between and after them; ``dated`` has plain ``start_at`` / ``end_at``.
Events and tickets (a further event source, with a date partition column) span weeks
before and after. Used on DuckDB (tests/integration/dbt/test_phases.py) and on the other
engines (tests/integration/engines/test_phase_engines.py).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from tests.conftest import REPO

ANALYSIS_AT = "2026-04-05T00:00:00"

CONFIG = textwrap.dedent("""\
    event_sources:
      - id: tickets
        dbt_source: {source: fixture, table: tickets}
        subject_id_column: user_id
        timestamp_column: opened_at
        partition_date_column: opened_on
    metrics:
      - {id: revenue, event_name: purchase, aggregation: sum, window: {start_day: 0, end_day: 3}}
      - {id: orders, event_name: purchase, aggregation: count,
         window: {start_hours: 0, end_hours: 48}}
      - {id: tickets, source: tickets, aggregation: count, window: {start_day: 0, end_day: 2}}
    experiments:
      - id: phased
        variants: [control, treatment]
        control: control
        phases:
          - name: ramp
            start_at: 2026-03-01T00:00:00Z
            end_at: 2026-03-05T00:00:00Z
            traffic: {control: 0.9, treatment: 0.1}
          - name: full
            start_at: "2026-03-06 02:00:00+02:00"
            end_at: 2026-03-12T00:00:00Z
            traffic: {control: 0.6, treatment: 0.4}
        metrics: [revenue, orders, tickets]
        lookback_days: 3
      - id: dated
        variants: [control, treatment]
        control: control
        traffic: {control: 0.5, treatment: 0.5}
        start_at: 2026-03-03T12:00:00Z
        end_at: 2026-03-08T00:00:00Z
        metrics: [revenue]
        lookback_days: 2
    """)

#: A night's time before the edit below, while the analysed phase is still running.
EARLY_ANALYSIS_AT = "2026-03-10T00:00:00"
#: The config with the analysed phase's end and the dated experiment's start moved: a night
#: after the edit must rebuild what the bounds shape, as a full refresh would.
EDITED_CONFIG = CONFIG.replace(
    "end_at: 2026-03-12T00:00:00Z", "end_at: 2026-03-09T06:00:00Z"
).replace("start_at: 2026-03-03T12:00:00Z", "start_at: 2026-03-04T00:00:00Z")
assert EDITED_CONFIG.count("2026-03-09T06") == 1 and "2026-03-04T00" in EDITED_CONFIG


def make_project(root: Path, config: str = CONFIG) -> Path:
    """A copy of this project reading the generated tables, with the config above."""
    project = root / "project"
    project.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO / name, project / name)
    for name in ("models", "macros", "data-tests"):
        shutil.copytree(REPO / name, project / name)
    settings = (project / "dbt_project.yml").read_text()
    for old, new in (
        ("xp_assignments_table: demo_assignments", "xp_assignments_table: assignments"),
        (
            "xp_events_table: demo_events",
            "xp_events_table: events\n  xp_events_partition_date_column: event_on",
        ),
        ("xp_demo_data: true", "xp_demo_data: false"),
    ):
        assert old in settings, old
        settings = settings.replace(old, new)
    (project / "dbt_project.yml").write_text(settings)
    (project / "models" / "staging" / "_fixture__sources.yml").write_text(
        textwrap.dedent("""\
        version: 2
        sources:
          - name: fixture
            schema: "{{ target.schema }}"
            tables: [{name: tickets}]
        """)
    )
    (project / "experiments.yml").write_text(config)
    return project


def _times(rng: np.random.Generator, n: int, first: str, last: str) -> pd.Series:
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    seconds = rng.integers(0, int((end - start).total_seconds()), n)
    return pd.Series(start + pd.to_timedelta(seconds, unit="s"))


def generate_tables(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Exposures before, in, between and after the phases; events far around them."""
    rng = np.random.default_rng(seed)
    assignments = []
    for experiment, n, first, last in (
        ("phased", 400, "2026-02-25", "2026-03-16"),
        ("dated", 200, "2026-02-28", "2026-03-11"),
    ):
        subjects = [f"{experiment[0]}{i:03d}" for i in range(n)]
        for subject in subjects:
            n_exposures = int(rng.integers(1, 4))
            at = _times(rng, n_exposures, first, last)
            # Each exposure draws its arm with the split in force then: 90/10 in the ramp.
            share = np.where(at < pd.Timestamp("2026-03-05"), 0.9, 0.6)
            if experiment == "dated":
                share[:] = 0.5
            arm = rng.random(n_exposures) < share
            # Most subjects keep their first arm; some are re-drawn (across phases).
            if rng.random() < 0.8:
                arm[:] = arm[0]
            for when, control in zip(at, arm, strict=True):
                assignments.append(
                    (subject, experiment, "control" if control else "treatment", when)
                )
    assignments_frame = pd.DataFrame(
        assignments, columns=["subject_id", "experiment_id", "variant_id", "assigned_at"]
    )
    subjects = assignments_frame.subject_id.unique()
    n_events = 6000
    events = pd.DataFrame(
        {
            "subject_id": rng.choice(subjects, n_events),
            "event_name": rng.choice(["purchase", "visit"], n_events, p=[0.7, 0.3]),
            "event_at": _times(rng, n_events, "2026-02-10", "2026-04-01"),
            "value": np.round(rng.exponential(20, n_events), 2),
        }
    )
    events["event_on"] = events.event_at.dt.date
    tickets = pd.DataFrame(
        {
            "user_id": rng.choice(subjects, 1500),
            "opened_at": _times(rng, 1500, "2026-02-10", "2026-04-01"),
        }
    )
    tickets["opened_on"] = tickets.opened_at.dt.date
    return {"assignments": assignments_frame, "events": events, "tickets": tickets}


def load_tables(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    connection = duckdb.connect(str(path))
    try:
        for name, frame in tables.items():
            connection.register("frame", frame)
            connection.execute(f"create or replace table main.{name} as select * from frame")
            connection.unregister("frame")
    finally:
        connection.close()
