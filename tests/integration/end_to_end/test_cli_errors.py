"""Every failure of `xp` is one line on stderr naming its cause, with no traceback.

And the previous results stay as they were.

The data cases run the case's own steps on a small project of their own (its source tables
in schema src, xp_demo_data false). A full disk, memory running out and Ctrl-C are
simulated by monkeypatching where a real one is impractical (each test says so); one test
sends a real SIGINT to `xp run` while dbt builds.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis_py import cli, run
from analysis_py.cli import main
from analysis_py.presentation import report
from analysis_py.warehouse.bridge import ProfileError, load_target
from analysis_py.warehouse.dbt import _node_failures, run_dbt
from analysis_py.warehouse.errors import error_cause
from tests.conftest import DEMO_ANALYSIS_AT, REPO, SEEDS, DemoRun
from tests.integration.engines.faults import fail_statement, inserts_into

AT = DEMO_ANALYSIS_AT.isoformat()
RESULT_TABLES = ("experiment_results", "experiment_diagnostics", "experiment_dimension_results")

SMALL_CONFIG = textwrap.dedent("""\
    metrics:
      - {id: revenue, event_name: purchase, aggregation: sum, window: {start_day: 0, end_day: 14}}
      - {id: purchases, event_name: purchase, aggregation: count,
         window: {start_day: 0, end_day: 14}}
      - id: eu_revenue
        event_name: purchase
        aggregation: sum
        window: {start_day: 0, end_day: 14}
        filters: [{column: country, op: in, value: [DE, FR]}]
      - {id: sessions, event_name: session_start, aggregation: count,
         window: {start_day: 0, end_day: 14}}
    experiments:
      - id: checkout_redesign
        variants: [control, treatment]
        control: control
        traffic: {control: 0.5, treatment: 0.5}
        metrics: [revenue, purchases, eu_revenue]
        lookback_days: 14
        dimensions: [platform]
      - id: onboarding_flow
        variants: [control, short_form, guided_tour]
        control: control
        traffic: {control: 0.5, short_form: 0.25, guided_tour: 0.25}
        metrics: [sessions, purchases]
        lookback_days: 14
    """)


@dataclass(frozen=True)
class SmallProject:
    """This repository's models over source tables of its own (schema src).

    With a DuckDB file that one good `xp run` filled.
    """

    root: Path
    good: Path

    @property
    def config(self) -> Path:
        return self.root / "experiments.yml"

    def run(self, *extra: str, config: Path | None = None) -> int:
        return main(
            [
                "run",
                "--project-dir",
                str(self.root),
                "--config",
                str(config or self.config),
                "--analysis-at",
                AT,
                *extra,
            ]
        )


def make_small_project(root: Path) -> Path:
    root.mkdir(parents=True)
    for folder in ("models", "macros", "data-tests", "seeds"):
        (root / folder).symlink_to(REPO / folder)
    project = (REPO / "dbt_project.yml").read_text()
    for old, new in (
        ("xp_source_schema: null", "xp_source_schema: src"),
        ("xp_assignments_table: demo_assignments", "xp_assignments_table: assignments"),
        ("xp_events_table: demo_events", "xp_events_table: events"),
        ("xp_demo_data: true", "xp_demo_data: false"),
    ):
        assert old in project
        project = project.replace(old, new)
    (root / "dbt_project.yml").write_text(project)
    shutil.copy(REPO / "profiles.yml", root / "profiles.yml")
    (root / "experiments.yml").write_text(SMALL_CONFIG)
    return root


def load_sources(path: Path) -> None:
    connection = duckdb.connect(str(path))
    connection.execute("create schema src")
    connection.execute(
        "create table src.assignments as select * from read_csv(?)",
        [str(SEEDS / "demo_assignments.csv")],
    )
    connection.execute(
        "create table src.events as select * from read_csv(?)", [str(SEEDS / "demo_events.csv")]
    )
    connection.close()


@pytest.fixture(scope="module")
def small_project(tmp_path_factory: pytest.TempPathFactory) -> SmallProject:
    root = make_small_project(tmp_path_factory.mktemp("small") / "project")
    first = root / "first.duckdb"
    load_sources(first)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XP_DUCKDB_PATH", str(first))
        assert SmallProject(root, first).run() == 0
    good = root / "good.duckdb"
    shutil.copy(first, good)
    return SmallProject(root, good)


@pytest.fixture()
def case(small_project: SmallProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the good warehouse, where the case's steps break something.

    A path of its own: dbt-duckdb keeps the files it opened open within the process.
    """
    path = tmp_path / "case.duckdb"
    shutil.copy(small_project.good, path)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(path))
    return path


