"""The words and number formats people see, shared by the terminal summary and the HTML
report so both say the same thing in the same order.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis_py.presentation.formatting import missing, number, p_value, percent, share

__all__ = ["missing", "number", "p_value", "percent", "share"]

#: Health checks in display order, with their labels.
CHECKS = {
    "srm": "Sample ratio",
    "multi_variant": "Multi-variant subjects",
    "unknown_variant": "Unknown variants",
    "pre_exposure_balance": "Pre-exposure balance",
    "cuped_sanity": "CUPED sanity",
    "sample_size": "Sample size",
    "large_lift": "Large lift",
    "pre_exposure_data": "Pre-exposure data",
}
STATUS_LABEL = {"ok": "OK", "warning": "WARNING", "fail": "FAIL", "not_applicable": "N/A"}
STATUS_SYMBOL = {"ok": "✓", "warning": "!", "fail": "✗", "not_applicable": "–"}
ROLE_ORDER = {"primary": 0, "secondary": 1, "guardrail": 2}


def timestamp(value: Any) -> str:
    """A UTC time to the minute, e.g. '2026-11-26 04:16 UTC'."""
    return "n/a" if missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")


def probability(value: Any) -> str:
    return "n/a" if missing(value) else f"{value * 100:.1f}%"


def decision(row: Any) -> dict[str, Any]:
    """What a result row's stored decision columns say, ready to show: the verdict and the
    relative lift with the interval the verdict reads (nothing is recomputed here).

    For a decision on the absolute scale (control mean 0) the relative figures are n/a and
    ``absolute`` carries the effect and its interval.
    """
    relative = row["decision_scale"] == "relative"
    # A one-sided interval's open bound is stored as null: it is unbounded.
    lower, upper = row["decision_ci_lower"], row["decision_ci_upper"]
    if row.get("alternative") == "less" and missing(lower):
        lower = -math.inf
    if row.get("alternative") == "greater" and missing(upper):
        upper = math.inf
    return {
        "verdict": row["verdict"],
        "verdict_label": VERDICT_LABEL.get(row["verdict"], row["verdict"]),
        "lift": row["decision_relative_effect"],
        "lower": lower if relative else math.nan,
        "upper": upper if relative else math.nan,
        "absolute": None if relative else (row["decision_absolute_effect"], lower, upper),
        "p_value": row["decision_p_value"],
        "unadjusted_lift": row["relative_effect"],
        "unadjusted_lower": row["relative_effect_ci_lower"],
        "unadjusted_upper": row["relative_effect_ci_upper"],
    }


VERDICT_SYMBOL = {
    "better": "▲",
    "worse": "▼",
    "inconclusive": "●",
    "no_result": "○",
    "unhealthy": "✗",
}
VERDICT_LABEL = {"no_result": "no result"}


def interval_label(row: Any) -> str:
    """What the decision interval is, e.g. '95% CI, Holm-adjusted' or '95% always-valid'."""
    level = f"{row['confidence_level'] * 100:g}%"
    kind = "always-valid CI" if row["decision_method"] == "sequential" else "CI"
    if row.get("alternative", "two-sided") != "two-sided":
        kind = f"one-sided {kind}"
    correction = {"holm": ", Holm", "benjamini_hochberg": ", BH", "bonferroni": ", Bonferroni"}.get(
        row["multiple_testing_method"], ""
    )
    return f"{level} {kind}{correction}"


def ordered_results(results: pd.DataFrame, experiment_id: str) -> pd.DataFrame:
    """An experiment's rows: primary, secondary, guardrail metrics, then config order."""
    rows = results[results["experiment_id"] == experiment_id].copy()
    rows["_role"] = rows["metric_role"].map(ROLE_ORDER)
    rows["_order"] = range(len(rows))
    return rows.sort_values(["_role", "_order"], kind="stable").drop(columns=["_role", "_order"])
