"""The whole pipeline on the demo data, through the `xp` command, and its failure modes."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis_py.cli import main
from analysis_py.presentation.labels import VERDICT_LABEL, ordered_results
from analysis_py.presentation.summary import format_summary
from analysis_py.result_tables import TABLES, column_names
from tests.conftest import REPO, DemoRun, n_comparisons
from tests.integration.engines.faults import fail_statement, inserts_into
from tests.tables import TABLE_KEYS, assert_tables_agree


def test_results_have_one_row_per_experiment_metric_and_treatment(demo_run: DemoRun) -> None:
    results = demo_run.query("select * from experiment_results")
    expected = {
        (e.id, m, t) for e in demo_run.config.experiments for m in e.metrics for t in e.treatments
    }
    keys = list(
        zip(results.experiment_id, results.metric_id, results.treatment_variant_id, strict=True)
    )
    assert len(keys) == len(set(keys)) == len(expected) == n_comparisons(demo_run.config) == 24
    assert set(keys) == expected
    assert list(results.columns) == column_names("experiment_results")
    assert results.run_id.nunique() == 1
    assert (results.status == "ok").all()
    for prefix in ("", "cuped_"):
        assert results[f"{prefix}p_value"].between(0, 1).all()
        assert (
            results[f"{prefix}absolute_effect_ci_lower"]
            < results[f"{prefix}absolute_effect_ci_upper"]
        ).all()


def test_results_carry_the_statistics_they_come_from(demo_run: DemoRun) -> None:
    joined = demo_run.query("""
        select r.treatment_n, s.n, r.treatment_sum_xy, s.sum_xy
        from experiment_results as r
        inner join fct_variant_metric_statistics as s
            on r.experiment_id = s.experiment_id and r.metric_id = s.metric_id
            and r.treatment_variant_id = s.variant_id""")
    assert len(joined) == n_comparisons(demo_run.config)
    assert (joined.treatment_n == joined.n).all()
    assert (joined.treatment_sum_xy == joined.sum_xy).all()


def test_demo_shows_its_planted_effects(demo_run: DemoRun) -> None:
    results = demo_run.query("select * from experiment_results").set_index(
        ["experiment_id", "metric_id", "treatment_variant_id"]
    )
    purchases = results.loc[("checkout_redesign", "purchases", "treatment")]
    assert purchases.cuped_p_value < 0.05 and purchases.cuped_relative_effect > 0
    # Activity persists, so the pre-exposure covariate predicts sessions well.
    sessions = results.loc[("checkout_redesign", "sessions", "treatment")]
    assert sessions.cuped_variance_reduction > 0.3
    diagnostics = demo_run.query("select * from experiment_diagnostics")
    assert list(diagnostics.columns) == column_names("experiment_diagnostics")
    assert sorted(diagnostics.experiment_id) == ["checkout_redesign", "onboarding_flow"]
    assert (diagnostics.srm_status == "ok").all()
    assert (diagnostics.n_multi_variant_subjects > 0).all()


def test_failed_write_keeps_previous_results(
    demo_run: DemoRun,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(demo_run.path, copy)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(copy))
    before = DemoRun(copy, demo_run.config).query("select * from experiment_results")

    def real_error(manager, add_query) -> None:
        add_query(manager, "select * from no_such_table", auto_begin=False)  # DuckDB's own

    with monkeypatch.context() as fault:
        fail_statement(fault, inserts_into("experiment_diagnostics"), real_error)
        assert main(["analyze", "--project-dir", str(REPO)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("xp: error: writing the result tables failed, previous results kept")
    after = DemoRun(copy, demo_run.config).query("select * from experiment_results")
    assert after.run_id.tolist() == before.run_id.tolist()
    assert len(after) == len(before)

    assert main(["analyze", "--project-dir", str(REPO)]) == 0
    rerun = DemoRun(copy, demo_run.config).query("select * from experiment_results")
    assert rerun.run_id.nunique() == 1 and rerun.run_id[0] != before.run_id[0]


@pytest.mark.slow
def test_a_warehouse_with_older_columns_asks_for_a_full_refresh(
    demo_run: DemoRun,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """Incremental tables with other columns fail with what to run, and a full refresh fixes.

    A warehouse built by a version whose incremental tables had other columns (here: the
    first exposures without subject_key, as before 0007) fails with a one-line reason that
    says what to run, keeps its results, and is rebuilt by `xp run --full-refresh`; so do
    stored subject keys that the engine no longer hashes to. (The copy keeps the file's name:
    DuckDB names the database after it, and a source in another database would rebuild the
    incremental models by itself, decision 0009.)
    """
    copy = tmp_path / demo_run.path.name
    shutil.copy(demo_run.path, copy)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(copy))
    connection = duckdb.connect(str(copy))
    connection.execute("alter table int_exposures_deduplicated drop column subject_key")
    connection.close()
    before = DemoRun(copy, demo_run.config).query("select * from experiment_results")
    at = demo_run.analysis_at.isoformat()

    assert main(["run", "--project-dir", str(REPO), "--analysis-at", at]) == 1
    error = capsys.readouterr().err
    assert error.startswith(
        "xp: error: dbt build failed: int_exposures_deduplicated (error): its columns changed"
    )
    assert error.rstrip().endswith("rebuild once with `xp run --full-refresh`")
    after = DemoRun(copy, demo_run.config).query("select * from experiment_results")
    assert after.run_id.tolist() == before.run_id.tolist()

    assert main(["run", "--project-dir", str(REPO), "--analysis-at", at, "--full-refresh"]) == 0
    rebuilt = DemoRun(copy, demo_run.config).query("select * from experiment_results")
    assert_tables_agree(
        before,
        rebuilt,
        TABLE_KEYS["experiment_results"],
        "experiment_results",
        ignore=frozenset({"run_id"}),
    )

    # Stored subject keys that are no longer the engine's hash (as after an engine upgrade
    # that changed it) stop the run the same way, before any model reads them.
    connection = duckdb.connect(str(copy))
    connection.execute(
        "update int_exposures_deduplicated set subject_key = subject_key + 1 "
        "where subject_id in (select min(subject_id) "
        "from int_exposures_deduplicated)"
    )
    connection.close()
    assert main(["run", "--project-dir", str(REPO), "--analysis-at", at]) == 1
    error = capsys.readouterr().err
    assert error.startswith(
        "xp: error: dbt build failed: assert_subject_keys_are_their_hash "
        "(fail): the engine now hashes subjects to other keys"
    )
    assert error.rstrip().endswith("rebuild once with `xp run --full-refresh`")


def test_user_errors_give_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("XP_DUCKDB_PATH", str(tmp_path / "missing.duckdb"))
    assert main(["analyze", "--project-dir", str(REPO)]) == 1
    error = capsys.readouterr().err
    assert "missing.duckdb' (dbt target 'duckdb') does not exist" in error
    assert error.count("\n") == 1

    bad = tmp_path / "bad.yml"
    bad.write_text("metrics: []\nexperiments: []\n")
    assert main(["run", "--project-dir", str(REPO), "--config", str(bad)]) == 1
    assert capsys.readouterr().err == (
        f"xp: error: {bad}: key 'metrics': must be a non-empty list\n"
    )

    assert main(["analyze", "--project-dir", str(REPO), "--target", "nope"]) == 1
    targets = "duckdb, postgres, spark, spark_thrift, sqlfluff"
    assert f"has no target 'nope' (targets: {targets})" in capsys.readouterr().err


def test_dbt_failure_exits_1_without_touching_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("XP_DUCKDB_PATH", str(tmp_path / "no_such_dir" / "x.duckdb"))
    assert main(["run", "--project-dir", str(REPO)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("xp: error: dbt build failed")
    assert "Traceback" not in error


def test_dbt_vars_and_validate(capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", "--project-dir", str(REPO)]) == 0
    assert "2 experiments, 15 metrics, 24 comparisons: valid" in capsys.readouterr().out
    assert main(["dbt-vars", "--project-dir", str(REPO)]) == 0
    assert capsys.readouterr().out.startswith('{"xp_config": {"schema_version": 1')


def test_demo_carries_every_method_it_configures(demo_run: DemoRun) -> None:
    results = demo_run.query("select * from experiment_results").set_index(
        ["experiment_id", "metric_id", "treatment_variant_id"]
    )
    checkout = results.loc["checkout_redesign"]
    onboarding = results.loc["onboarding_flow"]
    # checkout_redesign: CUPED decides, Holm over 3 primary/secondary metrics, sequential on,
    # a non-inferiority margin on the guardrail.
    assert (checkout.decision_estimate == "cuped").all()
    assert checkout.cupedpp_p_value.isna().all()
    assert checkout.sequential_p_value.notna().all()
    sequential_width = (
        checkout.sequential_absolute_effect_ci_upper - checkout.sequential_absolute_effect_ci_lower
    )
    fixed_width = checkout.cuped_absolute_effect_ci_upper - checkout.cuped_absolute_effect_ci_lower
    assert (sequential_width > fixed_width).all()
    guardrail = checkout.loc[("sessions", "treatment")]
    assert guardrail.metric_role == "guardrail" and guardrail.multiple_testing_method == "none"
    assert guardrail.adjusted_p_value == guardrail.cuped_p_value
    assert guardrail.noninferiority_margin == 0.05 and guardrail.is_noninferior
    tickets = checkout.loc[("support_tickets", "treatment")]  # fewer is better
    assert tickets.metric_role == "guardrail" and tickets.metric_direction == "decrease"
    assert tickets.noninferiority_p_value > 0 and not tickets.is_noninferior
    others = checkout.drop([("sessions", "treatment"), ("support_tickets", "treatment")])
    assert (others.multiple_testing_method == "holm").all()
    assert (others.adjusted_p_value >= others.cuped_p_value).all()
    assert others.noninferiority_p_value.isna().all()
    # onboarding_flow: CUPED++ decides, BH, no sequential; its ratio metric uses ratio CUPED.
    is_ratio = onboarding.index.get_level_values("metric_id") == "purchases_per_session"
    assert (onboarding[~is_ratio].decision_estimate == "cuped++").all()
    assert onboarding[~is_ratio].cupedpp_p_value.notna().all()
    assert (onboarding[is_ratio].decision_estimate == "cuped").all()
    assert onboarding[is_ratio].cupedpp_p_value.isna().all()
    assert onboarding.sequential_p_value.isna().all()
    assert (onboarding.multiple_testing_method == "benjamini_hochberg").all()
    for frame in (checkout, onboarding):
        assert frame.bayes_chance_to_win.between(0, 1).all()
        assert (frame.power_minimum_detectable_relative_effect > 0).all()
    diagnostics = demo_run.query("select * from experiment_diagnostics").set_index("experiment_id")
    assert diagnostics.loc["onboarding_flow", "health_status"] == "ok"
    # eu_revenue, a sparse filtered metric, swings by more than 50%: the large-lift check
    # warns, and nothing else does.
    checkout = diagnostics.loc["checkout_redesign"]
    assert checkout.health_status == "warning" and checkout.large_lift_status == "warning"
    assert "'eu_revenue'" in checkout.large_lift_reason
    statuses = [
        checkout[c]
        for c in diagnostics.columns
        if c.endswith("_status") and c not in ("health_status", "large_lift_status")
    ]
    assert set(statuses) == {"ok"}


def test_summary_report_and_sql_give_the_same_verdicts(demo_run: DemoRun) -> None:
    results = demo_run.query("select * from experiment_results")
    diagnostics = demo_run.query("select * from experiment_diagnostics")
    summary = format_summary(results, diagnostics).splitlines()
    # Each comparison's summary line ends with its stored verdict, in the table's order.
    shown = [
        line.rsplit(" ", 2)[-1] if "no result" not in line else "no result"
        for line in summary
        if line.startswith("  ")
        and line.endswith(
            tuple(
                VERDICT_LABEL.get(v, v)
                for v in ("better", "worse", "inconclusive", "no_result", "unhealthy")
            )
        )
    ]
    expected = [
        VERDICT_LABEL.get(v, v)
        for e in diagnostics.experiment_id
        for v in ordered_results(results, e)["verdict"]
    ]
    assert shown == expected and len(shown) == len(results)
    # checkout_redesign is sequential: its verdicts read the Holm-adjusted always-valid
    # relative interval, which for revenue contains 0 (the fixed-horizon one does not).
    checkout = results[results.experiment_id == "checkout_redesign"].set_index("metric_id")
    assert (checkout.decision_method == "sequential").all()
    np.testing.assert_allclose(
        checkout.decision_ci_lower, checkout.sequential_relative_effect_ci_lower, rtol=1e-12
    )
    np.testing.assert_allclose(
        checkout.decision_p_value, checkout.sequential_relative_p_value, rtol=1e-12
    )
    revenue = checkout.loc["revenue"]
    assert revenue.verdict == "inconclusive" and revenue.adjusted_relative_effect_ci_lower > 0


def test_history_keeps_one_snapshot_per_date(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "history.duckdb"
    shutil.copy(demo_run.path, copy)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(copy))
    database = DemoRun(copy, demo_run.config)
    for stamp in ("2026-03-20T06:00", "2026-03-21T06:00", "2026-03-21T07:30"):
        database.built_for(stamp)
        assert main(["analyze", "--project-dir", str(REPO), "--analysis-at", stamp]) == 0
    history = database.query(
        "select *, strftime(analysis_date, '%Y-%m-%d') as day from experiment_results_history"
    )
    snapshots = history.groupby("day").run_id.unique()
    # The demo fixture's own run (today), then 03-20 and 03-21: the second 03-21 run
    # replaced the first one's snapshot rather than adding to it.
    assert {"2026-03-20", "2026-03-21"} <= set(snapshots.index)
    assert len(snapshots) == 3
    assert all(len(runs) == 1 for runs in snapshots)
    assert (history.groupby("day").size() == n_comparisons(database.config)).all()
    latest = database.query("select * from experiment_results")
    assert str(latest.analysis_at[0]) == "2026-03-21 07:30:00"
    assert latest.run_id.iloc[0] == snapshots.loc["2026-03-21"][0]
    # Same marts, same numbers: the latest results equal the previous snapshot's.
    previous = history[history.day == "2026-03-20"]
    for column in ("cuped_p_value", "adjusted_p_value", "bayes_chance_to_win"):
        assert sorted(latest[column]) == pytest.approx(sorted(previous[column]), rel=1e-12)
    # 2 experiments × 3 dates.
    assert len(database.query("select * from experiment_diagnostics_history")) == 6


def test_one_command_parses_the_project_once(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One parse serves the dbt calls of one `xp analyze`; the next command parses again.

    The calls: the preflight's macro, the connection (no call of its own) and the result
    tables' build. Parsing again per command means an edit between commands is seen.
    """
    from dbt.cli.main import dbtRunner

    copy = tmp_path / "parse-once.duckdb"
    shutil.copy(demo_run.path, copy)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(copy))
    calls: list[tuple[str, bool]] = []
    invoke = dbtRunner.invoke

    def recording(self: dbtRunner, args: list[str], **kwargs: object) -> object:
        calls.append((args[0], self.manifest is not None))
        return invoke(self, args, **kwargs)

    monkeypatch.setattr(dbtRunner, "invoke", recording)
    for _ in range(2):
        calls.clear()
        assert main(["analyze", "--project-dir", str(REPO)]) == 0
        assert calls == [("parse", False), ("run-operation", True), ("build", True)]


