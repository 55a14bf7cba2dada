"""`xp plan` on a warehouse: the history's figures against pandas, the sizes against statsmodels.

Two histories: the demo's (figures recomputed with pandas from the seed CSVs), and a
generated one whose true mean, variance and correlation are known.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower

from analysis_py.cli import main
from tests.conftest import REPO, SEEDS

HISTORY_END = "2026-04-10"
#: Pseudo-exposures: 14 history days ending 14 days (revenue's window) before the end.
EXPOSURES = (pd.Timestamp("2026-03-13"), pd.Timestamp("2026-03-27"))
EXACT = 1e-9  # same data, different order of floating-point sums


def _plan(
    project: Path, database: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> pd.DataFrame:
    monkeypatch.setenv("XP_DUCKDB_PATH", str(database))
    assert main(["plan", "--project-dir", str(project), "--history-end", HISTORY_END, *args]) == 0
    with duckdb.connect(str(database)) as connection:
        return connection.execute("select * from experiment_plan").df().set_index("metric_id")


def _pandas_purchases(assignments: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per subject first assigned in the history days: revenue and purchases.

    Revenue in the 14 days after (y) and before (x), purchases in the same windows (d, w).
    """
    assignments = assignments.assign(assigned_at=pd.to_datetime(assignments.assigned_at))
    inside = assignments[assignments.assigned_at.between(*EXPOSURES, inclusive="left")]
    exposed = inside.groupby("subject_id").assigned_at.min().rename("at").reset_index()
    purchases = events[events.event_name == "purchase"].assign(
        event_at=pd.to_datetime(events.event_at)
    )
    joined = exposed.merge(purchases, on="subject_id", how="left")
    since = joined.event_at - joined["at"]
    day = pd.Timedelta(days=1)
    window = (since >= 0 * day) & (since < 14 * day)
    lookback = (since < 0 * day) & (since >= -14 * day)
    joined["y"] = joined.value.where(window, 0.0)
    joined["x"] = joined.value.where(lookback, 0.0)
    joined["d"] = window.astype(float)
    joined["w"] = lookback.astype(float)
    columns = ["y", "x", "d", "w"]
    return joined.fillna(dict.fromkeys(columns, 0.0)).groupby("subject_id")[columns].sum()


def _statsmodels_subjects(variance: float, mean: float, row: pd.Series) -> float:
    """Total subjects from statsmodels' NormalIndPower for the relative test.

    The lift's variance σ²/μ² (1/n_c + (1+r)²/n_t) is a two-sample test with effect size
    r μ / σ and ratio n_t / (n_c (1+r)²); the total is nobs1 / w_c.
    """
    r = row.target_relative_effect
    nobs1 = NormalIndPower().solve_power(
        effect_size=r * mean / np.sqrt(variance),
        alpha=row.alpha,
        power=row.power,
        ratio=row.treatment_share / (row.control_share * (1 + r) ** 2),
    )
    return nobs1 / row.control_share


def test_demo_plan_matches_pandas_and_statsmodels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(REPO, tmp_path / "plan.duckdb", monkeypatch, "--experiment", "checkout_redesign")
    subjects = _pandas_purchases(
        pd.read_csv(SEEDS / "demo_assignments.csv"), pd.read_csv(SEEDS / "demo_events.csv")
    )
    row = plan.loc["revenue"]
    assert row.history_subjects == len(subjects)
    assert row.history_from == EXPOSURES[0] and row.history_to == EXPOSURES[1]
    assert row.baseline_mean == pytest.approx(subjects.y.mean(), rel=EXACT)
    assert row.baseline_variance == pytest.approx(subjects.y.var(ddof=1), rel=EXACT)
    rho = subjects.y.corr(subjects.x)
    assert row.cuped_variance_reduction == pytest.approx(rho**2, rel=1e-7)
    # Holm over 8 primary and secondary metrics × 1 treatment, at Bonferroni's bound.
    assert row.family_size == 8 and row.alpha == pytest.approx(0.05 / 8)
    assert plan.loc["sessions"].alpha == pytest.approx(0.05)  # a guardrail: no correction
    # statsmodels solves numerically: the rounded-up totals agree within one subject.
    for column, variance in [
        ("subjects_needed", row.baseline_variance),
        ("cuped_subjects_needed", row.baseline_variance * (1 - rho**2)),
    ]:
        expected = _statsmodels_subjects(variance, row.baseline_mean, row)
        assert abs(row[column] - expected) <= 1.0, (column, row[column], expected)
    daily = len(subjects) / 14
    assert row.daily_subjects == pytest.approx(daily)
    assert row.days_needed == int(np.ceil(row.subjects_needed / daily))
    _assert_ratio_matches_linearisation(plan.loc["average_order_value"], subjects)


