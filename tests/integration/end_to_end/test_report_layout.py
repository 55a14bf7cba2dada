"""The report as a browser lays it out, at a desktop (1400 px) and a phone (390 px) width.

Nothing is wider than its box, no chart label is cut off, and every verdict on the page is
the stored one. Screenshots go to the test's temporary directory, and also to
$XP_SCREENSHOT_DIR when it is set.

Two data sets: the demo, and a staggered-enrolment one (scripts/generate_staggered_data.py)
with three arms, early days of a few dozen subjects and an experiment whose sample-ratio
check fails.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis_py.cli import main
from analysis_py.config import load_config
from analysis_py.presentation.labels import ordered_results
from analysis_py.presentation.report import write_report
from analysis_py.presentation.slices import MIN_SUBJECTS_TO_CHART
from tests.browser import Chromium
from tests.conftest import REPO, DemoRun, load_script
from tests.integration.end_to_end.test_cli_errors import make_small_project

WIDTHS = (1400, 390)
#: What each stored verdict reads as on the page (written out here, not imported).
SHOWN = {
    "better": "▲ better",
    "worse": "▼ worse",
    "inconclusive": "● inconclusive",
    "no_result": "○ no result",
    "unhealthy": "✗ withheld",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-screenshots")


def tables(database: DemoRun) -> dict[str, pd.DataFrame]:
    return {
        name: database.query(f"select * from {name}")
        for name in (
            "experiment_results",
            "experiment_diagnostics",
            "experiment_results_over_time",
            "experiment_dimension_results",
        )
    }


def render(database: DemoRun, path: Path) -> dict[str, pd.DataFrame]:
    found = tables(database)
    write_report(
        found["experiment_results"],
        found["experiment_diagnostics"],
        path,
        found["experiment_results_over_time"],
        dimensions=found["experiment_dimension_results"],
        descriptions={e.id: e.description for e in database.config.experiments},
    )
    return found


def check_layout(
    browser: Chromium, page: Path, name: str, screenshots: Path, results: pd.DataFrame
) -> dict:
    """Lay the page out at each width, save its screenshot, and check it.

    Returns what was measured at the last width.
    """
    measured: dict = {}
    for width in WIDTHS:
        browser.load(page, width)
        shot = browser.screenshot(screenshots / f"{name}-{width}.png")
        if os.environ.get("XP_SCREENSHOT_DIR"):
            target = Path(os.environ["XP_SCREENSHOT_DIR"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, target / shot.name)
        measured = browser.measure()
        assert measured["innerWidth"] == width
        assert measured["scrollWidth"] <= width, f"{name} at {width} px scrolls sideways"
        assert measured["overflowing"] == [], f"{name} at {width} px"
        assert measured["offscreen"] == [], f"{name} at {width} px"
        assert measured["clippedText"] == [], f"{name} at {width} px"
        assert_verdicts_are_the_stored_ones(measured, results)
    assert browser.log == []
    return measured


def assert_verdicts_are_the_stored_ones(measured: dict, results: pd.DataFrame) -> None:
    """Every comparison's row on the page shows its stored verdict, in the stored order.

    And the overview shows each primary comparison's.
    """
    assert set(measured["experiments"]) == set(results["experiment_id"])
    for experiment_id, shown in measured["experiments"].items():
        stored = ordered_results(results, experiment_id)
        expected = [
            [r.metric_id, r.treatment_variant_id, r.verdict, SHOWN[r.verdict]]
            for r in stored.itertuples()
        ]
        assert shown == expected, experiment_id
        primary = [
            row
            for row in expected
            if row[0] in set(stored.loc[stored.metric_role == "primary", "metric_id"])
        ]
        assert measured["overview"][experiment_id] == primary, experiment_id


def test_demo_report_layout_and_verdicts(
    demo_run: DemoRun, browser: Chromium, screenshots: Path
) -> None:
    page = screenshots / "demo.html"
    found = render(demo_run, page)
    check_layout(browser, page, "demo", screenshots, found["experiment_results"])
    html = page.read_text()
    # Every primary metric is in the overview (onboarding_flow has 7), and dimension
    # breakdowns, power and the experiments' descriptions are in the page.
    assert html.count('data-experiment="onboarding_flow"') == 1
    assert 'data-dimension="platform"' in html and 'data-dimension="country"' in html
    assert "Power and progress" in html and "New checkout page against the current one." in html


@pytest.fixture(scope="module")
def staggered_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """`xp run` on the staggered-enrolment data, in a project of its own."""
    generator = load_script(REPO / "scripts" / "generate_staggered_data.py")
    root = tmp_path_factory.mktemp("staggered")
    generator.write(root / "data")
    project = make_small_project(root / "project")
    shutil.copy(root / "data" / "experiments.yml", project / "experiments.yml")
    database = root / "staggered.duckdb"
    connection = duckdb.connect(str(database))
    connection.execute("create schema src")
    for table in ("assignments", "events"):
        connection.execute(
            f"create table src.{table} as select * from read_csv(?)",
            [str(root / "data" / f"{table}.csv")],
        )
    connection.close()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XP_DUCKDB_PATH", str(database))
        # A backfill, so that the charts over time have every day (docs/decisions/0015).
        assert (
            main(
                ["backfill", "--project-dir", str(project), "--analysis-at", generator.ANALYSIS_AT]
            )
            == 0
        )
    yield DemoRun(database, load_config(project / "experiments.yml"))


def first_day_with_enough_subjects(over_time: pd.DataFrame, metric: str, treatment: str) -> int:
    series = over_time[
        (over_time.experiment_id == "pricing_page")
        & (over_time.metric_id == metric)
        & (over_time.treatment_variant_id == treatment)
    ]
    enough = series[
        (series.control_n >= MIN_SUBJECTS_TO_CHART) & (series.treatment_n >= MIN_SUBJECTS_TO_CHART)
    ]
    return int(enough.day_number.min())


@pytest.mark.slow
def test_staggered_three_arm_report_layout_and_verdicts(
    staggered_run: DemoRun, browser: Chromium, screenshots: Path
) -> None:
    page = screenshots / "staggered.html"
    found = render(staggered_run, page)
    results = found["experiment_results"]
    check_layout(browser, page, "staggered", screenshots, results)
    html = page.read_text()
    # The failed sample-ratio check withholds every verdict of search_ranking, with a banner.
    failing = html[html.index('<section id="search_ranking"') :]
    assert '<div class="banner" role="alert"><strong>✗ Verdicts withheld.</strong>' in failing
    assert set(results.loc[results.experiment_id == "search_ranking", "verdict"]) == {"unhealthy"}
    # The data hold all four kinds of verdict the page must tell apart.
    assert {"better", "worse", "inconclusive", "unhealthy"} <= set(results.verdict)
    # Each primary comparison's chart starts on the first day both arms have enough
    # subjects, and says so.
    over_time = found["experiment_results_over_time"]
    pricing = html[
        html.index('<section id="pricing_page"') : html.index('<section id="search_ranking"')
    ]
    for metric, label in (("purchased", "Purchased"), ("revenue", "Revenue")):
        for treatment in ("discount_10", "discount_20"):
            day = first_day_with_enough_subjects(over_time, metric, treatment)
            assert day > 1  # the ramp-up: day 1 has a few dozen subjects
            assert re.search(
                rf"<strong>{label} · {treatment}</strong><span class=\"sub\">From day {day} "
                rf"\([\d-]+\), the first day with at least {MIN_SUBJECTS_TO_CHART} subjects",
                pricing,
            ), (metric, treatment, day)
