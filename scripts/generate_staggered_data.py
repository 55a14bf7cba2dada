"""Write a second data set for the report, with the experiment config that analyses it.

Staggered enrolment, three arms and a failed sample-ratio check.

Deterministic (one seed). Run from the repository root:

    python scripts/generate_staggered_data.py --out-dir /tmp/staggered

What the data holds, on purpose:

- ``pricing_page``: 3 arms (40/30/30). Enrolment ramps up over its first week, so the first
  days have a few dozen subjects per arm and intervals hundreds of percent wide.
  ``discount_20`` raises the purchase rate by 35% and lowers the purchase value by 20%;
  ``discount_10`` raises the purchase rate by 10%.
- ``search_ranking``: 2 arms configured 50/50, but a logging bug drops 15% of the
  treatment's exposures: the sample-ratio check fails and every verdict is withheld.
- Every subject has a persistent activity level, so CUPED has something to work with.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

SEED = 20261201
PERIOD_START = datetime(2026, 5, 1)
PERIOD_DAYS = 60
#: After every metric window has ended.
ANALYSIS_AT = "2026-07-01T00:00"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
PLATFORMS = ("web", "ios", "android")
PLATFORM_WEIGHTS = (0.5, 0.3, 0.2)

CONFIG = """\
metrics:
  - id: purchased
    display_name: Purchased
    description: 1 if the subject purchased in the first 14 days, else 0.
    event_name: purchase
    aggregation: conversion
    window: {start_day: 0, end_day: 14}
  - id: revenue
    display_name: Revenue
    description: Sum of purchase values in the first 14 days after first exposure.
    event_name: purchase
    aggregation: sum
    window: {start_day: 0, end_day: 14}
  - id: purchases
    display_name: Purchases
    description: Number of purchases in the first 14 days.
    event_name: purchase
    aggregation: count
    window: {start_day: 0, end_day: 14}
  - id: sessions
    display_name: Sessions
    description: Number of sessions in the first 14 days.
    event_name: session_start
    aggregation: count
    window: {start_day: 0, end_day: 14}
  - id: average_order_value
    display_name: Average order value
    description: Revenue per purchase (ratio of means).
    aggregation: ratio
    numerator: revenue
    denominator: purchases
experiments:
  - id: pricing_page
    description: Two discounts on the pricing page against the list price, enrolment ramped up
      over the first week.
    variants: [control, discount_10, discount_20]
    control: control
    traffic: {control: 0.4, discount_10: 0.3, discount_20: 0.3}
    metrics:
      primary: [purchased, revenue]
      secondary: [purchases, average_order_value]
      guardrail: [sessions]
    lookback_days: 14
    dimensions: [platform]
    analysis:
      noninferiority_margin: 0.05
  - id: search_ranking
    description: A new search ranking model; its exposure logging drops events.
    variants: [control, treatment]
    control: control
    traffic: {control: 0.5, treatment: 0.5}
    metrics:
      primary: [sessions]
      secondary: [purchased]
    lookback_days: 14
    dimensions: [platform]
"""


@dataclass(frozen=True)
class Arm:
    """One variant: its configured share, and what it does to purchases after exposure."""

    variant: str
    share: float
    purchase_rate: float = 1.0
    purchase_value: float = 1.0
    #: Share of its exposures that reach the log (a logging bug loses the rest).
    logged: float = 1.0


@dataclass(frozen=True)
class Experiment:
    """An experiment's arms and enrolment: days after PERIOD_START, and the ramp-up."""

    experiment_id: str
    arms: tuple[Arm, ...]
    subjects: int
    start_day: int
    enrolment_days: int
    ramp_days: float


EXPERIMENTS = (
    Experiment(
        "pricing_page",
        (
            Arm("control", 0.4),
            Arm("discount_10", 0.3, purchase_rate=1.10),
            Arm("discount_20", 0.3, purchase_rate=1.35, purchase_value=0.8),
        ),
        subjects=3600,
        start_day=14,
        enrolment_days=21,
        ramp_days=6.0,
    ),
    Experiment(
        "search_ranking",
        (Arm("control", 0.5), Arm("treatment", 0.5, logged=0.85)),
        subjects=1800,
        start_day=17,
        enrolment_days=14,
        ramp_days=0.0,
    ),
)


def _timestamps(days: np.ndarray) -> list[str]:
    # Whole seconds: every engine then agrees on window boundaries.
    return [
        (PERIOD_START + timedelta(seconds=int(day * 86400))).strftime(TIMESTAMP_FORMAT)
        for day in days.tolist()
    ]


