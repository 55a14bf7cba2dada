"""What the report shows of one experiment: header, metric tables by role, power.

Everything comes from the experiment's stored rows: verdicts, intervals and p-values are
the stored decision columns, and nothing here recomputes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis_py.formats import signed_number
from analysis_py.pipeline.decisions import ESTIMATE_LABEL
from analysis_py.presentation import charts
from analysis_py.presentation import labels as fmt

ROLE_TITLE = {"primary": "Primary metrics", "secondary": "Secondary metrics"}


def metric_row(row: dict[str, Any], axis: charts.Axis) -> dict[str, Any]:
    """One comparison's cells in a metric table.

    The arms' means and counts, the absolute and relative effects, the decision interval as
    text and as a bar on the table's axis, the p-value and the verdict.
    """
    shown = fmt.decision(row)
    name = row["metric_display_name"]
    interval = fmt.interval_text(shown)
    kind = fmt.interval_label(row)
    usable = row["status"] in ("ok", "zero_control_mean")
    return {
        "row": row,
        "shown": shown,
        "name": name,
        "id_differs": fmt.shows_id(name, row["metric_id"]),
        "lower_is_better": row["metric_direction"] == "decrease",
        "control_mean": fmt.number(row["control_mean"]),
        "treatment_mean": fmt.number(row["treatment_mean"]),
        "control_n": fmt.count(row["control_n"]),
        "treatment_n": fmt.count(row["treatment_n"]),
        "absolute": signed_number(row["decision_absolute_effect"]) if usable else "n/a",
        "relative": fmt.percent(shown["lift"]) if usable else "n/a",
        "interval": interval if usable else "",
        "kind": kind,
        "bar": _bar(shown, axis, f"{name} · {row['treatment_variant_id']}: {interval}, {kind}")
        if usable and shown["absolute"] is None
        else "",
        "p": fmt.p_value(shown["p_value"]) if usable else "n/a",
        "verdict_text": fmt.verdict_text(shown["verdict"]),
        "note": _note(row),
        "noninferiority": fmt.noninferiority(row),
    }


def _bar(shown: dict[str, Any], axis: charts.Axis, title: str) -> str:
    return charts.interval_bar(
        shown["lift"], shown["lower"], shown["upper"], axis, verdict=shown["verdict"], title=title
    )


def _note(row: dict[str, Any]) -> str:
    """Why a row has no verdict: its data problem (status), else nothing."""
    if row["status"] not in ("ok", "zero_control_mean"):
        return str(row["status_reason"])
    if row["decision_scale"] == "absolute":
        return "control mean is 0: effect and interval on the absolute scale"
    return ""


def metric_table(title: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A table of comparisons on one shared interval axis.

    Its interval kind goes in the caption when every row has the same one, else in each row.
    """
    axis = charts.bar_axis(
        [v for r in rows for v in (r["decision_ci_lower"], r["decision_ci_upper"])]
    )
    cells = [metric_row(r, axis) for r in rows]
    kinds = {c["kind"] for c in cells}
    return {
        "title": title,
        "rows": cells,
        "axis": charts.axis_strip(axis),
        "kind": kinds.pop() if len(kinds) == 1 else "",
        "guardrail": any(r["metric_role"] == "guardrail" for r in rows),
    }