def execute(path: Path, *statements: str) -> None:
    connection = duckdb.connect(str(path))
    for statement in statements:
        connection.execute(statement)
    connection.close()


def result_tables(path: Path) -> dict[str, pd.DataFrame]:
    connection = duckdb.connect(str(path))
    try:
        return {name: connection.execute(f"select * from {name}").df() for name in RESULT_TABLES}
    finally:
        connection.close()


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    """The command's stderr: exactly one line, `xp: error: ...`, and no traceback."""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n"), captured.err
    return captured.err.rstrip("\n")


def assert_unchanged(before: dict[str, pd.DataFrame], path: Path) -> None:
    after = result_tables(path)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)


DATA_CASES = {
    "misspelt experiment id": (
        [],
        ("- id: checkout_redesign", "- id: checkout_redesing"),
        "xp: error: experiment 'checkout_redesing' has no exposures in src.assignments; "
        "did you mean 'checkout_redesign'?",
    ),
    "missing events table": (
        ["drop table src.events"],
        None,
        "xp: error: the events table src.events does not exist: set the vars "
        "xp_source_schema and xp_events_table to your table (README, Use your own data)",
    ),
    "missing value column": (
        ["alter table src.events drop column value"],
        None,
        "xp: error: the events table src.events has no column 'value' (input contract); its "
        "columns: subject_id, event_name, event_at, country",
    ),
    "missing subject_id column": (
        ["alter table src.assignments drop column subject_id"],
        None,
        "xp: error: the assignments table src.assignments has no column 'subject_id' (input "
        "contract); its columns: experiment_id, variant_id, assigned_at, platform, country",
    ),
    "missing filter column": (
        ["alter table src.events drop column country"],
        None,
        "xp: error: the events table src.events has no column 'country' (filter of metric "
        "'eu_revenue'); its columns: subject_id, event_name, event_at, value",
    ),
    "missing dimension column": (
        ["alter table src.assignments drop column platform"],
        None,
        "xp: error: the assignments table src.assignments has no column 'platform' "
        "(dimension of experiment 'checkout_redesign'); its columns: subject_id, "
        "experiment_id, variant_id, assigned_at, country",
    ),
    "text in value": (
        [
            "alter table src.events alter value type varchar",
            "update src.events set value = 'abc' where rowid = 5",
        ],
        None,
        "xp: error: src.events.value is not a number: 'abc' (1 of its first 10,000 rows)",
    ),
    "day-first date in assigned_at": (
        [
            "alter table src.assignments alter assigned_at type varchar",
            "update src.assignments set assigned_at = '15/01/2026' where rowid = 7",
        ],
        None,
        "xp: error: src.assignments.assigned_at is not an ISO 8601 timestamp ('YYYY-MM-DD "
        "HH:MM:SS', optionally with Z or +HH:MM): '15/01/2026' (1 of its 4,244 rows)",
    ),
    "integer epoch in assigned_at": (
        [
            "alter table src.assignments alter assigned_at type bigint "
            "using epoch(assigned_at)::bigint"
        ],
        None,
        "xp: error: the assignments table src.assignments: column 'assigned_at' is BIGINT, "
        "not a timestamp (input contract); convert it in a view over the table (e.g. epoch "
        "seconds to a timestamp) and point the source at the view",
    ),
    "empty events table": (
        ["delete from src.events"],
        None,
        "xp: error: the events table src.events is empty: a run now would replace the "
        "results with empty ones",
    ),
    "empty assignments table": (
        ["delete from src.assignments"],
        None,
        "xp: error: the assignments table src.assignments is empty: a run now would replace "
        "the results with empty ones",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DATA_CASES))
