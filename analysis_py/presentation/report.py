"""A self-contained HTML report of the current results: one file, no network requests.

Reads the two result tables (through the warehouse module, so on any engine), and renders
``templates/report.html.j2`` with jinja2. Forest plots are inline SVG drawn here; colours
repeat what symbols and words already say (▲ better, ▼ worse, ● inconclusive).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from analysis_py.pipeline.decisions import ESTIMATE_LABEL
from analysis_py.presentation import labels as fmt

COLOURS = {
    "better": "#1a7f37",
    "worse": "#cf222e",
    "inconclusive": "#57606a",
    "no_result": "#8c959f",
    "unhealthy": "#cf222e",
}


@dataclass(frozen=True)
class PlotRow:
    label: str
    verdict: str
    lift: float
    lower: float
    upper: float
    unadjusted_lift: float
    unadjusted_lower: float
    unadjusted_upper: float


def forest_plot(rows: list[PlotRow], estimate_label: str) -> str:
    """An inline SVG forest plot of relative lifts: the decision estimate (filled circle,
    thick line) above the unadjusted one (hollow diamond, thin line), a dashed line at 0.
    """
    width, left, right, row_height, top = 760, 230, 200, 38, 34
    bounds = [
        abs(v)
        for r in rows
        for v in (r.lower, r.upper, r.unadjusted_lower, r.unadjusted_upper)
        if not fmt.missing(v)
    ]
    extent = max(bounds + [0.01]) * 1.1
    plot_width = width - left - right

    def x(value: float) -> float:
        return left + (value + extent) / (2 * extent) * plot_width

    height = top + row_height * len(rows) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="plot-title">',
        f'<title id="plot-title">Relative lift with {html.escape(estimate_label)} and '
        "unadjusted intervals, one row per metric and treatment</title>",
        f'<line x1="{x(0):.1f}" y1="{top - 10}" x2="{x(0):.1f}" y2="{height - 24}" '
        'stroke="#8c959f" stroke-dasharray="4 3"/>',
    ]
    for tick in (-extent / 1.1, -extent / 2.2, 0.0, extent / 2.2, extent / 1.1):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="middle" fill="#57606a">{fmt.percent(tick, 0)}</text>'
        )
    for index, row in enumerate(rows):
        y = top + index * row_height
        colour = COLOURS[row.verdict]
        parts.append(
            f'<text x="{left - 10}" y="{y + 4}" font-size="13" text-anchor="end" '
            f'fill="#1f2328">{html.escape(row.label)}</text>'
        )
        if not fmt.missing(row.lower):
            parts.append(
                f'<line x1="{x(row.lower):.1f}" y1="{y}" x2="{x(row.upper):.1f}" '
                f'y2="{y}" stroke="{colour}" stroke-width="4"/>'
            )
            parts.append(f'<circle cx="{x(row.lift):.1f}" cy="{y}" r="6" fill="{colour}"/>')
        if not fmt.missing(row.unadjusted_lower):
            yy = y + 12
            parts.append(
                f'<line x1="{x(row.unadjusted_lower):.1f}" y1="{yy}" '
                f'x2="{x(row.unadjusted_upper):.1f}" y2="{yy}" stroke="{colour}" '
                'stroke-width="1.5" opacity="0.8"/>'
            )
            cx = x(row.unadjusted_lift)
            parts.append(
                f'<path d="M {cx:.1f} {yy - 5} L {cx + 5:.1f} {yy} L {cx:.1f} {yy + 5} '
                f'L {cx - 5:.1f} {yy} Z" fill="white" stroke="{colour}" '
                'stroke-width="1.5"/>'
            )
        parts.append(
            f'<text x="{width - right + 12}" y="{y + 4}" font-size="13" '
            f'fill="{colour}">{fmt.VERDICT_SYMBOL[row.verdict]} {row.verdict} '
            f"{fmt.percent(row.lift)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def time_series_plot(series: pd.DataFrame, title: str) -> str:
    """An inline SVG line chart of the cumulative relative effect of the decision estimate
    day by day, with the interval its verdict reads (adjusted, or always-valid when the
    experiment is sequential) as a band and a dashed line at 0.
    """
    width, height, left, right, top, bottom = 760, 220, 60, 20, 16, 34
    days = series["day_number"].to_numpy(dtype=float)
    relative = (series["decision_scale"] == "relative").to_numpy()
    lift = series["decision_relative_effect"].to_numpy(dtype=float)
    lower = np.where(relative, series["decision_ci_lower"].to_numpy(dtype=float), np.nan)
    upper = np.where(relative, series["decision_ci_upper"].to_numpy(dtype=float), np.nan)
    finite = [v for v in (*lower, *upper, 0.0) if not fmt.missing(v)]
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    first, last = days.min(), max(days.max(), days.min() + 1)

    def x(day: float) -> float:
        return left + (day - first) / (last - first) * (width - left - right)

    def y(value: float) -> float:
        return top + (high - value) / span * (height - top - bottom)

    keep = ~(pd.isna(lower) | pd.isna(upper))
    band = [f"{x(d):.1f},{y(v):.1f}" for d, v in zip(days[keep], upper[keep], strict=True)]
    band += [
        f"{x(d):.1f},{y(v):.1f}" for d, v in zip(days[keep][::-1], lower[keep][::-1], strict=True)
    ]
    line = " ".join(
        f"{x(d):.1f},{y(v):.1f}" for d, v in zip(days, lift, strict=True) if not fmt.missing(v)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img"><title>{html.escape(title)}</title>',
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" '
        'stroke="#8c959f" stroke-dasharray="4 3"/>',
    ]
    if band:
        parts.append(f'<polygon points="{" ".join(band)}" fill="#0969da" opacity="0.15"/>')
    parts.append(f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2"/>')
    for value in (low, 0.0, high):
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#57606a">{fmt.percent(value, 0)}</text>'
        )
    for day in sorted({int(first), int((first + last) / 2), int(last)}):
        parts.append(
            f'<text x="{x(day):.1f}" y="{height - 12}" font-size="11" '
            f'text-anchor="middle" fill="#57606a">day {day}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _over_time_charts(
    experiment_id: str, rows: list[dict[str, Any]], over_time: pd.DataFrame | None
) -> list[tuple[str, str]]:
    """(caption, SVG) for each treatment of the experiment's first primary metric."""
    if over_time is None or over_time.empty or not rows:
        return []
    primary = next((r for r in rows if r["metric_role"] == "primary"), rows[0])["metric_id"]
    charts = []
    mine = over_time[
        (over_time["experiment_id"] == experiment_id) & (over_time["metric_id"] == primary)
    ]
    for treatment, series in mine.groupby("treatment_variant_id", sort=False):
        first = series.iloc[0]
        caption = (
            f"{primary} · {treatment}: cumulative relative lift "
            f"({ESTIMATE_LABEL[first['decision_estimate']]}) and its "
            f"{fmt.interval_label(first)}, "
            "day by day"
        )
        charts.append((caption, time_series_plot(series.sort_values("day_number"), caption)))
    return charts


