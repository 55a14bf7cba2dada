"""What `xp` prints when it works.

The summary's words, plurals, the interval each block reads, where the results went, help
and version, and no colour codes in a log.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import textwrap
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

from analysis_py import cli
from analysis_py.cli import build_parser, colour_enabled, main
from analysis_py.presentation.summary import format_summary
from tests.conftest import REPO, DemoRun

ANSI = re.compile(r"\x1b\[")


@pytest.fixture()
def demo_copy(demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "copy.duckdb"
    shutil.copy(demo_run.path, path)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(path))
    monkeypatch.setattr(cli, "preflight", lambda *args, **kwargs: [])
    return path


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"xp {metadata.version('experiment-analysis')}\n"


def test_help_has_no_markup_and_names_the_defaults() -> None:
    parser = build_parser()
    subcommands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    for name, command in [("xp", parser), *subcommands.items()]:
        text = command.format_help()
        assert "``" not in text and "`" not in text and ":func:" not in text, name
        for action in command._actions:
            has_default = action.default not in (None, False, argparse.SUPPRESS)
            if action.help and has_default and action.dest != "help":
                assert "(default" in action.help, (name, action.dest)
    report = subcommands["report"].format_help()
    assert "(default: experiment_report.html)" in " ".join(report.split())


def test_validate_counts_in_words(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "one.yml"
    config.write_text(
        textwrap.dedent("""\
        metrics:
          - {id: revenue, event_name: purchase, aggregation: sum,
             window: {start_day: 0, end_day: 14}}
        experiments:
          - id: checkout
            variants: [control, treatment]
            control: control
            traffic: {control: 0.5, treatment: 0.5}
            metrics: [revenue]
            lookback_days: 14
        """)
    )
    assert main(["validate", "--offline", "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"{config}: 1 experiment, 1 metric, 1 comparison: valid\n"


def test_a_log_gets_no_colour_codes_and_says_where_the_results_went(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Under pytest stdout and stderr are not terminals: no colours, nothing on stderr.

    Progress goes to stdout, and dbt is told not to colour its log either, in every call
    (seen by a user: an interrupted run's last dbt line was coloured in a log file).
    """
    from dbt.cli.main import dbtRunner

    invoke = dbtRunner.invoke
    colours: list[tuple[str, str | None]] = []

    def recording(self: dbtRunner, args: list[str], **kwargs: object) -> object:
        colours.append((args[0], os.environ.get("DBT_USE_COLORS")))
        return invoke(self, args, **kwargs)

    def build(*args: object, **kwargs: object) -> None:
        colours.append(("build", os.environ.get("DBT_USE_COLORS")))

    monkeypatch.setattr(dbtRunner, "invoke", recording)
    monkeypatch.setattr(cli, "dbt_build", build)
    monkeypatch.setattr(cli, "dbt_build_results", build)
    monkeypatch.delenv("DBT_USE_COLORS", raising=False)
    assert main(["run", "--project-dir", str(REPO), "--analysis-at", "2026-04-10T00:00"]) == 0
    captured = capsys.readouterr()
    assert ("parse", "false") in colours and ("build", "false") in colours
    assert {colour for _, colour in colours} == {"false"}
    assert "DBT_USE_COLORS" not in os.environ
    assert captured.err == "" and not ANSI.search(captured.out)
    lines = captured.out.splitlines()
    assert lines[0] == "xp: building the models (dbt build)..."
    assert "xp: analysing 24 comparisons and writing the result tables..." in lines
    assert lines[-1] == (
        f"Wrote the results of 2 experiments (24 comparisons) to DuckDB file "
        f"{demo_copy.resolve()}, schema main: experiment_results, experiment_diagnostics, "
        "experiment_results_over_time, experiment_dimension_results, experiment_scorecard, "
        "experiment_scorecard_over_time, experiment_scorecard_by_dimension, "
        "experiment_results_history, experiment_diagnostics_history."
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_for_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert colour_enabled(Terminal()) and not colour_enabled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_enabled(Terminal())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not colour_enabled(Terminal())


@pytest.fixture(scope="module")
def demo_tables(demo_run: DemoRun) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        demo_run.query("select * from experiment_results"),
        demo_run.query("select * from experiment_diagnostics"),
    )


def test_summary_uses_display_names_and_labels_each_block_of_intervals(
    demo_tables: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    results, diagnostics = demo_tables
    summary = format_summary(results, diagnostics)
    assert not ANSI.search(summary)
    assert "Experiment checkout_redesign: 1,922 subjects (control 986, treatment 936)" in summary
    assert "  Revenue in DE and FR (S)  " in summary and "eu_revenue (S)" not in summary
    headers = [line.split()[3:-3] for line in summary.splitlines() if line.startswith("  metric")]
    # checkout_redesign: Holm over primary and secondary metrics, the guardrails uncorrected
    # (both always valid: sequential); onboarding_flow: Benjamini-Hochberg.
    assert [" ".join(h) for h in headers] == [
        "95% always-valid CI, Holm-adjusted",
        "95% always-valid CI",
        "95% CI, BH-adjusted",
    ]
    assert "non-inferiority: holds (margin -5%, p = 0.011)" in summary
    assert "\x1b[" in format_summary(results, diagnostics, colour=True)


def test_summary_withholds_the_verdicts_of_a_failed_experiment(
    demo_tables: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    results, diagnostics = (frame.copy() for frame in demo_tables)
    failed = diagnostics.experiment_id == "checkout_redesign"
    diagnostics.loc[failed, ["health_status", "srm_status"]] = "fail"
    results.loc[results.experiment_id == "checkout_redesign", "verdict"] = "unhealthy"
    lines = format_summary(results, diagnostics).splitlines()
    block = lines[: next(i for i, x in enumerate(lines) if x.startswith("Experiment onboarding"))]
    assert any(line.startswith("  verdicts withheld: ") for line in block)
    verdicts = [line for line in block if line.startswith("  ") and line.endswith("withheld")]
    assert len(verdicts) == (results.experiment_id == "checkout_redesign").sum()
    assert all(line.endswith("✗ withheld") for line in verdicts)
