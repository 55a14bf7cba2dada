"""A self-contained HTML report of the current results: one file, no network requests.

Reads the result tables (through the warehouse module, so on any engine) and renders
``templates/report.html.j2`` with jinja2. Charts are inline SVG (charts.py). Every verdict
is the stored one, said in words and with a symbol; colour only repeats them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from analysis_py.presentation import experiment as sections
from analysis_py.presentation import labels as fmt
from analysis_py.presentation import slices


def _experiment_context(
    diagnostic: dict[str, Any],
    results: pd.DataFrame,
    *,
    over_time: pd.DataFrame | None,
    dimensions: pd.DataFrame | None,
    description: str,
) -> dict[str, Any]:
    experiment_id = diagnostic["experiment_id"]
    rows = fmt.ordered_results(results, experiment_id).to_dict("records")
    tables = sections.metric_tables(rows)
    over_time_charts = slices.over_time_charts(rows, over_time)
    return {
        "d": diagnostic,
        "description": description,
        "dates": _dates(experiment_id, over_time),
        "header": sections.header(diagnostic, rows),
        "withheld": diagnostic["health_status"] == "fail",
        "primary": [r for r in rows if r["metric_role"] == "primary"],
        "tables": tables,
        "over_time": over_time_charts,
        "over_time_kind": next((c["kind"] for c in over_time_charts if c["kind"]), ""),
        "dimensions": slices.dimension_tables(rows, dimensions),
        "power": sections.power_rows(rows, over_time),
        "details": [_details(row) for row in rows],
    }


def _details(row: dict[str, Any]) -> dict[str, Any]:
    """The figures behind the verdict that a reader may want: unadjusted and Bayesian."""
    reduction = "–"
    if row["decision_estimate"] == "cuped++":
        reduction = (
            f"{fmt.share(row['cuped_variance_reduction'])} (CUPED++ "
            f"{fmt.share(row['cupedpp_variance_reduction_vs_cuped'])} more)"
        )
    elif row["decision_estimate"] == "cuped":
        reduction = fmt.share(row["cuped_variance_reduction"])
    return {
        "row": row,
        "unadjusted": fmt.percent(row["relative_effect"]),
        "unadjusted_interval": (
            f"[{fmt.percent(row['relative_effect_ci_lower'])}, "
            f"{fmt.percent(row['relative_effect_ci_upper'])}]"
        ),
        "reduction": reduction,
        "win": fmt.probability(row["bayes_chance_to_win"]),
        "loss": fmt.percent(row["bayes_expected_loss"], 2).lstrip("+"),
    }


def _dates(experiment_id: str, over_time: pd.DataFrame | None) -> str:
    """'2026-03-02 to 2026-03-29 (28 days)', from the over-time table."""
    if over_time is None or over_time.empty:
        return ""
    mine = over_time[over_time["experiment_id"] == experiment_id]
    if mine.empty:
        return ""
    first = pd.Timestamp(mine.loc[mine["day_number"].idxmin(), "as_of_date"])
    last = pd.Timestamp(mine["as_of_date"].max())
    days = int(mine["day_number"].max())
    return f"{first:%Y-%m-%d} to {last:%Y-%m-%d} ({fmt.plural(days, 'day')})"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis_py.presentation", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        percent=fmt.percent,
        p_value=fmt.p_value,
        number=fmt.number,
        count=fmt.count,
        when=fmt.timestamp,
    )
    environment.globals.update(
        status_label=fmt.STATUS_LABEL,
        status_symbol=fmt.STATUS_SYMBOL,
        verdict_symbol=fmt.VERDICT_SYMBOL,
        verdict_label=fmt.VERDICT_LABEL,
        plural=fmt.plural,
    )
    return environment


def render_report(
    results: pd.DataFrame,
    diagnostics: pd.DataFrame,
    over_time: pd.DataFrame | None = None,
    *,
    dimensions: pd.DataFrame | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> str:
    """The report's HTML for these result tables.

    The results over time, per dimension value, and the experiments' descriptions (from the
    config) are shown when given.
    """
    descriptions = descriptions or {}
    experiments = [
        _experiment_context(
            d,
            results,
            over_time=over_time,
            dimensions=dimensions,
            description=descriptions.get(d["experiment_id"], ""),
        )
        for d in diagnostics.to_dict("records")
    ]
    # One table and one interval axis for every experiment's primary comparisons.
    overview = sections.metric_table("Overview", [r for e in experiments for r in e["primary"]])
    groups = []
    for e in experiments:
        rows = [c for c in overview["rows"] if c["row"]["experiment_id"] == e["d"]["experiment_id"]]
        kinds = {c["kind"] for c in rows}
        groups.append({"e": e, "rows": rows, "kind": kinds.pop() if len(kinds) == 1 else ""})
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            experiments=experiments,
            overview=overview,
            overview_groups=groups,
            analysis_at=diagnostics["analysis_at"].iloc[0] if len(diagnostics) else None,
            run_id=diagnostics["run_id"].iloc[0] if len(diagnostics) else "",
        )
    )


def write_report(
    results: pd.DataFrame,
    diagnostics: pd.DataFrame,
    path: str | Path,
    over_time: pd.DataFrame | None = None,
    *,
    dimensions: pd.DataFrame | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> Path:
    """Render the report (see :func:`render_report`) to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render_report(
        results, diagnostics, over_time, dimensions=dimensions, descriptions=descriptions
    )
    path.write_text(html, encoding="utf-8")
    return path