def test_a_launch_date_does_not_bound_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proposed experiment often has its launch date already: the plan still reads the past.

    With every experiment dated after the history, the scans' phase bounds would leave the
    plan no events at all.
    """
    config = (REPO / "experiments.yml").read_text()
    dated = config.replace(
        "  - id: checkout_redesign\n", "  - id: checkout_redesign\n    start_at: 2026-06-01\n"
    ).replace("  - id: onboarding_flow\n", "  - id: onboarding_flow\n    start_at: 2026-06-01\n")
    assert dated.count("start_at: 2026-06-01") == 2
    (tmp_path / "dated.yml").write_text(dated)
    plan = _plan(
        REPO, tmp_path / "plan.duckdb", monkeypatch,
        "--config", str(tmp_path / "dated.yml"), "--experiment", "checkout_redesign",
    )  # fmt: skip
    subjects = _pandas_purchases(
        pd.read_csv(SEEDS / "demo_assignments.csv"), pd.read_csv(SEEDS / "demo_events.csv")
    )
    row = plan.loc["revenue"]
    assert row.history_subjects == len(subjects)
    assert subjects.y.mean() > 0
    assert row.baseline_mean == pytest.approx(subjects.y.mean(), rel=EXACT)


def _assert_ratio_matches_linearisation(row: pd.Series, subjects: pd.DataFrame) -> None:
    """Average order value, revenue / purchases, against its linearisation in pandas.

    The delta method's n·Var(ȳ/d̄) is the variance of the per-subject linearised values
    (y - R d) / d̄, and ratio CUPED's ρ their correlation with the covariate ratio's
    (x - R_x w) / w̄ (Deng et al. 2013, appendix B): computed here from subject rows, in
    the plan from the mart's sums.
    """
    ratio, covariate_ratio = (
        subjects.y.mean() / subjects.d.mean(),
        (subjects.x.mean() / subjects.w.mean()),
    )
    linear = (subjects.y - ratio * subjects.d) / subjects.d.mean()
    linear_x = (subjects.x - covariate_ratio * subjects.w) / subjects.w.mean()
    assert row.status == "ok" and row.history_subjects == len(subjects)
    assert row.baseline_mean == pytest.approx(ratio, rel=EXACT)
    assert row.baseline_variance == pytest.approx(linear.var(ddof=1), rel=EXACT)
    rho = linear.corr(linear_x)
    assert row.covariate_correlation == pytest.approx(rho, rel=1e-7)
    expected = _statsmodels_subjects(linear.var(ddof=1) * (1 - rho**2), ratio, row)
    assert abs(row.cuped_subjects_needed - expected) <= 1.0


CONFIG = """\
metrics:
  - id: revenue
    event_name: purchase
    aggregation: sum
    window: {start_day: 0, end_day: 14}
experiments:
  - id: proposed
    variants: [control, treatment]
    control: control
    traffic: {control: 0.6, treatment: 0.4}
    metrics: [revenue]
    lookback_days: 14
    analysis: {multiple_testing: none, target_relative_effect: 0.02, power: 0.9}
    plan: {history_days: 14, population_experiments: [past]}
"""
TRUE_MEAN, TRUE_SD, PRE_MEAN, PRE_SD, TRUE_RHO = 20.0, 5.0, 10.0, 3.0, 0.6
N_SUBJECTS = 6000


def _generated_project(tmp_path: Path) -> Path:
    """The project with generated seeds: one purchase in the window of known (x, y) law."""
    project = tmp_path / "project"
    shutil.copytree(
        REPO,
        project,
        ignore=shutil.ignore_patterns(
            "target", "logs", ".venv", "*.duckdb", ".git", "tests", "docs", "dbt_packages"
        ),
    )
    rng = np.random.default_rng(20260410)
    z = rng.multivariate_normal([0, 0], [[1, TRUE_RHO], [TRUE_RHO, 1]], N_SUBJECTS)
    y, x = TRUE_MEAN + TRUE_SD * z[:, 0], PRE_MEAN + PRE_SD * z[:, 1]
    ids = [f"g{i:05d}" for i in range(N_SUBJECTS)]
    seconds = rng.integers(0, 14 * 86400, N_SUBJECTS)
    assigned = EXPOSURES[0] + pd.to_timedelta(seconds, unit="s")
    # A tenth belong to another experiment: outside the population.
    experiment = np.where(np.arange(N_SUBJECTS) % 10 == 0, "other", "past")
    seeds = project / "seeds" / "demo"
    pd.DataFrame(
        {
            "subject_id": ids,
            "experiment_id": experiment,
            "variant_id": "control",
            "assigned_at": assigned,
            "platform": "web",
            "country": "US",
        }
    ).to_csv(seeds / "demo_assignments.csv", index=False)
    pd.DataFrame(
        {
            "subject_id": ids * 2,
            "event_name": "purchase",
            "event_at": list(assigned + pd.Timedelta(days=3))
            + list(assigned - pd.Timedelta(days=3)),
            "value": np.concatenate([y, x]),
            "country": "US",
        }
    ).to_csv(seeds / "demo_events.csv", index=False)
    (project / "experiments.yml").write_text(textwrap.dedent(CONFIG))
    return project


def test_generated_history_recovers_the_true_moments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _generated_project(tmp_path)
    row = _plan(project, tmp_path / "plan.duckdb", monkeypatch).loc["revenue"]
    n = N_SUBJECTS - N_SUBJECTS // 10
    assert row.history_subjects == n
    # Tolerances: 4 standard errors of each estimate at n = 5,400.
    assert row.baseline_mean == pytest.approx(TRUE_MEAN, abs=4 * TRUE_SD / np.sqrt(n))
    assert row.baseline_variance == pytest.approx(TRUE_SD**2, abs=4 * TRUE_SD**2 * np.sqrt(2 / n))
    assert row.covariate_correlation == pytest.approx(
        TRUE_RHO, abs=4 * (1 - TRUE_RHO**2) / np.sqrt(n)
    )
    # The sizes at the true moments, from statsmodels, within the moments' error (10%).
    for column, variance in [
        ("subjects_needed", TRUE_SD**2),
        ("cuped_subjects_needed", TRUE_SD**2 * (1 - TRUE_RHO**2)),
    ]:
        expected = _statsmodels_subjects(variance, TRUE_MEAN, row)
        assert row[column] == pytest.approx(expected, rel=0.10), column
    assert row.alpha == pytest.approx(0.05) and row.control_share == pytest.approx(0.6)
    assert row.daily_subjects == pytest.approx(n / 14)
