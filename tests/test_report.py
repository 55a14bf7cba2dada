"""The HTML report of the demo: content equals the result tables; opens offline in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from analysis_py.cli import main
from analysis_py.presentation.report import render_report
from tests.conftest import REPO, DemoRun
from tests.engines import missing_engine


@pytest.fixture(scope="module")
def report(demo_run: DemoRun) -> str:
    return render_report(
        demo_run.query("select * from experiment_results"),
        demo_run.query("select * from experiment_diagnostics"),
        demo_run.query("select * from experiment_results_over_time"),
    )


def sections(html: str) -> dict[str, str]:
    parts = re.split(r'<section id="(\w+)"', html)[1:]
    return dict(zip(parts[::2], parts[1::2], strict=True))


def test_every_experiment_metric_and_treatment_is_in_the_report(
    report: str, demo_run: DemoRun
) -> None:
    by_experiment = sections(report)
    assert set(by_experiment) == {e.id for e in demo_run.config.experiments}
    for experiment in demo_run.config.experiments:
        section = by_experiment[experiment.id]
        rows = set(re.findall(r'<tr data-metric="(\w+)" data-treatment="(\w+)">', section))
        assert rows == {(m, t) for m in experiment.metrics for t in experiment.treatments}
        # The forest plot, then one over-time chart per treatment of the primary metric.
        assert section.count("<svg") == 1 + len(experiment.treatments)
        assert "cumulative relative lift (CUPED)" in section
        assert "started 2026-03-" in section and "data through 2026-0" in section
        for label in (
            "Sample ratio",
            "Multi-variant subjects",
            "Pre-exposure balance",
            "CUPED sanity",
            "Sample size",
            "Large lift",
            "Pre-exposure data",
        ):
            assert f"<strong>{label}</strong>" in section


def test_report_numbers_equal_the_result_tables(report: str, demo_run: DemoRun) -> None:
    results = demo_run.query("select * from experiment_results").set_index(
        ["experiment_id", "metric_id", "treatment_variant_id"]
    )
    checked = 0
    for experiment_id, section in sections(report).items():
        for metric, treatment, cells in re.findall(
            r'<tr data-metric="(\w+)" data-treatment="(\w+)">(.*?)</tr>', section, re.S
        ):
            row = results.loc[(experiment_id, metric, treatment)]
            values = [float(v) for v in re.findall(r'data-value="([^"]+)"', cells)]
            # The report reads the stored decision columns and recomputes nothing.
            expected = [
                row.control_mean,
                row.treatment_mean,
                row.decision_relative_effect,
                row.decision_p_value,
                row.bayes_chance_to_win,
                row.relative_effect,
            ]
            assert values == pytest.approx(expected, rel=1e-12)
            shown = f"{row.decision_relative_effect * 100:+.1f}%"
            assert f">{shown}</td>" in cells
            assert f'<td class="{row.verdict}">' in cells
            checked += 1
    assert checked == len(results) == 24


def test_report_makes_no_network_requests(report: str) -> None:
    assert "<script" not in report and "<link" not in report and "url(" not in report
    assert "@import" not in report and "src=" not in report
    # The only address is the SVG namespace, which is a name, not a request.
    assert set(re.findall(r"https?://[^\"' ]+", report)) == {"http://www.w3.org/2000/svg"}


def test_report_command_writes_the_file(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XP_DUCKDB_PATH", str(demo_run.path))
    output = tmp_path / "out" / "report.html"
    assert main(["report", "--project-dir", str(REPO), "--output", str(output)]) == 0
    assert "<h1>Experiment results</h1>" in output.read_text()


def test_report_opens_in_headless_chromium(report: str, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing_engine("Debian's chromium is not installed (apt-get install chromium)")
    page = tmp_path / "report.html"
    page.write_text(report)
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tempfile.mkdtemp()}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2400",
    ]
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [*flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert 'id="checkout_redesign"' in dom and 'id="onboarding_flow"' in dom
