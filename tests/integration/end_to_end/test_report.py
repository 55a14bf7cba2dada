"""The HTML report of the demo: content equals the result tables; no network requests.

How a browser lays it out is in test_report_layout.py.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

from analysis_py.cli import main
from analysis_py.presentation import charts
from analysis_py.presentation.labels import interval_label, verdict_text
from analysis_py.presentation.report import render_report
from analysis_py.presentation.slices import MIN_SUBJECTS_TO_CHART
from tests.conftest import REPO, DemoRun

HEALTH_CHECKS = (
    "Sample ratio",
    "Multi-variant subjects",
    "Unknown variants",
    "Pre-exposure balance",
    "CUPED sanity",
    "Sample size",
    "Large lift",
    "Pre-exposure data",
)


@pytest.fixture(scope="module")
def report(demo_run: DemoRun) -> str:
    return render_report(
        demo_run.query("select * from experiment_results"),
        demo_run.query("select * from experiment_diagnostics"),
        demo_run.query("select * from experiment_results_over_time"),
        dimensions=demo_run.query("select * from experiment_dimension_results"),
        descriptions={e.id: e.description for e in demo_run.config.experiments},
    )


def sections(html: str) -> dict[str, str]:
    parts = re.split(r'<section id="(\w+)" class="experiment"', html)[1:]
    return dict(zip(parts[::2], parts[1::2], strict=True))


def metric_rows(section: str) -> list[tuple[str, str, str, str]]:
    """(metric, treatment, verdict, cells) of the metric tables' rows."""
    return re.findall(
        r'<tr data-metric="(\w+)" data-treatment="(\w+)" data-verdict="(\w+)">(.*?)</tr>',
        section.split('class="dimension stack"')[0],
        re.S,
    )


def test_every_experiment_metric_and_treatment_is_in_the_report(
    report: str, demo_run: DemoRun
) -> None:
    by_experiment = sections(report)
    assert set(by_experiment) == {e.id for e in demo_run.config.experiments}
    for experiment in demo_run.config.experiments:
        section = by_experiment[experiment.id]
        rows = {(m, t) for m, t, _, _ in metric_rows(section)}
        assert rows == {(m, t) for m in experiment.metrics for t in experiment.treatments}
        assert f'<p class="description">{experiment.description}</p>' in section
        assert re.search(r"<dt>Dates</dt><dd>2026-03-\d\d to 2026-0\d-\d\d \(\d+ days\)", section)
        # An over-time chart per primary metric and treatment, or why there is none (metrics
        # of matured subjects are not replayed day by day).
        primary = [m for m in experiment.metrics if experiment.role(m) == "primary"]
        matured = [m for m in primary if demo_run.config.metrics[m].aggregation == "retention"]
        charts_ = section.count('<svg class="chart"')
        assert charts_ == (len(primary) - len(matured)) * len(experiment.treatments)
        assert section.count("Not charted: the results over time do not replay") == len(
            matured
        ) * len(experiment.treatments)
        for label in HEALTH_CHECKS:
            assert f"<strong>{label}</strong>" in section
        for dimension in experiment.dimensions:
            assert f'data-dimension="{dimension}"' in section


def test_report_numbers_equal_the_result_tables(report: str, demo_run: DemoRun) -> None:
    results = demo_run.query("select * from experiment_results").set_index(
        ["experiment_id", "metric_id", "treatment_variant_id"]
    )
    checked = 0
    for experiment_id, section in sections(report).items():
        for metric, treatment, verdict, cells in metric_rows(section):
            row = results.loc[(experiment_id, metric, treatment)]
            values = [float(v) for v in re.findall(r'data-value="([^"]+)"', cells)]
            # The report reads the stored decision columns and recomputes nothing.
            expected = [
                row.control_mean,
                row.treatment_mean,
                row.decision_absolute_effect,
                row.decision_relative_effect,
                row.decision_p_value,
            ]
            assert values == pytest.approx(expected, rel=1e-12)
            assert f">{row.decision_relative_effect * 100:+.1f}%<" in cells
            assert verdict == row.verdict
            assert f'data-verdict="{row.verdict}">{verdict_text(row.verdict)}</td>' in cells
            checked += 1
        kinds = {interval_label(r) for r in results.loc[experiment_id].to_dict("records")}
        assert all(kind in section for kind in kinds)
    assert checked == len(results) == 24


