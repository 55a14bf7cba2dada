"""The report's views of the sliced results: over time, and per dimension value.

Verdicts and intervals are the slices' stored decision columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis_py import defaults
from analysis_py.pipeline.decisions import ESTIMATE_LABEL
from analysis_py.presentation import charts
from analysis_py.presentation import labels as fmt
from analysis_py.presentation.experiment import metric_table

#: Days before both arms of a comparison have this many subjects are not charted: their
#: intervals are so wide that the rest of the line would be flat.
MIN_SUBJECTS_TO_CHART = defaults.MIN_SAMPLE_SIZE_PER_ARM


def _primary(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["metric_role"] == "primary"]


def _of_experiment(table: pd.DataFrame | None, experiment_id: str) -> pd.DataFrame:
    if table is None or table.empty:
        return pd.DataFrame()
    return table[table["experiment_id"] == experiment_id]


def over_time_charts(
    rows: Sequence[dict[str, Any]], over_time: pd.DataFrame | None
) -> list[dict[str, Any]]:
    """A chart per primary metric and treatment, from the day both arms have enough.

    A chart starts on the first day on which both arms have :data:`MIN_SUBJECTS_TO_CHART`
    subjects.
    """
    if not rows:
        return []
    mine = _of_experiment(over_time, rows[0]["experiment_id"])
    if mine.empty:
        return []
    charts_ = []
    for row in _primary(rows):
        series = mine[
            (mine["metric_id"] == row["metric_id"])
            & (mine["treatment_variant_id"] == row["treatment_variant_id"])
        ].sort_values("day_number")
        charts_.append(_chart(row, series) if len(series) else _not_replayed(row))
    return charts_


def _not_replayed(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": f"{row['metric_display_name']} · {row['treatment_variant_id']}",
        "svg": "",
        "what": "",
        "kind": "",
        "start": "Not charted: the results over time do not replay metrics that count only "
        "matured subjects, or that have a lower winsorization cap.",
    }


def _chart(row: dict[str, Any], series: pd.DataFrame) -> dict[str, Any]:
    title = f"{row['metric_display_name']} · {row['treatment_variant_id']}"
    enough = series[
        (series["control_n"] >= MIN_SUBJECTS_TO_CHART)
        & (series["treatment_n"] >= MIN_SUBJECTS_TO_CHART)
    ]
    # The scale of the last day's decision: a control mean of 0 puts it on the absolute scale.
    scale = enough["decision_scale"].iloc[-1] if len(enough) else "relative"
    shown = enough[enough["decision_scale"] == scale]
    last = series.iloc[-1]
    chart = {
        "title": title,
        "svg": "",
        "start": "",
        "kind": fmt.interval_label(last),
        "what": (
            f"cumulative {'relative' if scale == 'relative' else 'absolute'} effect "
            f"({ESTIMATE_LABEL[last['decision_estimate']]}) with its {fmt.interval_label(last)}"
        ),
    }
    if len(shown) < 2:
        chart["start"] = (
            f"Not charted yet: fewer than 2 days with at least {MIN_SUBJECTS_TO_CHART} "
            "subjects in each arm."
        )
        return chart
    first = shown.iloc[0]
    chart["start"] = (
        f"From day {first['day_number']} ({pd.Timestamp(first['as_of_date']):%Y-%m-%d}), the "
        f"first day with at least {MIN_SUBJECTS_TO_CHART} subjects in each arm"
    )
    effect = "decision_relative_effect" if scale == "relative" else "decision_absolute_effect"
    chart["svg"] = charts.time_series_chart(
        charts.Series(
            days=shown["day_number"].astype(float).tolist(),
            estimate=shown[effect].astype(float).tolist(),
            lower=shown["decision_ci_lower"].astype(float).tolist(),
            upper=shown["decision_ci_upper"].astype(float).tolist(),
            relative=scale == "relative",
        ),
        f"{title}: {chart['what']}, day by day",
    )
    return chart


def dimension_tables(
    rows: Sequence[dict[str, Any]], dimensions: pd.DataFrame | None
) -> list[dict[str, Any]]:
    """Per dimension, a table of the primary comparisons per value.

    Each table has a shared interval axis, the subjects in each slice and the slice's own
    sample-ratio check.
    """
    if not rows:
        return []
    mine = _of_experiment(dimensions, rows[0]["experiment_id"])
    primary = {r["metric_id"] for r in _primary(rows)}
    if mine.empty or not primary:
        return []
    mine = mine[mine["metric_id"].isin(primary)]
    order = {(r["metric_id"], r["treatment_variant_id"]): i for i, r in enumerate(rows)}
    tables = []
    for name, slices in mine.groupby("dimension_name", sort=False):
        ordered = slices.assign(
            _order=[
                order.get(k, 0)
                for k in zip(slices["metric_id"], slices["treatment_variant_id"], strict=True)
            ],
            _subjects=-slices["slice_n_subjects"].astype(float),
        ).sort_values(["_order", "_subjects", "dimension_value"], kind="stable")
        records = ordered.drop(columns=["_order", "_subjects"]).to_dict("records")
        table = metric_table(f"By {name}", records)
        for cell in table["rows"]:
            cell["value"] = cell["row"]["dimension_value"]
            cell["subjects"] = fmt.count(cell["row"]["slice_n_subjects"])
            cell["srm"] = cell["row"]["slice_srm_status"]
        table["dimension"] = name
        tables.append(table)
    return tables
