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


CHECKS = ("srm", "multi_variant", "pre_exposure_balance", "cuped_sanity", "sample_size",
          "large_lift", "pre_exposure_data")


def format_summary(results: pd.DataFrame, diagnostics: pd.DataFrame) -> str:
    """Per experiment: health checks, then one line per metric and treatment with the
    decision estimate (CUPED++, CUPED or unadjusted), its multiplicity-adjusted p-value and
    the Bayesian chance to win."""
    lines: list[str] = []
    for diagnostic in diagnostics.itertuples(index=False):
        lines.append(f"Experiment {diagnostic.experiment_id}: {diagnostic.n_analysed_subjects} "
                     f"subjects ({diagnostic.subjects_per_variant})")
        lines.append(f"  health: {diagnostic.health_status.upper()}")
        for check in CHECKS:
            status = getattr(diagnostic, f"{check}_status")
            if status != "not_applicable":
                lines.append(f"    {status.upper():<8}{check.replace('_', ' ')}: "
                             f"{getattr(diagnostic, f'{check}_reason')}")
        rows = results[results["experiment_id"] == diagnostic.experiment_id]
        level = rows["confidence_level"].iloc[0] if len(rows) else 0.95
        interval_label = f"{level * 100:g}% CI"
        header = (f"  {'metric':<22}{'treatment':<13}{'lift':>8}  {interval_label:<19}"
                  f"{'p (adj.)':>9}{'win':>7}  {'estimate':<10}")
        lines.append(header)
        for row in rows.itertuples(index=False):
            if row.status not in ("ok", "zero_control_mean"):
                lines.append(f"  {row.metric_id:<18}{row.treatment_variant_id:<14}"
                             f"  {row.status}: {row.status_reason}")
                continue
            prefix = {"cuped++": "cupedpp_", "cuped": "cuped_"}.get(row.decision_estimate, "")
            relative = getattr(row, prefix + "relative_effect")
            interval = (f"[{_percent(row.adjusted_relative_effect_ci_lower)}, "
                        f"{_percent(row.adjusted_relative_effect_ci_upper)}]")
            label = f"{row.metric_id} ({row.metric_role[0].upper()})"
            lines.append(
                f"  {label:<22}{row.treatment_variant_id:<13}{_percent(relative):>8}  "
                f"{interval:<19}{_p_value(row.adjusted_p_value):>9}"
                f"{row.bayes_chance_to_win * 100:>5.1f}%  {row.decision_estimate:<10}"
            )
            if row.metric_role == "guardrail" and row.is_noninferior is not pd.NA:
                verdict = "holds" if row.is_noninferior else "NOT shown"
                lines.append(f"  {'':<22}non-inferiority within -{row.noninferiority_margin:.0%}"
                             f": {verdict} (p = {_p_value(row.noninferiority_p_value)})")
        lines.append("")
    lines.append("P = primary, S = secondary, G = guardrail. Lift and interval are relative, "
                 "the interval and p adjusted for multiple testing; win = Bayesian chance to "
                 "beat control.")
    return "\n".join(lines)
