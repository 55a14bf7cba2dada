"""Write the demo seeds: an assignment (exposure) log and an event log.

Deterministic: the same seed gives byte-identical CSV files
(tests/unit/scripts/test_demo_data.py checks that the committed seeds are what this script
writes). Run from the repository root:

    python scripts/generate_demo_data.py

What the data holds, on purpose:

- ``checkout_redesign``: 2 arms (50/50). Treatment raises the purchase rate by 15% after
  exposure; the purchase value is unchanged.
- ``onboarding_flow``: 3 arms (50/25/25). ``guided_tour`` raises the session rate by 10%;
  ``short_form`` does nothing.
- Every subject has a persistent activity level, so behaviour before exposure predicts
  behaviour after it, and CUPED visibly reduces variance.
- Subject attributes on the assignment rows: ``platform`` (3 values) and ``country`` (a long
  tail of 12 values, for the top-N + "other" dimension breakdown); events carry the
  subject's ``country`` too (an extra column for metric filters).
- A second event source with its own column names, ``demo_support_tickets`` (``user_id``,
  ``opened_at``, ``minutes_to_resolve``, ``channel``; no event name: every row is a ticket),
  drawn from a stream of its own so that the other files did not change. Heavy users open
  more tickets; no experiment changes the rate.
- What real logs contain: duplicate exposure rows (10% of subjects), a few subjects exposed
  to two variants of one experiment (about 1%), events of subjects never assigned, events
  before exposure and after the metric window, and purchase events with a null value.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

SEED = 20261126
N_SUBJECTS = 3000
N_UNASSIGNED_SUBJECTS = 200
PERIOD_START = datetime(2026, 2, 10)
PERIOD_DAYS = 59
SESSION_RATE_PER_DAY = 0.20
PURCHASE_RATE_PER_DAY = 0.04
DUPLICATE_EXPOSURE_SHARE = 0.10
MULTI_VARIANT_SHARE = 0.01
NULL_VALUE_SHARE = 0.01
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
PLATFORMS = (("web", 0.5), ("ios", 0.3), ("android", 0.2))
COUNTRIES = (
    ("US", 0.35),
    ("DE", 0.15),
    ("GB", 0.12),
    ("FR", 0.1),
    ("BR", 0.08),
    ("IN", 0.07),
    ("JP", 0.05),
    ("CA", 0.03),
    ("ES", 0.02),
    ("IT", 0.01),
    ("NL", 0.01),
    ("SE", 0.01),
)


@dataclass(frozen=True)
class DemoExperiment:
    experiment_id: str
    variants: tuple[str, ...]
    weights: tuple[float, ...]
    starts_at: datetime
    enrolment_days: int
    subject_share: float
    # variant -> (event_name, multiplier of its rate after exposure)
    effects: dict[str, tuple[str, float]]


EXPERIMENTS = (
    DemoExperiment(
        experiment_id="checkout_redesign",
        variants=("control", "treatment"),
        weights=(0.5, 0.5),
        starts_at=datetime(2026, 3, 2),
        enrolment_days=14,
        subject_share=0.65,
        effects={"treatment": ("purchase", 1.15)},
    ),
    DemoExperiment(
        experiment_id="onboarding_flow",
        variants=("control", "short_form", "guided_tour"),
        weights=(0.5, 0.25, 0.25),
        starts_at=datetime(2026, 3, 9),
        enrolment_days=14,
        subject_share=0.60,
        effects={"guided_tour": ("session_start", 1.10)},
    ),
)


#: The highest rate multiplier of each event: the thinning draws at rate x this.
MAX_MULTIPLIER = {"session_start": 1.10, "purchase": 1.15}

#: One experiment's effect on one subject: (exposure day, event_name, rate multiplier).
Effect = tuple[float, str, float]


@dataclass(frozen=True)
class Subjects:
    """Every subject's id, persistent propensities and attributes (index = subject)."""

    ids: list[str]
    session_rate: np.ndarray
    purchase_rate: np.ndarray
    purchase_value_mean: np.ndarray
    platform: np.ndarray
    country: np.ndarray


