"""A readable terminal summary of one analysis run (same words and order as the report)."""

from __future__ import annotations

import pandas as pd

from analysis_py.presentation.labels import (
    CHECKS,
    STATUS_LABEL,
    VERDICT_SYMBOL,
    decision,
    interval_label,
    number,
    ordered_results,
    p_value,
    percent,
    probability,
)


def format_summary(results: pd.DataFrame, diagnostics: pd.DataFrame) -> str:
    """Per experiment: health checks, then one line per metric and treatment (primary,
    secondary, guardrail) with the stored decision: the lift, the interval and p-value the
    verdict reads, the Bayesian chance to win, and the verdict.
    """
    lines: list[str] = []
    for diagnostic in diagnostics.to_dict("records"):
        lines.append(
            f"Experiment {diagnostic['experiment_id']}: "
            f"{diagnostic['n_analysed_subjects']} subjects "
            f"({diagnostic['subjects_per_variant']})"
        )
        lines.append(f"  health: {STATUS_LABEL[diagnostic['health_status']]}")
        for check, label in CHECKS.items():
            status = diagnostic[f"{check}_status"]
            if status != "not_applicable":
                lines.append(
                    f"    {STATUS_LABEL[status]:<8}{label}: {diagnostic[f'{check}_reason']}"
                )
        rows = ordered_results(results, diagnostic["experiment_id"])
        label_of_interval = interval_label(rows.iloc[0]) if len(rows) else "95% CI"
        labels = [f"{m} (R)" for m in rows["metric_id"]]
        width = max([22, *(len(label) + 2 for label in labels)])
        lines.append(
            f"  {'metric':<{width}}{'treatment':<13}{'lift':>8}  "
            f"{label_of_interval:<19}{'p':>9}{'win':>7}  verdict"
        )
        if diagnostic["health_status"] == "fail":
            lines.append(
                "  no verdicts: the experiment failed a health check above; the "
                "figures are shown for diagnosis only"
            )
        for row in rows.to_dict("records"):
            label = f"{row['metric_id']} ({row['metric_role'][0].upper()})"
            if row["status"] not in ("ok", "zero_control_mean"):
                lines.append(
                    f"  {label:<{width}}{row['treatment_variant_id']:<13}"
                    f"  {row['status']}: {row['status_reason']}"
                )
                continue
            shown = decision(row)
            if shown["absolute"] is None:
                interval = f"[{percent(shown['lower'])}, {percent(shown['upper'])}]"
            else:
                interval = f"[{number(shown['absolute'][1])}, {number(shown['absolute'][2])}] abs."
            lines.append(
                f"  {label:<{width}}{row['treatment_variant_id']:<13}{percent(shown['lift']):>8}  "
                f"{interval:<19}{p_value(shown['p_value']):>9}"
                f"{probability(row['bayes_chance_to_win']):>7}  "
                f"{VERDICT_SYMBOL[shown['verdict']]} {shown['verdict_label']}"
            )
            if (
                row["metric_role"] == "guardrail"
                and row["is_noninferior"] is not pd.NA
                and not pd.isna(row["noninferiority_margin"])
            ):
                held = "holds" if row["is_noninferior"] else "NOT shown"
                lines.append(
                    f"  {'':<{width}}non-inferiority within "
                    f"-{row['noninferiority_margin']:.0%}: {held} "
                    f"(p = {p_value(row['noninferiority_p_value'])})"
                )
        lines.append("")
    lines.append(
        "P = primary, S = secondary, G = guardrail. Lift: relative, from the decision "
        "estimate (CUPED++, CUPED or unadjusted); interval and p: the ones the verdict "
        "reads (experiment_results.decision_*), after multiple-testing correction and, "
        "for sequential experiments, always valid; win = Bayesian chance to beat "
        "control."
    )
    return "\n".join(lines)