def metric_tables(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Primary and secondary metrics, and guardrails, each in a table of its own."""
    tables = []
    for role, title in (*ROLE_TITLE.items(), ("guardrail", "Guardrails")):
        mine = [r for r in rows if r["metric_role"] == role]
        if mine:
            tables.append(metric_table(title, mine))
    return tables


def header(diagnostic: dict[str, Any], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The experiment's header: subjects per arm, how verdicts are reached, health.

    Subjects per arm are set against the configured split; the failing and warning health
    checks are listed apart from the others.
    """
    expected = dict(fmt.arm_counts(diagnostic["expected_shares"]))
    arms = fmt.arm_counts(diagnostic["subjects_per_variant"])
    total = sum(n for _, n in arms) or 1
    checks = [
        {
            "label": label,
            "status": diagnostic[f"{check}_status"],
            "reason": diagnostic[f"{check}_reason"],
        }
        for check, label in fmt.CHECKS.items()
    ]
    return {
        "arms": [
            {
                "name": name,
                "n": fmt.count(n),
                "share": f"{n / total * 100:.1f}%",
                "expected": f"{expected[name] * 100:g}%" if name in expected else "n/a",
            }
            for name, n in arms
        ],
        "subjects": fmt.plural(int(diagnostic["n_analysed_subjects"]), "subject"),
        "method": _method(rows),
        "checks": checks,
        "failed": [c for c in checks if c["status"] == "fail"],
        "warned": [c for c in checks if c["status"] == "warning"],
    }


def _method(rows: Sequence[dict[str, Any]]) -> str:
    """How the verdicts are reached, in a sentence, from the stored decision columns."""
    if not rows:
        return ""
    first = rows[0]
    estimates = sorted({ESTIMATE_LABEL[r["decision_estimate"]] for r in rows})
    text = f"{' and '.join(estimates)} estimate; "
    kinds = [fmt.interval_label(r) for r in rows if r["metric_role"] != "guardrail"]
    text += f"{kinds[0] if kinds else fmt.interval_label(first)} for primary and secondary metrics"
    if first["decision_method"] == "sequential":
        text += " (sequential: always valid, so reading them every day is safe)"
    return text + "."


def power_rows(
    rows: Sequence[dict[str, Any]], over_time: pd.DataFrame | None
) -> list[dict[str, Any]]:
    """Power and progress of each primary comparison.

    The effect detectable now, the target, and the subjects still needed, with the days
    left at the last week's enrolment.
    """
    out = []
    for row in rows:
        if row["metric_role"] != "primary" or fmt.missing(row["power_subjects_needed"]):
            continue
        now = float(row["control_n"]) + float(row["treatment_n"])
        needed = float(row["power_subjects_needed"])
        progress = min(float(row["power_progress"]), 1.0)
        out.append(
            {
                "name": row["metric_display_name"],
                "treatment": row["treatment_variant_id"],
                "detectable": fmt.share(row["power_minimum_detectable_relative_effect"]),
                "target": fmt.share(row["power_target_relative_effect"]),
                "now": fmt.count(now),
                "needed": fmt.count(math.ceil(needed)),
                "progress": progress,
                "progress_text": f"{progress * 100:.0f}%",
                "left": _time_left(needed - now, _daily_enrolment(row, over_time)),
            }
        )
    return out


def _daily_enrolment(row: dict[str, Any], over_time: pd.DataFrame | None) -> float:
    """Subjects a day joining the comparison's two arms over its last 7 days."""
    if over_time is None or over_time.empty:
        return math.nan
    series = over_time[
        (over_time["experiment_id"] == row["experiment_id"])
        & (over_time["metric_id"] == row["metric_id"])
        & (over_time["treatment_variant_id"] == row["treatment_variant_id"])
    ].sort_values("day_number")
    if len(series) < 2:
        return math.nan
    subjects = (series["control_n"] + series["treatment_n"]).to_numpy(dtype=float)
    days = series["day_number"].to_numpy(dtype=float)
    back = max(0, len(series) - 8)
    return float((subjects[-1] - subjects[back]) / max(days[-1] - days[back], 1))


def _time_left(left: float, per_day: float) -> str:
    if left <= 0:
        return "target reached"
    more = f"{fmt.count(math.ceil(left))} more subjects"
    if math.isnan(per_day):
        return more
    if per_day <= 0:
        return f"{more}; enrolment has stopped"
    days = math.ceil(left / per_day)
    if days > 365:
        return f"{more}: over a year at {fmt.count(round(per_day))} a day"
    return f"{more}: about {fmt.plural(days, 'day')} at {fmt.count(round(per_day))} a day"
