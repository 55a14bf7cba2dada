"""A readable terminal summary of one analysis run (same words and order as the report)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis_py.presentation.labels import (
    CHECKS,
    ROLE_LETTER,
    STATUS_LABEL,
    decision,
    interval_label,
    interval_text,
    noninferiority_text,
    ordered_results,
    p_value,
    percent,
    probability,
    subjects_text,
    verdict_text,
)

#: ANSI colours for a terminal; never written when the output is not one.
ANSI = {
    "better": "32",
    "worse": "31",
    "unhealthy": "31",
    "ok": "32",
    "warning": "33",
    "fail": "31;1",
}
LEGEND = (
    "P = primary, S = secondary, G = guardrail. lift: relative effect of the decision "
    "estimate (CUPED++, CUPED or unadjusted); interval and p: the ones the verdict reads "
    "(experiment_results.decision_*), of the kind named above each block; win: Bayesian "
    "chance to beat control; withheld: the experiment failed a health check."
)


def paint(text: str, key: str, colour: bool) -> str:
    """``text`` in the colour for ``key`` (a verdict or status) when ``colour`` is on."""
    code = ANSI.get(key)
    return f"\033[{code}m{text}\033[0m" if colour and code else text


def format_summary(results: pd.DataFrame, diagnostics: pd.DataFrame, colour: bool = False) -> str:
    """The summary: per experiment, its health checks and then its comparisons.

    One line per metric and treatment (primary, secondary, guardrail) with the stored
    decision: the lift, the interval and p-value the verdict reads, the Bayesian chance to
    win, and the verdict. A header names the kind of interval wherever it changes
    (guardrails are not corrected for multiple testing).
    """
    lines: list[str] = []
    for diagnostic in diagnostics.to_dict("records"):
        lines += _health_lines(diagnostic, colour)
        rows = ordered_results(results, diagnostic["experiment_id"]).to_dict("records")
        if diagnostic["health_status"] == "fail":
            lines.append(
                "  verdicts withheld: the experiment failed a health check above; the "
                "figures are shown for diagnosis only"
            )
        lines += _comparison_lines(rows, colour)
        lines.append("")
    lines.append(LEGEND)
    return "\n".join(lines)


def _health_lines(diagnostic: dict[str, Any], colour: bool) -> list[str]:
    status = diagnostic["health_status"]
    lines = [
        f"Experiment {diagnostic['experiment_id']}: "
        + subjects_text(diagnostic["n_analysed_subjects"], diagnostic["subjects_per_variant"]),
        f"  health: {paint(STATUS_LABEL[status], status, colour)}",
    ]
    for check, label in CHECKS.items():
        status = diagnostic[f"{check}_status"]
        if status != "not_applicable":
            shown = paint(f"{STATUS_LABEL[status]:<8}", status, colour)
            lines.append(f"    {shown}{label}: {diagnostic[f'{check}_reason']}")
    return lines


def _metric_label(row: dict[str, Any]) -> str:
    return f"{row['metric_display_name']} ({ROLE_LETTER[row['metric_role']]})"


def _comparison_lines(rows: list[dict[str, Any]], colour: bool) -> list[str]:
    """The comparisons' lines, with a header wherever the interval's kind changes."""
    if not rows:
        return ["  no comparisons"]
    shown = [decision(row) for row in rows]
    intervals = [interval_text(s) for s in shown]
    kinds = [interval_label(row) for row in rows]
    metric = max(22, *(len(_metric_label(r)) + 2 for r in rows))
    treatment = max(13, *(len(r["treatment_variant_id"]) + 2 for r in rows))
    interval = max(19, *(len(text) + 2 for text in (*intervals, *kinds)))
    lines, kind = [], None
    for row, s, text, row_kind in zip(rows, shown, intervals, kinds, strict=True):
        if row_kind != kind:
            kind = row_kind
            lines.append(
                f"  {'metric':<{metric}}{'treatment':<{treatment}}{'lift':>8}  "
                f"{kind:<{interval}}{'p':>7}{'win':>7}  verdict"
            )
        label = f"  {_metric_label(row):<{metric}}{row['treatment_variant_id']:<{treatment}}"
        if row["status"] not in ("ok", "zero_control_mean"):
            lines.append(f"{label}  {row['status']}: {row['status_reason']}")
            continue
        lines.append(
            f"{label}{percent(s['lift']):>8}  {text:<{interval}}{p_value(s['p_value']):>7}"
            f"{probability(row['bayes_chance_to_win']):>7}  "
            + paint(verdict_text(s["verdict"]), s["verdict"], colour)
        )
        if row["metric_role"] == "guardrail" and noninferiority_text(row):
            lines.append(f"  {'':<{metric}}non-inferiority: {noninferiority_text(row)}")
    return lines
