"""The array formats equal the scalar ones, value by value, edge cases included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis_py.formats import (
    missing,
    p_value,
    p_value_array,
    percent,
    percent_array,
    texts_per_combination,
)

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


def near_ties(seed: int) -> np.ndarray:
    """Figures on and around rounding ties at 1 to 3 decimals, signs, zeros, huge values."""
    rng = np.random.default_rng(seed)
    ties = np.concatenate(
        [(rng.integers(-100_000, 100_000, 2000) + 0.5) / 10**d for d in (1, 2, 3, 4, 5)]
    )
    return np.concatenate(
        [
            EDGES,
            -EDGES,
            ties,
            np.nextafter(ties, np.inf),
            np.nextafter(ties, -np.inf),
            rng.normal(0, 0.3, 5000),
            rng.uniform(0, 1, 5000),
            rng.normal(0, 1e-4, 1000),
            10.0 ** rng.uniform(-8, 20, 1000) * rng.choice([-1, 1], 1000),
            [1e13, 1e15, 1e16, 2.0**53, -(2.0**60), 0.0005, -0.0005, 0.00049999999999999],
        ]
    )


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("digits", [0, 1, 2, 3])
def test_percent_array_is_percent_per_value_near_ties(seed: int, digits: int) -> None:
    values = near_ties(seed)
    assert percent_array(values, digits) == [percent(float(v), digits) for v in values]


@pytest.mark.parametrize("seed", range(3))
def test_p_value_array_is_p_value_per_value_near_ties(seed: int) -> None:
    values = near_ties(seed)
    assert p_value_array(values) == [p_value(float(v)) for v in values]


def test_texts_per_combination_is_make_per_row() -> None:
    rng = np.random.default_rng(7)
    floats = rng.choice(np.array([0.0, -0.0, np.nan, 1e-300, 0.5, 2.0, -np.inf]), 3000)
    labels = rng.choice(np.array(["a", "b", None, "é"], dtype=object), 3000)
    flags = rng.random(3000) < 0.5
    counts = rng.integers(0, 4, 3000)
    calls = []

    def make(x: float, label: str | None, flag: bool, count: int) -> str:
        calls.append(1)
        return f"{x:.3g}|{label}|{flag}|{count}|{type(x).__name__}{type(count).__name__}"

    expected = [
        make(x, label, flag, count)
        for x, label, flag, count in zip(
            floats.tolist(), labels.tolist(), flags.tolist(), counts.tolist(), strict=True
        )
    ]
    calls.clear()
    assert texts_per_combination(make, floats, labels, flags, counts) == expected
    assert len(calls) <= 7 * 4 * 2 * 4  # once per distinct row
    assert texts_per_combination(make, floats[:0], labels[:0], flags[:0], counts[:0]) == []