def _timestamp(days_since_period_start: float) -> str:
    # Whole seconds: every engine then agrees on window boundaries.
    seconds = int(days_since_period_start * 86400)
    return (PERIOD_START + timedelta(seconds=seconds)).strftime(TIMESTAMP_FORMAT)


def generate(seed: int = SEED) -> tuple[list[tuple], list[tuple]]:
    """Return (assignment rows, event rows), each sorted, as tuples of CSV fields."""
    rng = np.random.default_rng(seed)
    subjects = _draw_subjects(rng, seed)
    assignments: list[tuple] = []
    effects_by_subject: dict[int, list[Effect]] = {}
    for experiment in EXPERIMENTS:
        rows, effects = _expose(rng, experiment, subjects)
        assignments.extend(rows)
        for subject, effect in effects:
            effects_by_subject.setdefault(subject, []).append(effect)
    events = [
        row
        for subject in range(len(subjects.ids))
        for row in _subject_events(rng, subjects, subject, effects_by_subject.get(subject, []))
    ]
    assignments.sort()
    events.sort()
    return assignments, events


def _draw_subjects(rng: np.random.Generator, seed: int) -> Subjects:
    """Every subject, assigned or not, with the draws that make behaviour persistent."""
    n_total = N_SUBJECTS + N_UNASSIGNED_SUBJECTS
    # Persistent per-subject propensities (gamma: a few heavy users, many light ones).
    session_rate = rng.gamma(shape=1.5, scale=SESSION_RATE_PER_DAY / 1.5, size=n_total)
    purchase_rate = rng.gamma(shape=1.0, scale=PURCHASE_RATE_PER_DAY, size=n_total)
    purchase_value_mean = rng.lognormal(mean=np.log(40.0), sigma=0.4, size=n_total)
    # Attributes from a stream of their own, so adding them changed no other draw.
    attributes = np.random.default_rng(seed + 1)
    platform = attributes.choice(
        [p for p, _ in PLATFORMS], size=n_total, p=[w for _, w in PLATFORMS]
    )
    country = attributes.choice(
        [c for c, _ in COUNTRIES], size=n_total, p=[w for _, w in COUNTRIES]
    )
    return Subjects(
        ids=[f"s{i:05d}" for i in range(1, n_total + 1)],
        session_rate=session_rate,
        purchase_rate=purchase_rate,
        purchase_value_mean=purchase_value_mean,
        platform=platform,
        country=country,
    )


def _expose(
    rng: np.random.Generator, experiment: DemoExperiment, subjects: Subjects
) -> tuple[list[tuple], list[tuple[int, Effect]]]:
    """One experiment's assignment rows, and the (subject, effect) of each treated subject.

    Some subjects get duplicate exposure rows, and a few a second variant's row too; those
    in two variants get no effect.
    """
    start_day = (experiment.starts_at - PERIOD_START).days
    enrolled = np.flatnonzero(rng.random(N_SUBJECTS) < experiment.subject_share)
    arms = rng.choice(len(experiment.variants), size=enrolled.size, p=experiment.weights)
    exposure_day = start_day + rng.random(enrolled.size) * experiment.enrolment_days
    n_duplicates = rng.choice(
        [0, 1, 2],
        size=enrolled.size,
        p=[
            1 - DUPLICATE_EXPOSURE_SHARE,
            DUPLICATE_EXPOSURE_SHARE * 0.7,
            DUPLICATE_EXPOSURE_SHARE * 0.3,
        ],
    )
    is_multi_variant = rng.random(enrolled.size) < MULTI_VARIANT_SHARE
    rows: list[tuple] = []
    effects: list[tuple[int, Effect]] = []
    for subject, arm, day, duplicates, multi in zip(
        enrolled, arms, exposure_day, n_duplicates, is_multi_variant, strict=True
    ):
        variant = experiment.variants[arm]
        exposures = [(day, variant)]
        exposures += [(day + rng.random() * 5, variant) for _ in range(duplicates)]
        if multi:
            other = experiment.variants[(arm + 1) % len(experiment.variants)]
            exposures.append((day + rng.random() * 3, other))
        rows.extend(
            (
                subjects.ids[subject],
                experiment.experiment_id,
                row_variant,
                _timestamp(row_day),
                subjects.platform[subject],
                subjects.country[subject],
            )
            for row_day, row_variant in exposures
        )
        if variant in experiment.effects and not multi:
            event_name, multiplier = experiment.effects[variant]
            effects.append((subject, (day, event_name, multiplier)))
    return rows, effects