def test_unadjusted_and_bayesian_figures_equal_the_result_tables(
    report: str, demo_run: DemoRun
) -> None:
    results = demo_run.query("select * from experiment_results").set_index(
        ["experiment_id", "metric_id", "treatment_variant_id"]
    )
    for experiment_id, section in sections(report).items():
        details = section.split('class="details stack"')[1]
        for metric, treatment, cells in re.findall(
            r'<tr data-metric="(\w+)" data-treatment="(\w+)">(.*?)</tr>', details, re.S
        ):
            row = results.loc[(experiment_id, metric, treatment)]
            values = [float(v) for v in re.findall(r'data-value="([^"]+)"', cells)]
            expected = [row.relative_effect, row.bayes_chance_to_win, row.bayes_expected_loss]
            assert values == pytest.approx(expected, rel=1e-12)


def test_over_time_charts_start_when_both_arms_have_enough_subjects(
    report: str, demo_run: DemoRun
) -> None:
    over_time = demo_run.query("select * from experiment_results_over_time")
    series = over_time[
        (over_time.experiment_id == "checkout_redesign") & (over_time.metric_id == "revenue")
    ].sort_values("day_number")
    enough = (series.control_n >= MIN_SUBJECTS_TO_CHART) & (
        series.treatment_n >= MIN_SUBJECTS_TO_CHART
    )
    first = int(series[enough].day_number.iloc[0])
    assert first > 1 and not enough.iloc[0]
    section = sections(report)["checkout_redesign"]
    assert (
        f"From day {first} (2026-03-0{first + 1}), the first day with at least "
        f"{MIN_SUBJECTS_TO_CHART} subjects in each arm"
    ) in section
    chart = section[section.index('<svg class="chart"') :]
    chart = chart[: chart.index("</svg>")]
    assert f">day {first}</text>" in chart and ">day 1</text>" not in chart


def test_axes_have_nice_ticks_and_room_for_their_labels() -> None:
    # The example: an interval of [-698784%, +744019%] on day 1.
    axis = charts.axis_for([-6987.84, 7440.19, 0.1], start=20, end=180, margin=20)
    assert axis.ticks[0] >= -1 and axis.ticks[-1] <= 2
    assert axis.labels_fit()
    for values in ([-0.12, 0.86], [-0.573, 1.755], [-0.02, 0.03], [0.4, 0.9]):
        axis = charts.axis_for(values, start=22, end=178, margin=22)
        steps = {round(b - a, 12) for a, b in zip(axis.ticks, axis.ticks[1:], strict=False)}
        assert len(steps) == 1
        step = steps.pop()
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert round(mantissa, 9) in (1, 2, 2.5, 5)
        assert axis.labels_fit() and axis.low <= min(values) and axis.high >= max(values)


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
    html = output.read_text()
    assert "<h1>Experiment results</h1>" in html
    assert "New checkout page against the current one." in html  # from the config
    assert 'data-dimension="platform"' in html  # from experiment_dimension_results


def test_report_output_is_relative_to_the_project_directory(
    demo_run: DemoRun,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml", "experiments.yml"):
        shutil.copy(REPO / name, project / name)
    for folder in ("models", "macros", "data-tests", "seeds"):  # the report reads through dbt
        (project / folder).symlink_to(REPO / folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("XP_DUCKDB_PATH", str(demo_run.path))
    assert main(["report", "--project-dir", str(project)]) == 0
    assert (project / "experiment_report.html").exists()
    assert main(["report", "--project-dir", str(project), "--output", "reports/r.html"]) == 0
    assert (project / "reports" / "r.html").exists()
    assert list(elsewhere.iterdir()) == []
    assert capsys.readouterr().out.endswith(f"Wrote the report to {project / 'reports/r.html'}\n")


def test_a_failed_health_check_is_a_banner_and_withholds_the_verdicts(
    demo_run: DemoRun,
) -> None:
    results = demo_run.query("select * from experiment_results")
    diagnostics = demo_run.query("select * from experiment_diagnostics")
    failed = diagnostics.experiment_id == "onboarding_flow"
    diagnostics.loc[failed, ["health_status", "srm_status"]] = "fail"
    diagnostics.loc[failed, "srm_reason"] = "sample ratio mismatch (p = 1e-09)"
    results.loc[results.experiment_id == "onboarding_flow", "verdict"] = "unhealthy"
    # Without the optional tables: no charts, breakdowns or dates, and nothing breaks.
    section = sections(render_report(results, diagnostics))["onboarding_flow"]
    assert (
        '<div class="banner" role="alert"><strong>✗ Verdicts withheld.</strong> This '
        "experiment failed 1 health check: Sample ratio: sample ratio mismatch (p = 1e-09)."
    ) in " ".join(section.split())
    verdicts = {verdict for _, _, verdict, _ in metric_rows(section)}
    assert verdicts == {"unhealthy"} and section.count("✗ withheld</td>") == 14
    assert "better</td>" not in section and "worse</td>" not in section
    assert '<svg class="chart"' not in section and "<dt>Dates</dt>" not in section
