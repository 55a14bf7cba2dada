"""The verdict reasons, built in bulk, equal a row-by-row reference from the scalar formats."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_py.formats import p_value, percent, signed_number
from analysis_py.pipeline.decisions import _METHOD_LABEL, ESTIMATE_LABEL, _reasons


def reference_reason(row: dict, alpha: float, outcome: str) -> str:
    """One reason from the scalar formats, as the reasons were written row by row."""
    figure = signed_number if row["decision_scale"] == "absolute" else percent
    value = (
        row["decision_absolute_effect"]
        if row["decision_scale"] == "absolute"
        else row["decision_relative_effect"]
    )
    kind = ("always-valid " if row["decision_method"] == "sequential" else "") + _METHOD_LABEL.get(
        row["multiple_testing_method"], ""
    )
    why = (
        f"contains 0 (p >= {alpha:g})"
        if outcome == "inconclusive"
        else f"excludes 0 (p < {alpha:g})"
    )
    return (
        f"{ESTIMATE_LABEL[row['decision_estimate']]} {row['decision_scale']} effect "
        f"{figure(value)}, {kind}interval [{figure(row['decision_ci_lower'])}, "
        f"{figure(row['decision_ci_upper'])}], p = {p_value(row['decision_p_value'])}: the "
        f"interval {why}"
    )


@pytest.mark.parametrize("seed", range(3))
def test_reasons_equal_the_row_by_row_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    effect = rng.normal(0, 0.2, n)
    effect[rng.random(n) < 0.02] = np.nan
    half = np.abs(rng.normal(0.05, 0.05, n))
    p = rng.uniform(0, 1, n) ** 3
    p[rng.random(n) < 0.02] = np.nan
    columns: dict[str, object] = {
        "decision_scale": rng.choice(["relative", "absolute"], n, p=[0.9, 0.1]).astype(object),
        "decision_estimate": rng.choice(["cuped++", "cuped", "unadjusted"], n).astype(object),
        "decision_method": rng.choice(["fixed_horizon", "sequential"], n).astype(object),
        "multiple_testing_method": rng.choice(list(_METHOD_LABEL), n).astype(object),
        "decision_relative_effect": effect,
        "decision_absolute_effect": effect * rng.lognormal(0, 3, n),
        "decision_ci_lower": effect - half,
        "decision_ci_upper": np.where(rng.random(n) < 0.05, np.inf, effect + half),
        "decision_p_value": p,
    }
    alpha = rng.choice([0.05, 0.1, 0.01, 0.025], n)
    verdict = rng.choice(["better", "worse", "inconclusive"], n).astype(object)
    expected = [
        reference_reason({k: np.asarray(v)[i] for k, v in columns.items()}, alpha[i], verdict[i])
        for i in range(n)
    ]
    assert _reasons(columns, alpha, verdict).tolist() == expected