def _experiment_context(
    diagnostic: dict[str, Any], results: pd.DataFrame, over_time: pd.DataFrame | None = None
) -> dict[str, Any]:
    rows = fmt.ordered_results(results, diagnostic["experiment_id"]).to_dict("records")
    plot_rows, table_rows = [], []
    for row in rows:
        shown = fmt.decision(row)
        label = f"{row['metric_display_name']} · {row['treatment_variant_id']}"
        plot_rows.append(
            PlotRow(
                label,
                shown["verdict"],
                shown["lift"],
                shown["lower"],
                shown["upper"],
                shown["unadjusted_lift"],
                shown["unadjusted_lower"],
                shown["unadjusted_upper"],
            )
        )
        table_rows.append({"row": row, "shown": shown})
    headline = next((r for r in table_rows if r["row"]["metric_role"] == "primary"), None)
    estimate = rows[0]["decision_estimate"] if rows else "cuped"
    return {
        "d": diagnostic,
        "rows": table_rows,
        "plot": forest_plot(plot_rows, estimate) if plot_rows else "",
        "headline": [
            r
            for r in table_rows
            if headline and r["row"]["metric_id"] == headline["row"]["metric_id"]
        ],
        "estimate": estimate,
        "interval_label": fmt.interval_label(rows[0]) if rows else "",
        "checks": [
            (label, diagnostic[f"{check}_status"], diagnostic[f"{check}_reason"])
            for check, label in fmt.CHECKS.items()
        ],
        "over_time": _over_time_charts(diagnostic["experiment_id"], rows, over_time),
        "dates": _dates(diagnostic["experiment_id"], over_time),
    }


def _dates(experiment_id: str, over_time: pd.DataFrame | None) -> str:
    """'started 2026-03-02 · data through 2026-03-29 (28 days)', from the over-time table."""
    if over_time is None or over_time.empty:
        return ""
    mine = over_time[over_time["experiment_id"] == experiment_id]
    if mine.empty:
        return ""
    first = pd.Timestamp(mine.loc[mine["day_number"].idxmin(), "as_of_date"])
    last = pd.Timestamp(mine["as_of_date"].max())
    days = int(mine["day_number"].max())
    return (
        f"started {first:%Y-%m-%d} · data through {last:%Y-%m-%d} "
        f"({days} day{'s' if days != 1 else ''})"
    )


def render_report(
    results: pd.DataFrame, diagnostics: pd.DataFrame, over_time: pd.DataFrame | None = None
) -> str:
    """The report's HTML for these result tables (and the results over time, if given)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis_py.presentation", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(
        percent=fmt.percent,
        p_value=fmt.p_value,
        number=fmt.number,
        probability=fmt.probability,
        when=fmt.timestamp,
        share=fmt.share,
    )
    experiments = [
        _experiment_context(d, results, over_time) for d in diagnostics.to_dict("records")
    ]
    analysis_at = diagnostics["analysis_at"].iloc[0] if len(diagnostics) else None
    return environment.get_template("report.html.j2").render(
        experiments=experiments,
        analysis_at=analysis_at,
        run_id=diagnostics["run_id"].iloc[0] if len(diagnostics) else "",
        status_label=fmt.STATUS_LABEL,
        status_symbol=fmt.STATUS_SYMBOL,
        verdict_symbol=fmt.VERDICT_SYMBOL,
        colours=COLOURS,
        missing=fmt.missing,
    )


def write_report(
    results: pd.DataFrame,
    diagnostics: pd.DataFrame,
    path: str | Path,
    over_time: pd.DataFrame | None = None,
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(results, diagnostics, over_time), encoding="utf-8")
    return path
