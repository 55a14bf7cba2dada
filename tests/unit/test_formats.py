"""The array formats equal the scalar ones, value by value, edge cases included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_py.formats import missing, p_value, p_value_array, percent, percent_array

EDGES = np.array(
    [np.nan, -np.inf, np.inf, 0.0, -0.0, 1e-12, 0.000999, 0.001, 0.0015, 0.0494, 0.5, 1.0]
)


def test_p_value_array_is_p_value_per_value() -> None:
    assert p_value_array(EDGES) == [p_value(float(value)) for value in EDGES]


def test_percent_array_is_percent_per_value() -> None:
    assert percent_array(EDGES, 2) == [percent(float(value), 2) for value in EDGES]


def test_missing() -> None:
    assert missing(None) and missing(float("nan")) and missing(pd.NA) and missing(np.nan)
    assert not missing(0.0) and not missing(0) and not missing("") and not missing(np.float64(1))
