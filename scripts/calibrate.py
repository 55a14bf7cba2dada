"""Calibration by simulation: false-positive rate and interval coverage at alpha = 0.05.

Simulates many experiments with a fixed seed, builds each arm's sufficient statistics day by
day (cumulative), and runs the project's own tests on them, vectorised over runs:

- A/A, fixed horizon: how often p < 0.05 on the last day (unadjusted and CUPED).
- A/B with a real effect: how often the 95% intervals (absolute and relative, unadjusted and
  CUPED) contain the true effect.
- A/A, daily peeking for 14 days: how often *any* day shows p < 0.05, with the fixed-horizon
  p-value (inflated) and with the always-valid sequential p-value (should stay <= 5%).
- A/B, daily peeking: how often the interval contains the true effect on *every* day, for
  the fixed-horizon interval (too often wrong) and the sequential one (should be >= 95%).
- A/A, daily peeking at the *verdict*: the whole analysis step (analysis.analyze, two
  metrics per experiment, Holm) run every day on the mart's rows; how often any day's
  verdict is better or worse, with analysis.sequential false (inflated) and true (<= 5%).

    python scripts/calibrate.py            # prints a Markdown table (docs/calibration.md)

tests/simulation/test_calibration.py runs the same simulation and checks the figures.
"""

from __future__ import annotations

import argparse
from datetime import datetime

import numpy as np
import pandas as pd

from analysis_py.config import parse_config
from analysis_py.marts import RATIO_SUM_COLUMNS
from analysis_py.pipeline.comparisons import analyze
from analysis_py.stats import sequential
from analysis_py.stats.sufficient_statistics import SufficientStatistics
from analysis_py.stats.ttest import cuped_test, unadjusted_test

DAYS = 14
SUBJECTS_PER_DAY_PER_ARM = 100
EFFECT = 0.15  # absolute effect in the A/B runs
ALPHA = 0.05
TUNING = 5000.0


def _daily_sums(rng: np.random.Generator, runs: int, effect: float) -> SufficientStatistics:
    """Cumulative sums per run and day, shape (runs, DAYS), for one arm."""
    shape = (runs, DAYS, SUBJECTS_PER_DAY_PER_ARM)
    x = rng.gamma(2.0, 1.0, size=shape)  # skewed pre-exposure covariate
    y = 1.0 + 0.8 * x + rng.exponential(1.0, size=shape) + effect
    daily = [v.sum(axis=2) for v in (np.ones(shape), y, y * y, x, x * x, x * y)]
    return SufficientStatistics(*(np.cumsum(v, axis=1) for v in daily))


def _day(stats_: SufficientStatistics, day: int) -> SufficientStatistics:
    return SufficientStatistics(
        *(
            getattr(stats_, f)[:, day]
            for f in ("n", "sum_y", "sum_y_squares", "sum_x", "sum_x_squares", "sum_xy")
        )
    )


SUM_FIELDS = ("n", "sum_y", "sum_y_squares", "sum_x", "sum_x_squares", "sum_xy")
METRICS = ("revenue", "sessions")


def _peeking_config(runs: int, sequential_on: bool):
    """One experiment per run, two metrics (a Holm family of two), sequential or not."""
    metrics = [
        {
            "id": m,
            "event_name": m,
            "aggregation": "sum",
            "window": {"start_day": 0, "end_day": DAYS},
        }
        for m in METRICS
    ]
    experiments = [
        {
            "id": f"run{r}",
            "variants": ["control", "treatment"],
            "control": "control",
            "traffic": {"control": 0.5, "treatment": 0.5},
            "metrics": {"primary": list(METRICS)},
            "lookback_days": DAYS,
            "confidence_level": 1 - ALPHA,
            "analysis": {
                "multiple_testing": "holm",
                "sequential": sequential_on,
                "sequential_tuning": TUNING,
            },
        }
        for r in range(runs)
    ]
    return parse_config({"metrics": metrics, "experiments": experiments}, "calibration")


def _mart(config, arms: dict[tuple[str, str], SufficientStatistics], day: int) -> pd.DataFrame:
    """The statistics mart's rows on one day: every run, arm and metric."""
    runs = len(config.experiments)
    frames = []
    for (variant, metric), sums in arms.items():
        frame = pd.DataFrame({f: getattr(sums, f)[:, day] for f in SUM_FIELDS})
        frame.insert(0, "experiment_id", [f"run{r}" for r in range(runs)])
        frame["variant_id"], frame["metric_id"] = variant, metric
        frame["is_control"] = variant == "control"
        frame["expected_share"] = 0.5
        frame["n_with_pre_exposure_events"] = frame["n"]
        frame["n_multi_variant_subjects"] = frame["n_unknown_variant_subjects"] = 0
        for column in RATIO_SUM_COLUMNS:
            frame[column] = np.nan
        frame["config_hash"] = config.hash
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def peeking_at_the_verdict(rng: np.random.Generator, runs: int) -> dict[str, float]:
    """A/A: share of runs whose verdict is better or worse on any of the DAYS daily looks.

    The verdicts come from the analysis step itself, fixed-horizon and sequential.
    """
    arms = {
        (variant, metric): _daily_sums(rng, runs, 0.0)
        for variant in ("control", "treatment")
        for metric in METRICS
    }
    figures = {}
    for name, sequential_on in (("fixed_horizon", False), ("sequential", True)):
        config = _peeking_config(runs, sequential_on)
        any_decision = np.zeros(runs, dtype=bool)
        for day in range(DAYS):
            results = analyze(
                _mart(config, arms, day), config, "calibration", datetime(2026, 1, 1)
            ).results
            decided = results["verdict"].isin(["better", "worse"]).to_numpy()
            run = results["experiment_id"].str.slice(3).astype(int).to_numpy()
            any_decision[run[decided]] = True
        figures[f"aa_daily_peeking_fpr_verdict_{name}"] = float(np.mean(any_decision))
    return figures


