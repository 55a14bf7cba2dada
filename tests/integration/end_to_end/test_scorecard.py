"""The scorecards are the wide result tables, narrowed: same rows, same values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis_py.result_tables import SCORECARD_SOURCES, TABLE_KEYS, column_names
from tests.conftest import DemoRun, n_comparisons


@pytest.mark.parametrize("scorecard", list(SCORECARD_SOURCES))
def test_scorecard_equals_its_wide_table(demo_run: DemoRun, scorecard: str) -> None:
    wide_table = SCORECARD_SOURCES[scorecard]
    keys = TABLE_KEYS[scorecard]
    narrow = demo_run.query(f"select * from {scorecard}").sort_values(keys, ignore_index=True)
    wide = demo_run.query(f"select * from {wide_table}").sort_values(keys, ignore_index=True)
    assert list(narrow.columns) == column_names(scorecard)
    assert len(narrow) == len(wide) > 0
    shared = [c for c in narrow.columns if c in wide.columns]
    assert len(shared) == len(narrow.columns) - (2 if scorecard == "experiment_scorecard" else 0)
    pd.testing.assert_frame_equal(narrow[shared], wide[shared], check_exact=True)


def test_scorecard_carries_health_and_description(demo_run: DemoRun) -> None:
    scorecard = demo_run.query("select * from experiment_scorecard")
    diagnostics = demo_run.query("select experiment_id, health_status from experiment_diagnostics")
    assert len(scorecard) == n_comparisons(demo_run.config)
    health = scorecard.merge(diagnostics, on="experiment_id", suffixes=("", "_diagnostics"))
    assert (health.health_status == health.health_status_diagnostics).all()
    descriptions = {e.id: e.description for e in demo_run.config.experiments}
    assert all(descriptions.values())  # the demo describes every experiment
    assert (scorecard.experiment_description == scorecard.experiment_id.map(descriptions)).all()
    # A dashboard's query reads only the scorecard and gets a decided comparison per row.
    assert scorecard.verdict.isin(["better", "worse", "inconclusive"]).all()
    decided = scorecard.decision_ci_lower.notna()
    assert np.all(scorecard.decision_ci_lower[decided] <= scorecard.decision_ci_upper[decided])