def _subject_events(
    rng: np.random.Generator, subjects: Subjects, subject: int, effects: list[Effect]
) -> list[tuple]:
    """One subject's session and purchase event rows over the whole period."""
    rows: list[tuple] = []
    for event_name, rate in (
        ("session_start", subjects.session_rate[subject]),
        ("purchase", subjects.purchase_rate[subject]),
    ):
        # Inhomogeneous Poisson process by thinning: draw at the highest rate, keep an
        # event with probability (rate at its time) / (highest rate).
        ceiling = MAX_MULTIPLIER[event_name]
        n_events = rng.poisson(rate * ceiling * PERIOD_DAYS)
        days = np.sort(rng.random(n_events) * PERIOD_DAYS)
        keep_draws = rng.random(n_events)
        values = rng.exponential(subjects.purchase_value_mean[subject], size=n_events)
        null_draws = rng.random(n_events)
        for day, keep_draw, value, null_draw in zip(
            days, keep_draws, values, null_draws, strict=True
        ):
            if keep_draw >= _multiplier(effects, event_name, day) / ceiling:
                continue
            if event_name == "purchase" and null_draw >= NULL_VALUE_SHARE:
                value_field = f"{value:.2f}"
            else:
                value_field = ""  # sessions carry no value; some purchases lost theirs
            rows.append(
                (
                    subjects.ids[subject],
                    event_name,
                    _timestamp(day),
                    value_field,
                    subjects.country[subject],
                )
            )
    return rows


def _multiplier(effects: list[Effect], event_name: str, day: float) -> float:
    """The product of the effects on ``event_name`` that have started by ``day``."""
    multiplier = 1.0
    for exposure_day, effect_event, effect in effects:
        if effect_event == event_name and day >= exposure_day:
            multiplier *= effect
    return multiplier


TICKET_RATE_PER_SESSION = 0.08
TICKET_CHANNELS = ("chat", "email", "phone")


def generate_support_tickets(seed: int = SEED) -> list[tuple]:
    """Support tickets, from the subjects' session rates (the same draws as ``generate``)."""
    rng = np.random.default_rng(seed)
    n_total = N_SUBJECTS + N_UNASSIGNED_SUBJECTS
    session_rate = rng.gamma(shape=1.5, scale=SESSION_RATE_PER_DAY / 1.5, size=n_total)
    tickets = np.random.default_rng(seed + 2)
    rows = []
    for subject in range(n_total):
        n_tickets = tickets.poisson(session_rate[subject] * TICKET_RATE_PER_SESSION * PERIOD_DAYS)
        for day in np.sort(tickets.random(n_tickets) * PERIOD_DAYS):
            minutes = tickets.gamma(shape=2.0, scale=30.0)
            channel = TICKET_CHANNELS[tickets.choice(len(TICKET_CHANNELS), p=[0.5, 0.3, 0.2])]
            rows.append((f"s{subject + 1:05d}", _timestamp(day), f"{minutes:.1f}", channel))
    rows.sort()
    return rows


EVENT_COLUMNS = ("subject_id", "event_name", "event_at", "value", "country")
TICKET_COLUMNS = ("user_id", "opened_at", "minutes_to_resolve", "channel")
ASSIGNMENT_COLUMNS = (
    "subject_id",
    "experiment_id",
    "variant_id",
    "assigned_at",
    "platform",
    "country",
)


def write_csv(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("seeds/demo"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    assignments, events = generate(args.seed)
    write_csv(args.out_dir / "demo_assignments.csv", ASSIGNMENT_COLUMNS, assignments)
    write_csv(args.out_dir / "demo_events.csv", EVENT_COLUMNS, events)
    tickets = generate_support_tickets(args.seed)
    write_csv(args.out_dir / "demo_support_tickets.csv", TICKET_COLUMNS, tickets)
    print(
        f"wrote {len(assignments)} assignment rows, {len(events)} event rows and "
        f"{len(tickets)} support tickets to {args.out_dir}"
    )


if __name__ == "__main__":
    main()
