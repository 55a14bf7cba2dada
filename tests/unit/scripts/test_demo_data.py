"""The demo seeds are what the generator writes, and hold what real logs hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.conftest import REPO, SEEDS, load_script


def _generator():
    return load_script(REPO / "scripts" / "generate_demo_data.py")


def test_committed_seeds_are_what_the_generator_writes(tmp_path: Path) -> None:
    generator = _generator()
    assignments, events = generator.generate()
    generator.write_csv(tmp_path / "a.csv", generator.ASSIGNMENT_COLUMNS, assignments)
    generator.write_csv(tmp_path / "e.csv", generator.EVENT_COLUMNS, events)
    assert (tmp_path / "a.csv").read_bytes() == (SEEDS / "demo_assignments.csv").read_bytes()
    assert (tmp_path / "e.csv").read_bytes() == (SEEDS / "demo_events.csv").read_bytes()
    generator.write_csv(
        tmp_path / "t.csv", generator.TICKET_COLUMNS, generator.generate_support_tickets()
    )
    assert (tmp_path / "t.csv").read_bytes() == (SEEDS / "demo_support_tickets.csv").read_bytes()


def test_demo_data_holds_what_real_logs_hold() -> None:
    assignments = pd.read_csv(SEEDS / "demo_assignments.csv", parse_dates=["assigned_at"])
    events = pd.read_csv(SEEDS / "demo_events.csv", parse_dates=["event_at"])
    per_subject = assignments.groupby(["experiment_id", "subject_id"]).agg(
        rows=("variant_id", "size"),
        variants=("variant_id", "nunique"),
        first=("assigned_at", "min"),
    )

    assert set(assignments.groupby("experiment_id").variant_id.nunique()) == {2, 3}
    assert 1000 < len(per_subject) < 10_000
    assert (per_subject.rows > 1).mean() > 0.05  # duplicate exposures
    assert 10 <= (per_subject.variants > 1).sum() <= 100  # subjects in two variants
    assert (~events.subject_id.isin(assignments.subject_id)).sum() > 100  # never assigned
    assert events.value[events.event_name == "purchase"].isna().sum() > 0  # null values

    joined = events.merge(per_subject.reset_index(), on="subject_id")
    days = (joined.event_at - joined["first"]).dt.total_seconds() / 86400
    assert (days < 0).sum() > 1000  # before exposure: the CUPED covariate
    assert (days >= 14).sum() > 1000  # after the 14-day windows