def simulate(runs: int = 4000, seed: int = 20261126) -> dict[str, float]:
    """The calibration figures (fractions), from ``runs`` simulated experiments per design."""
    rng = np.random.default_rng(seed)
    figures: dict[str, float] = {}

    # A/A: fixed horizon and daily peeking.
    control, treatment = _daily_sums(rng, runs, 0.0), _daily_sums(rng, runs, 0.0)
    naive_any = np.zeros(runs, dtype=bool)
    sequential_any = np.zeros(runs, dtype=bool)
    for day in range(DAYS):
        c, t = _day(control, day), _day(treatment, day)
        plain = unadjusted_test(c, t, 1 - ALPHA)
        cuped = cuped_test(c, t, 1 - ALPHA)
        naive_any |= cuped.p_value < ALPHA
        sequential_any |= (
            sequential.p_value(
                cuped.absolute_effect, cuped.absolute_effect_std_error, c.n + t.n, ALPHA, TUNING
            )
            < ALPHA
        )
    figures["aa_fixed_horizon_fpr_unadjusted"] = float(np.mean(plain.p_value < ALPHA))
    figures["aa_fixed_horizon_fpr_cuped"] = float(np.mean(cuped.p_value < ALPHA))
    figures["aa_daily_peeking_fpr_fixed_horizon_p"] = float(np.mean(naive_any))
    figures["aa_daily_peeking_fpr_sequential_p"] = float(np.mean(sequential_any))

    # A/B: coverage of the true effect, at every daily look and on the final day.
    control, treatment = _daily_sums(rng, runs, 0.0), _daily_sums(rng, runs, EFFECT)
    naive_always = np.ones(runs, dtype=bool)
    sequential_always = np.ones(runs, dtype=bool)
    for day in range(DAYS):
        c, t = _day(control, day), _day(treatment, day)
        cuped = cuped_test(c, t, 1 - ALPHA)
        naive_always &= (cuped.absolute_effect_ci_lower <= EFFECT) & (
            EFFECT <= cuped.absolute_effect_ci_upper
        )
        half = sequential.half_width(cuped.absolute_effect_std_error, c.n + t.n, ALPHA, TUNING)
        sequential_always &= np.abs(cuped.absolute_effect - EFFECT) <= half
    figures["ab_daily_peeking_coverage_fixed_horizon_ci"] = float(np.mean(naive_always))
    figures["ab_daily_peeking_coverage_sequential_ci"] = float(np.mean(sequential_always))
    true_mean = 1.0 + 0.8 * 2.0 + 1.0  # E[y] in control
    true_relative = EFFECT / true_mean
    for name, estimate in (
        ("unadjusted", unadjusted_test(c, t, 1 - ALPHA)),
        ("cuped", cuped_test(c, t, 1 - ALPHA)),
    ):
        figures[f"ab_coverage_absolute_{name}"] = float(
            np.mean(
                (estimate.absolute_effect_ci_lower <= EFFECT)
                & (EFFECT <= estimate.absolute_effect_ci_upper)
            )
        )
        figures[f"ab_coverage_relative_{name}"] = float(
            np.mean(
                (estimate.relative_effect_ci_lower <= true_relative)
                & (true_relative <= estimate.relative_effect_ci_upper)
            )
        )
    figures["ab_power_unadjusted"] = float(np.mean(unadjusted_test(c, t, 0.95).p_value < ALPHA))
    figures["ab_power_cuped"] = float(np.mean(cuped_test(c, t, 0.95).p_value < ALPHA))
    figures |= peeking_at_the_verdict(rng, runs)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    figures = simulate(args.runs, args.seed)
    half_width = 1.96 * np.sqrt(0.05 * 0.95 / args.runs)
    print(
        f"{args.runs} simulated experiments per design, seed {args.seed}, {DAYS} days, "
        f"{SUBJECTS_PER_DAY_PER_ARM} subjects per arm per day; a rate of 5% is resolved to "
        f"±{half_width * 100:.1f} percentage points (95%).\n"
    )
    print("| figure | value |\n|---|---|")
    for name, value in figures.items():
        print(f"| {name} | {value * 100:.1f}% |")


if __name__ == "__main__":
    main()
