"""The words people see, shared by the terminal summary and the HTML report.

One home for them, so that both say the same thing in the same order.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis_py.formats import missing, number, p_value, percent
from analysis_py.presentation.formatting import count, p_text, plural, share

__all__ = ["count", "missing", "number", "p_text", "p_value", "percent", "plural", "share"]

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
ROLE_LETTER = {"primary": "P", "secondary": "S", "guardrail": "G"}

VERDICT_SYMBOL = {
    "better": "▲",
    "worse": "▼",
    "inconclusive": "●",
    "no_result": "○",
    "unhealthy": "✗",
}
#: What a stored verdict reads as: an unhealthy experiment's verdicts are withheld.
VERDICT_LABEL = {"no_result": "no result", "unhealthy": "withheld"}

CORRECTION_NAME = {
    "holm": "Holm",
    "benjamini_hochberg": "BH",
    "bonferroni": "Bonferroni",
}


def timestamp(value: Any) -> str:
    """A UTC time to the minute, e.g. '2026-11-26 04:16 UTC'."""
    return "n/a" if missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")


def probability(value: Any) -> str:
    """A probability as a percent with one decimal, e.g. '97.5%'."""
    return "n/a" if missing(value) else f"{value * 100:.1f}%"


def verdict_label(verdict: str) -> str:
    """The words for a stored verdict: 'better', 'no result', 'withheld', ..."""
    return VERDICT_LABEL.get(verdict, verdict)


def verdict_text(verdict: str) -> str:
    """Symbol and words, e.g. '▲ better' or '✗ withheld'."""
    return f"{VERDICT_SYMBOL[verdict]} {verdict_label(verdict)}"


def decision(row: Any) -> dict[str, Any]:
    """What a result row's stored decision columns say, ready to show.

    The verdict and the relative lift with the interval the verdict reads; nothing is
    recomputed here.

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
        "verdict_label": verdict_label(row["verdict"]),
        "lift": row["decision_relative_effect"],
        "lower": lower if relative else math.nan,
        "upper": upper if relative else math.nan,
        "absolute": None if relative else (row["decision_absolute_effect"], lower, upper),
        "p_value": row["decision_p_value"],
        "unadjusted_lift": row["relative_effect"],
        "unadjusted_lower": row["relative_effect_ci_lower"],
        "unadjusted_upper": row["relative_effect_ci_upper"],
    }


def interval_text(shown: dict[str, Any]) -> str:
    """The decision interval in brackets: '[-12.0%, +86.2%]', or '[-0.8, +1.2] abs.'."""
    if shown["absolute"] is None:
        return f"[{percent(shown['lower'])}, {percent(shown['upper'])}]"
    return f"[{number(shown['absolute'][1])}, {number(shown['absolute'][2])}] abs."


def interval_label(row: Any) -> str:
    """What the decision interval is, e.g. '95% CI, Holm-adjusted'.

    Or '95% always-valid CI' (sequential), '95% one-sided CI'; a guardrail's has no
    correction for multiple testing, and its label says none.
    """
    level = f"{row['confidence_level'] * 100:g}%"
    kind = "always-valid CI" if row["decision_method"] == "sequential" else "CI"
    if row.get("alternative", "two-sided") != "two-sided":
        kind = f"one-sided {kind}"
    correction = CORRECTION_NAME.get(row["multiple_testing_method"])
    return f"{level} {kind}" + (f", {correction}-adjusted" if correction else "")


def ordered_results(results: pd.DataFrame, experiment_id: str) -> pd.DataFrame:
    """An experiment's rows: primary, secondary, guardrail metrics, then config order."""
    rows = results[results["experiment_id"] == experiment_id].copy()
    rows["_role"] = rows["metric_role"].map(ROLE_ORDER)
    rows["_order"] = range(len(rows))
    return rows.sort_values(["_role", "_order"], kind="stable").drop(columns=["_role", "_order"])


def arm_counts(text: Any) -> list[tuple[str, float]]:
    """'control=986, treatment=936' (subjects_per_variant, expected_shares) as pairs.

    >>> arm_counts("control=0.5, treatment=0.5")
    [('control', 0.5), ('treatment', 0.5)]
    """
    if missing(text) or not str(text):
        return []
    pairs = (item.rsplit("=", 1) for item in str(text).split(", "))
    return [(name, float(value)) for name, value in pairs]


def noninferiority(row: Any) -> tuple[str, str] | None:
    """A guardrail's non-inferiority test, e.g. ('holds', 'margin -5%, p = 0.011').

    The first part is 'holds' or 'not shown'; None when the row has no such test.
    """
    if missing(row.get("noninferiority_margin")) or missing(row.get("is_noninferior")):
        return None
    return (
        "holds" if row["is_noninferior"] else "not shown",
        f"margin -{row['noninferiority_margin'] * 100:g}%, {p_text(row['noninferiority_p_value'])}",
    )


def noninferiority_text(row: Any) -> str:
    """The non-inferiority test in one phrase, e.g. 'holds (margin -5%, p = 0.011)'."""
    test = noninferiority(row)
    return f"{test[0]} ({test[1]})" if test else ""


def shows_id(display_name: str, metric_id: str) -> bool:
    """Whether a metric's id says more than its display name.

    'Active days' for active_days does not need it; 'Revenue in DE and FR' for eu_revenue
    does.
    """
    return display_name.lower() != metric_id.replace("_", " ").lower()


def subjects_text(n_subjects: Any, per_variant: Any) -> str:
    """'1,922 subjects (control 986, treatment 936)'."""
    arms = ", ".join(f"{name} {count(value)}" for name, value in arm_counts(per_variant))
    return plural(int(n_subjects), "subject") + (f" ({arms})" if arms else "")
