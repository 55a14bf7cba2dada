"""The words and number formats people see, shared by the terminal summary and the HTML
report so both say the same thing in the same order."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis_py.decisions import ESTIMATE_PREFIX

#: Health checks in display order, with their labels.
CHECKS = {
    "srm": "Sample ratio",
    "multi_variant": "Multi-variant subjects",
    "pre_exposure_balance": "Pre-exposure balance",
    "cuped_sanity": "CUPED sanity",
    "sample_size": "Sample size",
    "large_lift": "Large lift",
    "pre_exposure_data": "Pre-exposure data",
}
STATUS_LABEL = {"ok": "OK", "warning": "WARNING", "fail": "FAIL", "not_applicable": "N/A"}
STATUS_SYMBOL = {"ok": "✓", "warning": "!", "fail": "✗", "not_applicable": "–"}
ROLE_ORDER = {"primary": 0, "secondary": 1, "guardrail": 2}


def missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def percent(value: Any, digits: int = 1) -> str:
    return "n/a" if missing(value) else f"{value * 100:+.{digits}f}%"


def share(value: Any) -> str:
    """A proportion without sign, e.g. '42%'."""
    return "n/a" if missing(value) else f"{value * 100:.0f}%"


def p_value(value: Any) -> str:
    if missing(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def number(value: Any) -> str:
    """A mean or effect with sensible digits: 4 significant, no exponent for usual sizes."""
    if missing(value):
        return "n/a"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:,.4g}"


def timestamp(value: Any) -> str:
    """A UTC time to the minute, e.g. '2026-11-26 04:16 UTC'."""
    return "n/a" if missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")


def probability(value: Any) -> str:
    return "n/a" if missing(value) else f"{value * 100:.1f}%"


def decision(row: Any) -> dict[str, Any]:
    """The decision estimate of a result row and what it means for the metric.

    verdict: "better" or "worse" when the (multiplicity-adjusted) interval of the relative
    effect excludes 0, in the light of the metric's desired direction; "inconclusive"
    otherwise; "no result" when the comparison could not be computed.
    """
    prefix = ESTIMATE_PREFIX.get(row["decision_estimate"], "")
    lift = row[prefix + "relative_effect"]
    lower = row["adjusted_relative_effect_ci_lower"]
    upper = row["adjusted_relative_effect_ci_upper"]
    if row["status"] not in ("ok",) or missing(lower) or missing(upper):
        verdict = "no result"
    elif lower > 0 or upper < 0:
        went_up = lower > 0
        verdict = "better" if went_up == (row["metric_direction"] == "increase") else "worse"
    else:
        verdict = "inconclusive"
    return {
        "lift": lift, "lower": lower, "upper": upper, "verdict": verdict,
        "unadjusted_lift": row["relative_effect"],
        "unadjusted_lower": row["relative_effect_ci_lower"],
        "unadjusted_upper": row["relative_effect_ci_upper"],
    }


VERDICT_SYMBOL = {"better": "▲", "worse": "▼", "inconclusive": "●", "no result": "○"}


def ordered_results(results: pd.DataFrame, experiment_id: str) -> pd.DataFrame:
    """An experiment's rows: primary, secondary, guardrail metrics, then config order."""
    rows = results[results["experiment_id"] == experiment_id].copy()
    rows["_role"] = rows["metric_role"].map(ROLE_ORDER)
    rows["_order"] = range(len(rows))
    return rows.sort_values(["_role", "_order"], kind="stable").drop(columns=["_role",
                                                                               "_order"])
