"""The text `xp plan` prints: per proposed experiment, a table of its metrics' figures."""

from __future__ import annotations

import pandas as pd

from analysis_py.presentation.formatting import plural

_HEADER = (
    "metric",
    "role",
    "mean",
    "variance",
    "CUPED -var",
    "subjects",
    "days",
    "CUPED subj.",
    "CUPED days",
)
FOOTNOTE = (
    "Subjects are all arms together; days are days of exposures at the daily subjects shown, "
    "and each metric's window must then pass before the read-out. Holm and "
    "Benjamini-Hochberg are planned at Bonferroni's level alpha / m, a conservative bound; "
    "guardrails at alpha. Fixed-horizon figures: always-valid (sequential) intervals need "
    "more subjects. CUPED -var is rho squared, the share of the variance CUPED removes."
)


def _number(value: float | None, digits: int = 4) -> str:
    """Whole numbers with thousands separators, others to ``digits`` significant digits."""
    if value is None or pd.isna(value):
        return "-"
    number = float(value)
    if number.is_integer() and abs(number) >= 1000:
        return f"{int(number):,}"
    return f"{number:.{digits}g}"


def format_plan(rows: pd.DataFrame) -> str:
    """The plan of each experiment in ``rows`` (experiment_plan's rows), then the footnote."""
    blocks = [_experiment_block(group) for _, group in rows.groupby("experiment_id", sort=False)]
    return "\n\n".join([*blocks, FOOTNOTE])


def _experiment_block(group: pd.DataFrame) -> str:
    first = group.iloc[0]
    split = f"control {first.control_share:.0%}, smallest treatment {first.treatment_share:.0%}"
    population = first.population_experiments or "every assigned subject"
    lines = [
        f"Plan for {first.experiment_id}: detect {first.target_relative_effect:+.1%} with power "
        f"{first.power:.0%} at confidence {first.confidence_level:.0%}; "
        f"{plural(int(first.n_treatments), 'treatment')} ({split}); "
        f"{first.multiple_testing} over m = {int(group.family_size.max())} tests, "
        f"alpha {group.alpha.min():.4g} each",
        f"History: pseudo-exposures {first.history_from:%Y-%m-%d} to {first.history_to:%Y-%m-%d} "
        f"({plural(int(first.history_days), 'day')}), population {population}: "
        f"{plural(int(first.history_subjects), 'subject')}; "
        f"{first.daily_subjects:,.1f} new subjects a day ({first.daily_subjects_source})",
    ]
    table = [_HEADER] + [
        (
            row.metric_display_name,
            row.metric_role,
            _number(row.baseline_mean),
            _number(row.baseline_variance),
            "-" if pd.isna(row.cuped_variance_reduction) else f"{row.cuped_variance_reduction:.1%}",
            _number(row.subjects_needed),
            _number(row.days_needed),
            _number(row.cuped_subjects_needed),
            _number(row.cuped_days_needed),
        )
        for row in group.itertuples()
    ]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(_HEADER))]
    for index, cells in enumerate(table):
        lines.append(
            "  ".join(
                str(c).ljust(w) if i < 2 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [
        f"  {row.metric_display_name}: {row.status_reason}"
        for row in group.itertuples()
        if row.status != "ok"
    ]
    return "\n".join(lines)