def test_data_problems_stop_the_run_before_anything_is_replaced(
    name: str,
    small_project: SmallProject,
    case: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    statements, config_edit, expected = DATA_CASES[name]
    execute(case, *statements)
    config = small_project.config
    if config_edit:
        config = tmp_path / "experiments.yml"
        config.write_text(SMALL_CONFIG.replace(*config_edit))
    before = result_tables(case)
    assert small_project.run("--full-refresh", config=config) == 1
    assert one_line_error(capsys) == expected
    assert_unchanged(before, case)


@pytest.mark.slow
def test_validate_checks_the_warehouse_and_offline_only_the_file(
    small_project: SmallProject, case: Path, capsys: pytest.CaptureFixture
) -> None:
    validate = ["validate", "--project-dir", str(small_project.root)]
    assert main(validate) == 0
    assert capsys.readouterr().out.endswith(
        "Target 'duckdb': the source tables hold what the config needs\n"
    )
    execute(case, "alter table src.events drop column value")
    assert main(validate) == 1
    assert one_line_error(capsys).startswith(
        "xp: error: the events table src.events has no column 'value'"
    )
    assert main([*validate, "--offline"]) == 0
    assert capsys.readouterr().out.endswith("comparisons: valid\n")


@pytest.mark.slow
def test_a_renamed_variant_is_reported_and_gets_its_own_health_check(
    small_project: SmallProject, case: Path, capsys: pytest.CaptureFixture
) -> None:
    execute(
        case,
        "update src.assignments set variant_id = 'cheap' "
        "where variant_id = 'treatment' and experiment_id = 'checkout_redesign'",
    )
    assert small_project.run("--full-refresh") == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert (
        "xp: warning: experiment 'checkout_redesign': variant 'cheap' has 1,073 exposure "
        "rows in src.assignments but is not in the config; its subjects are left out\n"
        in captured.out
    )
    diagnostics = result_tables(case)["experiment_diagnostics"].set_index("experiment_id")
    checkout = diagnostics.loc["checkout_redesign"]
    assert checkout.n_unknown_variant_subjects == 936
    assert checkout.unknown_variant_status == "warning"
    assert checkout.unknown_variant_reason.startswith(
        "936 subjects (48.22%) were exposed only to variants the config does not"
    )
    assert diagnostics.loc["onboarding_flow", "unknown_variant_status"] == "ok"


@pytest.mark.slow
def test_removing_dimensions_empties_the_dimension_results(
    small_project: SmallProject, case: Path, tmp_path: Path
) -> None:
    assert len(result_tables(case)["experiment_dimension_results"]) > 0
    config = tmp_path / "experiments.yml"
    config.write_text(SMALL_CONFIG.replace("    dimensions: [platform]\n", ""))
    assert small_project.run(config=config) == 0
    tables = result_tables(case)
    assert len(tables["experiment_dimension_results"]) == 0
    assert len(tables["experiment_results"]) == 7


@pytest.mark.slow
def test_failing_dbt_nodes_name_their_cause(
    small_project: SmallProject,
    case: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """Past the preflight, dbt's failure names the model and the cause.

    The preflight is switched off here, as for a value beyond its sample; the cause is read
    from the adapter's message.
    """
    monkeypatch.setattr(cli, "preflight", lambda *args, **kwargs: [])
    execute(case, "alter table src.events drop column value")
    before = result_tables(case)
    assert small_project.run() == 1
    assert one_line_error(capsys) == (
        "xp: error: dbt build failed: stg_experimentation__events (error): column 'value' "
        "does not exist in the table it reads (source experimentation.events)"
    )
    text_values = case.with_name("text_values.duckdb")
    shutil.copy(small_project.good, text_values)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(text_values))
    execute(
        text_values,
        "alter table src.events alter value type varchar",
        "update src.events set value = 'abc' where rowid = 5",
    )
    assert small_project.run("--full-refresh") == 1
    assert one_line_error(capsys) == (
        "xp: error: dbt build failed: int_subject_metric_values (error): value 'abc' in column "
        "value cannot be converted to DOUBLE"
    )
    assert_unchanged(before, case)


@pytest.mark.slow
def test_ctrl_c_during_dbt_build(small_project: SmallProject, case: Path) -> None:
    """A real SIGINT, sent as soon as dbt starts building a table."""
    before = result_tables(case)
    env = {**os.environ, "XP_DUCKDB_PATH": str(case), "DO_NOT_TRACK": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analysis_py.cli",
            "run",
            "--project-dir",
            str(small_project.root),
            "--analysis-at",
            AT,
            "--full-refresh",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for line in process.stdout:
        if "START sql table model" in line:
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err == "xp: interrupted; the previous results are intact\n"
    assert "Traceback" not in out
    assert_unchanged(before, case)


# Quick cases: the demo run's warehouse, analysed again with a fault injected. The
# preflight is switched off in them (it is tested above): they are about what follows it.


@pytest.fixture()
def demo_copy(demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "copy.duckdb"
    shutil.copy(demo_run.path, path)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(path))
    monkeypatch.setattr(cli, "preflight", lambda *args, **kwargs: [])
    return path


ANALYZE = ["analyze", "--project-dir", str(REPO)]


FULL_DISK = duckdb.IOException('Could not write file "copy.duckdb.wal": No space left on device')


def inject(monkeypatch: pytest.MonkeyPatch, fail_on: str, error: BaseException = FULL_DISK) -> None:
    """The analysis step's first statement starting with ``fail_on`` raises ``error``.

    A failed commit has ended the transaction (as DuckDB's does), so a rollback after it
    fails too.
    """

    def fail(manager, add_query) -> None:
        if fail_on.lower() == "commit":
            add_query(manager, "rollback", auto_begin=False)
        raise error

    fail_statement(monkeypatch, lambda sql: sql.lower().startswith(fail_on.lower()), fail)


def test_a_full_disk_at_commit_names_the_disk_and_keeps_the_results(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Simulated: the commit raises DuckDB's IOException for ENOSPC."""
    before = result_tables(demo_copy)
    inject(monkeypatch, "commit")
    assert main(ANALYZE) == 1
    assert one_line_error(capsys) == (
        "xp: error: writing the result tables failed, previous results kept: the disk is "
        'full (No space left on device): Could not write file "copy.duckdb.wal": No space '
        "left on device"
    )
    assert_unchanged(before, demo_copy)


def test_a_full_disk_at_checkpoint_warns_as_the_results_are_committed(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Simulated: the checkpoint after the commit raises DuckDB's IOException for ENOSPC."""
    before = result_tables(demo_copy)
    inject(monkeypatch, "checkpoint")
    assert main(ANALYZE) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert (
        "xp: warning: the results are committed, but moving them from the write-ahead log "
        f"into '{demo_copy}' failed (the disk is full" in captured.out
    )
    after = result_tables(demo_copy)["experiment_results"]
    assert after.run_id.iloc[0] != before["experiment_results"].run_id.iloc[0]


def test_out_of_memory_is_one_line(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Simulated: DuckDB runs out of memory reading the mart; then Python itself does."""
    before = result_tables(demo_copy)
    inject(
        monkeypatch,
        "select * from",
        duckdb.OutOfMemoryException(
            "Out of Memory Error: failed to allocate data of size 16.0 MiB (1.0 GiB/1.0 GiB used)"
        ),
    )
    assert main(ANALYZE) == 1
    assert one_line_error(capsys) == (
        "xp: error: reading main.fct_variant_metric_statistics failed: out of memory: Out of "
        "Memory Error: failed to allocate data of size 16.0 MiB (1.0 GiB/1.0 GiB used)"
    )
    monkeypatch.undo()
    monkeypatch.setenv("XP_DUCKDB_PATH", str(demo_copy))
    monkeypatch.setattr(cli, "preflight", lambda *args, **kwargs: [])

    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(run, "analyze", no_memory)
    assert main(ANALYZE) == 1
    assert one_line_error(capsys).startswith("xp: error: out of memory")
    assert_unchanged(before, demo_copy)


def test_ctrl_c_is_one_line_and_exit_130(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Simulated: dbt returns the KeyboardInterrupt it caught (as dbtRunner does).

    Then an interrupt arrives while the results are written (rolled back), and one after
    the commit.
    """
    from dbt.cli.main import dbtRunner, dbtRunnerResult

    before = result_tables(demo_copy)
    with monkeypatch.context() as interrupt:
        interrupt.setattr(
            dbtRunner,
            "invoke",
            lambda self, args: dbtRunnerResult(success=False, exception=KeyboardInterrupt()),
        )
        assert main(["run", "--project-dir", str(REPO)]) == 130
    assert capsys.readouterr().err == "xp: interrupted; the previous results are intact\n"

    with monkeypatch.context() as interrupt:
        fail_statement(interrupt, inserts_into("experiment_results"), KeyboardInterrupt())
        assert main(ANALYZE) == 130
    assert capsys.readouterr().err == "xp: interrupted; the previous results are intact\n"
    assert_unchanged(before, demo_copy)

    inject(monkeypatch, "checkpoint", KeyboardInterrupt())
    assert main(ANALYZE) == 130
    assert capsys.readouterr().err == "xp: interrupted after the new results were written\n"


def test_ctrl_c_after_the_write_says_the_new_results_were_written(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Ctrl-C while the result tables just written are tested: they are the new ones."""
    before = result_tables(demo_copy)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "dbt_build_results", interrupted)
    assert main(ANALYZE) == 130
    assert capsys.readouterr().err == "xp: interrupted after the new results were written\n"
    after = result_tables(demo_copy)
    assert set(after["experiment_results"].run_id) != set(before["experiment_results"].run_id)


@pytest.fixture
def python_handles_sigint() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in this process, as in a terminal.

    The tests below send a real SIGINT to the test process itself. A runner started as a
    background job inherits SIGINT ignored (xp then leaves it alone, `_Interrupts.noted`),
    and the signal would be lost: Python's default handler is put in for the test.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("python_handles_sigint")
def test_ctrl_c_that_dbt_turns_into_another_error_is_still_an_interruption(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Seen by a user: SIGINT landed as dbt ended, and dbt failed with a config error.

    Simulated: a real SIGINT, whose KeyboardInterrupt dbt swallows.
    """
    before = result_tables(demo_copy)

    def swallowed_interrupt(*args: object, **kwargs: object) -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler raises in here
        except KeyboardInterrupt:
            pass
        raise cli.DbtBuildError('dbt build failed: Field "config" of type TestConfig ...')

    monkeypatch.setattr(cli, "dbt_build", swallowed_interrupt)
    assert main(["run", "--project-dir", str(REPO)]) == 130
    assert capsys.readouterr().err == "xp: interrupted; the previous results are intact\n"
    assert_unchanged(before, demo_copy)

    monkeypatch.setattr(cli, "dbt_build_results", swallowed_interrupt)
    assert main(ANALYZE) == 130
    assert capsys.readouterr().err == "xp: interrupted after the new results were written\n"

    # Without an interrupt, the same error is the error.
    def failing_test(*args: object, **kwargs: object) -> None:
        raise cli.DbtBuildError("dbt build failed: a test failed")

    monkeypatch.setattr(cli, "dbt_build_results", failing_test)
    assert main(ANALYZE) == 1
    assert capsys.readouterr().err.startswith(
        "xp: error: the results were written, but dbt build failed: a test failed"
    )


def test_an_analysis_time_far_ahead_warns(
    demo_copy: Path,
    demo_run: DemoRun,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """A year ahead is likely a typo: said, not refused. An hour ahead is an ordinary cut."""
    monkeypatch.setattr(cli, "utc_now", lambda: datetime(2026, 3, 20, 6, 0))
    database = DemoRun(demo_copy, demo_run.config)
    database.built_for("2027-03-20T06:00")
    assert main([*ANALYZE, "--analysis-at", "2027-03-20T06:00"]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if "warning" in line]
    assert warnings == [
        "xp: warning: --analysis-at 2027-03-20 06:00:00 is more than a day ahead of now "
        "(2026-03-20 06:00:00 UTC): the results and their history snapshot are dated then"
    ]
    database.built_for("2026-03-20T07:00")
    assert main([*ANALYZE, "--analysis-at", "2026-03-20T07:00"]) == 0
    assert "ahead of now" not in capsys.readouterr().out


def test_analyze_takes_the_marts_analysis_time_and_refuses_another(
    demo_copy: Path, demo_run: DemoRun, capsys: pytest.CaptureFixture
) -> None:
    """Results take the analysis time the statistics mart was built for.

    Seen by a user: `xp analyze --analysis-at` a day after the build dated the build's
    figures that day, and replaced that day's history snapshot; exit 0.
    """
    before = result_tables(demo_copy)
    database = DemoRun(demo_copy, demo_run.config)
    history_dates = "select distinct analysis_date from experiment_results_history"
    dates_before = set(database.query(history_dates).analysis_date)
    built = DEMO_ANALYSIS_AT.strftime("%Y-%m-%d %H:%M:%S")
    assert main([*ANALYZE, "--analysis-at", "2026-04-11T06:00"]) == 1
    assert one_line_error(capsys) == (
        f"xp: error: fct_variant_metric_statistics was built for the analysis time {built}, "
        "not 2026-04-11 06:00:00: build it for that time first (`xp run --analysis-at "
        '2026-04-11T06:00:00`, or `dbt build --vars "$(xp dbt-vars --analysis-at '
        '2026-04-11T06:00:00)"`), or leave out --analysis-at to analyse it as of '
        f"{built}"
    )
    assert_unchanged(before, demo_copy)

    # Without --analysis-at: the build's time, not now. A fraction of a second is dropped,
    # as dbt drops it when it cuts the data, with a line that says so.
    fraction = DEMO_ANALYSIS_AT.isoformat() + ".750"
    for extra in ([], ["--analysis-at", fraction]):
        capsys.readouterr()
        assert main([*ANALYZE, *extra]) == 0
        cut_lines = [
            line for line in capsys.readouterr().err.splitlines() if "taken to the second" in line
        ]
        assert cut_lines == (
            [
                f"xp: --analysis-at {fraction} is taken to the second, {built} UTC: the data "
                "is cut and the results dated at whole seconds"
            ]
            if extra
            else []
        )
        latest = result_tables(demo_copy)["experiment_results"]
        assert set(latest.analysis_at) == {DEMO_ANALYSIS_AT}
        assert set(database.query(history_dates).analysis_date) == dates_before


def test_analyze_refuses_marts_of_two_builds(
    demo_copy: Path, demo_run: DemoRun, capsys: pytest.CaptureFixture
) -> None:
    """Every mart the analysis reads must come from the build of the statistics mart.

    Seen by a user: Ctrl-C in `dbt build` after the statistics mart, then `xp analyze`:
    exit 0, CUPED++ from the earlier build's cross products and the results over time ending
    on the earlier day, under the new date. Reproduced by a build of the statistics mart
    alone, for the same analysis time: the time alone cannot tell the two builds apart.
    """
    before = result_tables(demo_copy)
    run_dbt(
        "build",
        load_target(REPO),
        demo_run.config,
        ["--select", "fct_variant_metric_statistics", "--quiet"],
        DEMO_ANALYSIS_AT,
    )
    assert main(ANALYZE) == 1
    error = one_line_error(capsys)
    assert error.startswith(
        "xp: error: fct_variant_covariate_cross_products was not built by the dbt invocation "
        "that built fct_variant_metric_statistics ("
    ), error
    assert error.endswith(
        "): the last build of the models stopped part-way or selected some of them only. "
        'Build them together (`xp run`, or `dbt build --vars "$(xp dbt-vars)"`), then analyse'
    )
    assert_unchanged(before, demo_copy)


@pytest.mark.usefixtures("python_handles_sigint")
def test_ctrl_c_that_python_cannot_raise_still_exits_130(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A Ctrl-C lost in a finalizer still ends the command with 130 and one line.

    Seen by a user: SIGINT landed while Python ran a finalizer, which cannot raise; the run
    went on, wrote its results and exited 0, with a traceback on stderr. Simulated: a real
    SIGINT inside a finalizer, during the analysis.
    """
    analyze = run.analyze

    def interrupted_in_a_finalizer(*args: object, **kwargs: object) -> object:
        class Held:
            pass

        held = Held()
        weakref.finalize(held, lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(1)))
        del held  # the finalizer runs here, and the handler raises inside it
        return analyze(*args, **kwargs)

    monkeypatch.setattr(run, "analyze", interrupted_in_a_finalizer)
    assert main(ANALYZE) == 130
    captured = capsys.readouterr()
    assert captured.err == "xp: interrupted after the new results were written\n"
    assert "Exception ignored" not in captured.out + captured.err


def test_an_unwritable_report_path_fails_before_the_run(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    before = result_tables(demo_copy)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    output = blocker / "report.html"
    assert main([*ANALYZE, "--report", "--output", str(output)]) == 1
    assert one_line_error(capsys) == (
        f"xp: error: cannot write the report to {output}: {blocker} is not a directory"
    )
    assert_unchanged(before, demo_copy)
    assert main([*ANALYZE, "--report", "--output", str(tmp_path)]) == 1
    assert one_line_error(capsys).startswith(f"xp: error: --output {tmp_path} is a directory")

    # Simulated: the disk fills up while the report is written, after the results were.
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r.html"))

    monkeypatch.setattr(report, "write_report", full_disk)
    assert main([*ANALYZE, "--report", "--output", str(tmp_path / "r.html")]) == 1
    assert one_line_error(capsys) == (
        f"xp: error: the results were written, but not the report to {tmp_path / 'r.html'}: "
        f"the disk is full (No space left on device): {tmp_path / 'r.html'}"
    )


def test_a_missing_adapter_names_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "profiles.yml").write_text(
        textwrap.dedent("""\
        experiment_analysis:
          target: warehouse
          outputs:
            warehouse: {type: snowflake, account: x, schema: analytics}
        """)
    )
    assert main([*ANALYZE, "--profiles-dir", str(tmp_path)]) == 1
    assert one_line_error(capsys) == (
        "xp: error: dbt target 'warehouse' has type 'snowflake', but dbt's adapter for it is "
        "not installed: pip install dbt-snowflake"
    )

    # Simulated: dbt-postgres is installed, its driver psycopg2 is not (dbt imports the
    # adapter afresh, and the import of psycopg2 fails).
    for name in [name for name in sys.modules if name.startswith("dbt.adapters.postgres")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(
        ProfileError,
        match="dbt target 'postgres' has type 'postgres', but Python cannot import psycopg2: "
        "pip install dbt-postgres",
    ):
        load_target(REPO, target="postgres")


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        # DuckDB
        (
            "Runtime Error in model stg_experimentation__events (models/staging/x.sql)\n"
            '  Catalog Error: Table with name events does not exist!\nDid you mean "demo_events"?',
            "table 'events' does not exist",
        ),
        (
            'Binder Error: Referenced column "value" not found in FROM clause!',
            "column 'value' does not exist in the table it reads",
        ),
        (
            'Conversion Error: invalid timestamp field format: "15/01/2026", expected format is '
            "(YYYY-MM-DD HH:MM[:SS[.US]]) when casting from source column assigned_at",
            "value '15/01/2026' in column assigned_at is not a timestamp (expected "
            "YYYY-MM-DD HH:MM:SS)",
        ),
        (
            "Conversion Error: Unimplemented type for cast (BIGINT -> TIMESTAMP) when casting from "
            "source column assigned_at",
            "a BIGINT in column assigned_at cannot be cast to TIMESTAMP",
        ),
        # The staging models' own error (macros/xp_utc_timestamp.sql), on any engine
        (
            "Invalid Input Error: xp: events.event_at is not an ISO 8601 timestamp ('YYYY-MM-DD "
            "HH:MM:SS', optionally with Z or +HH:MM): 15/01/2026",
            "events.event_at is not an ISO 8601 timestamp ('YYYY-MM-DD "
            "HH:MM:SS', optionally with Z "
            "or +HH:MM): 15/01/2026",
        ),
        # Postgres
        ('relation "src.events" does not exist\nLINE 12', "table 'src.events' does not exist"),
        ('column "value" does not exist', "column 'value' does not exist in the table it reads"),
        (
            'invalid input syntax for type double precision: "abc"',
            "value 'abc' cannot be converted to double precision",
        ),
        (
            'could not extend file "base/16384/2619": No space left on device',
            "the disk is full (No space left on device): could not extend file "
            '"base/16384/2619": No space left on device',
        ),
        # Spark
        (
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `src`.`events` cannot be found.",
            "table 'src.events' does not exist",
        ),
        (
            "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or "
            "function parameter with name "
            "`value` cannot be resolved.",
            "column 'value' does not exist in the table it reads",
        ),
        (
            "[CAST_INVALID_INPUT] The value 'abc' of the type \"STRING\" "
            'cannot be cast to "DOUBLE" '
            "because it is malformed.",
            "value 'abc' cannot be converted to DOUBLE",
        ),
        ("Something else entirely\nsecond line", "Something else entirely"),
    ],
)
def test_engine_errors_are_read_for_their_cause(message: str, cause: str) -> None:
    assert error_cause(message) == cause


def test_node_failures_name_the_first_cause_and_count_the_rest() -> None:
    class Node:
        def __init__(self, name, sources=()):
            self.name = name
            self.depends_on = type("DependsOn", (), {"nodes": list(sources)})()

    class Result:
        def __init__(self, name, status, message, sources=(), failures=None):
            self.node, self.status = Node(name, sources), status
            self.message, self.failures = message, failures

    results = [
        Result(
            "stg_experimentation__events",
            "error",
            'Binder Error: Referenced column "value" not found in FROM clause!',
            ["source.experiment_analysis.experimentation.events"],
        ),
        *(Result(f"model_{i}", "error", "") for i in range(4)),
        Result("fine", "success", ""),
    ]
    assert _node_failures(results, []) == (
        "stg_experimentation__events (error), model_0 (error), model_1 (error) and 2 more: "
        "column 'value' does not exist in the table it reads (source experimentation.events)"
    )
    test = [
        Result(
            "not_null_stg_experimentation__assignments_assigned_at",
            "fail",
            "Got 5 results, configured to fail if != 0",
            failures=5,
        )
    ]
    assert _node_failures(test, []) == (
        "not_null_stg_experimentation__assignments_assigned_at (fail): 5 failing rows"
    )
