"""A readable terminal summary of one analysis run."""

from __future__ import annotations

import math

import pandas as pd


def _percent(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 100:+.1f}%"


def _p_value(value: float) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def format_summary(results: pd.DataFrame, diagnostics: pd.DataFrame) -> str:
    """Per experiment: health line, then one line per metric and treatment (CUPED figures)."""
    lines: list[str] = []
    for diagnostic in diagnostics.itertuples(index=False):
        lines.append(f"Experiment {diagnostic.experiment_id}: {diagnostic.n_analysed_subjects} "
                     f"subjects ({diagnostic.subjects_per_variant})")
        srm = ("OK" if diagnostic.srm_status == "ok" else diagnostic.srm_status.upper())
        lines.append(f"  sample ratio: {srm} (p = {_p_value(diagnostic.srm_p_value)}, "
                     f"expected {diagnostic.expected_shares})")
        lines.append(f"  multi-variant subjects excluded: {diagnostic.n_multi_variant_subjects} "
                     f"({diagnostic.multi_variant_share * 100:.1f}%)")
        rows = results[results["experiment_id"] == diagnostic.experiment_id]
        level = rows["confidence_level"].iloc[0] if len(rows) else 0.95
        interval_label = f"{level * 100:g}% CI"
        header = (f"  {'metric':<18}{'treatment':<14}{'control':>10}{'treatment':>11}"
                  f"{'lift (CUPED)':>14}  {interval_label:<19}{'p':>7}{'var. red.':>11}")
        lines.append(header)
        for row in rows.itertuples(index=False):
            if row.status not in ("ok", "zero_control_mean"):
                lines.append(f"  {row.metric_id:<18}{row.treatment_variant_id:<14}"
                             f"  {row.status}: {row.status_reason}")
                continue
            interval = (f"[{_percent(row.cuped_relative_effect_ci_lower)}, "
                        f"{_percent(row.cuped_relative_effect_ci_upper)}]")
            lines.append(
                f"  {row.metric_id:<18}{row.treatment_variant_id:<14}"
                f"{row.control_mean:>10.4g}{row.treatment_mean:>11.4g}"
                f"{_percent(row.cuped_relative_effect):>14}  {interval:<19}"
                f"{_p_value(row.cuped_p_value):>7}{row.cuped_variance_reduction * 100:>10.0f}%"
            )
        lines.append("")
    return "\n".join(lines)