def test_history_written_by_an_earlier_version_gains_the_new_columns(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade's new result columns are added to the history tables instead of failing.

    The next run adds them (null in the older snapshots), and inserts by name whatever the
    column order.
    """
    copy = tmp_path / "upgraded.duckdb"
    shutil.copy(demo_run.path, copy)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(copy))
    database = DemoRun(copy, demo_run.config)
    connection = duckdb.connect(str(copy))
    for column in ("noninferiority_margin", "config_hash"):  # as if added by this version
        connection.execute(f"alter table experiment_results_history drop column {column}")
    connection.close()

    database.built_for("2026-03-22T06:00")
    assert main(["analyze", "--project-dir", str(REPO), "--analysis-at", "2026-03-22T06:00"]) == 0
    history = database.query("select * from experiment_results_history")
    assert set(history.columns) == {c.name for c in TABLES["experiment_results_history"]}
    older = history[history.analysis_date != pd.Timestamp("2026-03-22")]
    assert len(older) == n_comparisons(database.config)  # the fixture's own snapshot, kept
    assert older.config_hash.isna().all()
    newest = history[history.analysis_date == pd.Timestamp("2026-03-22")]
    latest = database.query("select * from experiment_results")
    assert_tables_agree(
        latest,
        newest[latest.columns],
        TABLE_KEYS["experiment_results"],
        "experiment_results_history",
    )


def test_dbt_unit_tests_pass(demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch) -> None:
    """`xp run` leaves dbt's unit tests out of the nightly build; they run here instead."""
    from analysis_py.config import load_config
    from analysis_py.warehouse.bridge import load_target
    from analysis_py.warehouse.dbt import run_dbt

    monkeypatch.setenv("XP_DUCKDB_PATH", str(demo_run.path))
    target = load_target(REPO)
    run_dbt(
        "test", target, load_config(REPO / "experiments.yml"), ["--select", "test_type:unit"]
    )  # raises DbtBuildError on a failure
    results = (REPO / "target" / "run_results.json").read_text()
    assert '"unit_test.experiment_analysis.' in results and '"status": "pass"' in results