def _enrolment_days(rng: np.random.Generator, experiment: Experiment) -> np.ndarray:
    """Exposure times: a linear ramp from 10% to full traffic over ``ramp_days``."""
    grid = np.linspace(0, experiment.enrolment_days, 2000)
    rate = (
        np.minimum(1.0, 0.1 + grid / experiment.ramp_days) if experiment.ramp_days else grid * 0 + 1
    )
    cumulative = np.cumsum(rate) / rate.sum()
    return experiment.start_day + np.interp(rng.random(experiment.subjects), cumulative, grid)


def _events(
    rng: np.random.Generator,
    rate: np.ndarray,
    exposure: np.ndarray,
    multiplier: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(subject index, day) of each event of a Poisson process per subject.

    Its rate is multiplied after exposure (by thinning from the highest rate).
    """
    ceiling = np.maximum(multiplier, 1.0)
    counts = rng.poisson(rate * ceiling * PERIOD_DAYS)
    subject = np.repeat(np.arange(rate.size), counts)
    day = rng.random(subject.size) * PERIOD_DAYS
    after = day >= exposure[subject]
    keep_probability = np.where(after, multiplier[subject], 1.0) / ceiling[subject]
    keep = rng.random(subject.size) < keep_probability
    return subject[keep], day[keep]


def generate(seed: int = SEED) -> tuple[list[tuple], list[tuple]]:
    """Return (assignment rows, event rows), each sorted, as tuples of CSV fields."""
    rng = np.random.default_rng(seed)
    assignments: list[tuple] = []
    events: list[tuple] = []
    for number, experiment in enumerate(EXPERIMENTS):
        n = experiment.subjects
        ids = np.array([f"{experiment.experiment_id[0]}{number}{i:05d}" for i in range(n)])
        arm = rng.choice(len(experiment.arms), size=n, p=[a.share for a in experiment.arms])
        exposure = _enrolment_days(rng, experiment)
        platform = rng.choice(PLATFORMS, size=n, p=PLATFORM_WEIGHTS)
        logged = rng.random(n) < np.array([a.logged for a in experiment.arms])[arm]
        for i in np.flatnonzero(logged).tolist():
            assignments.append(
                (
                    ids[i],
                    experiment.experiment_id,
                    experiment.arms[arm[i]].variant,
                    _timestamps(exposure[i : i + 1])[0],
                    platform[i],
                    "US",
                )
            )
        session_rate = rng.gamma(1.5, 0.25 / 1.5, size=n)
        purchase_rate = rng.gamma(1.0, 0.05, size=n)
        value_mean = rng.lognormal(np.log(40.0), 0.4, size=n)
        rate_effect = np.array([a.purchase_rate for a in experiment.arms])[arm]
        value_effect = np.array([a.purchase_value for a in experiment.arms])[arm]
        subject, day = _events(rng, session_rate, exposure, np.ones(n))
        events += zip(
            ids[subject],
            ["session_start"] * subject.size,
            _timestamps(day),
            [""] * subject.size,
            ["US"] * subject.size,
            strict=True,
        )
        subject, day = _events(rng, purchase_rate, exposure, rate_effect)
        value = rng.exponential(value_mean[subject]) * np.where(
            day >= exposure[subject], value_effect[subject], 1.0
        )
        events += zip(
            ids[subject],
            ["purchase"] * subject.size,
            _timestamps(day),
            [f"{v:.2f}" for v in value.tolist()],
            ["US"] * subject.size,
            strict=True,
        )
    assignments.sort()
    events.sort()
    return assignments, events


ASSIGNMENT_COLUMNS = (
    "subject_id",
    "experiment_id",
    "variant_id",
    "assigned_at",
    "platform",
    "country",
)
EVENT_COLUMNS = ("subject_id", "event_name", "event_at", "value", "country")


def write_csv(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write(out_dir: Path, seed: int = SEED) -> None:
    """The assignments, the events and the config (experiments.yml) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    assignments, events = generate(seed)
    write_csv(out_dir / "assignments.csv", ASSIGNMENT_COLUMNS, assignments)
    write_csv(out_dir / "events.csv", EVENT_COLUMNS, events)
    (out_dir / "experiments.yml").write_text(CONFIG)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    write(args.out_dir, args.seed)
    print(f"wrote assignments.csv, events.csv and experiments.yml to {args.out_dir}")


if __name__ == "__main__":
    main()
