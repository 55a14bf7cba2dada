"""The status of each comparison.

A data problem becomes a status and a one-line reason on its row, not an exception that
stops the run.

In order of precedence, first matching condition wins: non_finite_input (a sum is NaN or
infinite, or the moments overflow) and negative_variance (sums no real data can give), whose
figures are not to be read; then too_few_subjects, zero_variance and zero_control_mean;
else ok.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_py import defaults
from analysis_py.marts import RATIO_SUM_COLUMNS, SUM_COLUMNS
from analysis_py.stats.sufficient_statistics import _divide

#: Relative shortfall of n·Σv² below (Σv)² tolerated as rounding before the sums are called
#: impossible (they imply a negative variance).
NEGATIVE_VARIANCE_TOLERANCE = 1e-7
#: The (sum of squares, sum) pairs whose implied variance must not be negative.
_VARIANCE_SUMS = {
    "y": ("sum_y_squares", "sum_y"),
    "x": ("sum_x_squares", "sum_x"),
    "d": ("sum_d_squares", "sum_d"),
    "w": ("sum_w_squares", "sum_w"),
}
#: The statuses of comparison_status's conditions, in their order, then ok.
_STATUSES = np.array(
    [
        "non_finite_input",
        "negative_variance",
        "too_few_subjects",
        "zero_variance",
        "zero_control_mean",
        "ok",
    ],
    dtype=object,
)
#: The variables that only ratio metrics have.
_RATIO_VARIABLES = ("d", "w")


def comparison_status(frame: pd.DataFrame, is_ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A status per comparison, first matching condition wins, with a one-line reason.

    Args:
        frame: The comparisons, with both arms' sums and the unadjusted estimate's columns.
        is_ratio: Per comparison, whether its metric is a ratio (it has the ratio sums).

    Returns:
        (status, status_reason), object arrays; the reason is '' where the status is ok.
    """
    # Each reason column comes with a mask of the rows that have one: comparing 10,000s of
    # strings to '' costs more than the checks.
    non_finite = _Reasons(len(frame))
    negative = _Reasons(len(frame))
    for arm in ("control", "treatment"):
        non_finite.first_wins(_non_finite_sums(frame, arm, is_ratio))
        overflows, impossible = _variance_problems(frame, arm, is_ratio)
        non_finite.first_wins(overflows)
        negative.first_wins(impossible)
    smallest_arm = np.minimum(frame["control_n"], frame["treatment_n"]).to_numpy()
    too_few = smallest_arm < defaults.MIN_SUBJECTS_PER_ARM
    moments = [
        frame[c].to_numpy(dtype=float)
        for c in ("control_mean", "treatment_mean", "absolute_effect_std_error")
    ]
    overflow = ~too_few & ~non_finite.rows & ~np.all([np.isfinite(m) for m in moments], axis=0)
    non_finite.text[overflow] = "the metric's moments overflow (values too large for doubles)"
    non_finite.rows |= overflow
    zero_variance = ~too_few & ~(frame["absolute_effect_std_error"].to_numpy() > 0)
    zero_control = ~too_few & ~zero_variance & (frame["control_mean"].to_numpy() == 0)
    too_few_reason = np.full(len(frame), "", dtype=object)
    too_few_reason[too_few] = [
        f"an arm has {int(n)} subject(s); at least {defaults.MIN_SUBJECTS_PER_ARM} per arm "
        "are needed"
        for n in smallest_arm[too_few]
    ]
    # Every subject at 0 is most often a metric that matches no event (a misspelt event
    # name or filter value): say so, rather than only that the values do not vary.
    zero_variance_reason = np.where(
        ~is_ratio
        & (frame["control_sum_y_squares"].to_numpy() == 0)
        & (frame["treatment_sum_y_squares"].to_numpy() == 0),
        "every subject of both arms has the value 0: no event of this metric fell in a "
        "window; check its event name, filters and source against the events",
        "the metric has the same value for every subject of both arms",
    )
    conditions = [non_finite.rows, negative.rows, too_few, zero_variance, zero_control]
    status = _STATUSES[np.select(conditions, list(range(len(conditions))), len(conditions))]
    reason = np.select(
        conditions,
        [
            non_finite.text,
            negative.text,
            too_few_reason,
            zero_variance_reason,
            "the control mean is 0, so the relative effect is undefined",
        ],
        "",
    )
    return status, reason.astype(object)


class _Reasons:
    """A reason per comparison ('' for none), and the mask of the rows that have one."""

    def __init__(self, n: int) -> None:
        self.text = np.full(n, "", dtype=object)
        self.rows = np.zeros(n, dtype=bool)

    def first_wins(self, later: _Reasons) -> None:
        """Take ``later``'s reason on the rows that have none yet."""
        new = later.rows & ~self.rows
        self.text[new] = later.text[new]
        self.rows |= new


def _non_finite_sums(frame: pd.DataFrame, arm: str, is_ratio: np.ndarray) -> _Reasons:
    """Per comparison, the arm's first sum that is NaN or infinite, as a reason ('' if none)."""
    metric_ids = frame["metric_id"].to_numpy(dtype=object)
    reasons = _Reasons(len(frame))
    for column in (*SUM_COLUMNS, *RATIO_SUM_COLUMNS):
        if f"{arm}_{column}" not in frame.columns:
            continue
        values = frame[f"{arm}_{column}"].to_numpy(dtype=float)
        applies = is_ratio if column in RATIO_SUM_COLUMNS else np.ones(len(frame), bool)
        rows = np.flatnonzero(applies & ~np.isfinite(values) & ~reasons.rows)
        reasons.rows[rows] = True
        reasons.text[rows] = [
            f"the {arm} arm's {column} for metric '{metric_ids[i]}' is {values[i]}: a value "
            "in the data is NaN or infinite, or the sums overflow"
            for i in rows
        ]
    return reasons


def _variance_problems(
    frame: pd.DataFrame, arm: str, is_ratio: np.ndarray
) -> tuple[_Reasons, _Reasons]:
    """Per comparison, the arm's first overflowing and first impossible variance.

    Returns two reasons per comparison ('' if none): the first variable whose (Σv)²
    overflows a double, and the first whose sums imply a negative variance.
    """
    metric_ids = frame["metric_id"].to_numpy(dtype=object)
    n = frame[f"{arm}_n"].to_numpy(dtype=float)
    overflows = _Reasons(len(frame))
    negative = _Reasons(len(frame))
    for variable, (squares, total) in _VARIANCE_SUMS.items():
        if f"{arm}_{squares}" not in frame.columns:
            continue
        sum_squares = frame[f"{arm}_{squares}"].to_numpy(dtype=float)
        sums = frame[f"{arm}_{total}"].to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            square_of_sum = sums * np.nan_to_num(_divide(sums, n))  # n = 0: 0
            centred = sum_squares - square_of_sum
            impossible = centred < -NEGATIVE_VARIANCE_TOLERANCE * np.abs(sum_squares)
        applies = is_ratio if variable in _RATIO_VARIABLES else np.ones(len(frame), bool)
        overflow = applies & np.isfinite(sums) & np.isfinite(sum_squares) & ~np.isfinite(centred)
        rows = np.flatnonzero(overflow & ~overflows.rows)
        overflows.rows[rows] = True
        overflows.text[rows] = [
            f"the {arm} arm's {total}² for metric '{metric_ids[i]}' "
            "overflows a double: the values are too large"
            for i in rows
        ]
        rows = np.flatnonzero(applies & impossible & ~overflow & ~negative.rows)
        negative.rows[rows] = True
        negative.text[rows] = [
            f"the {arm} arm's sums for metric '{metric_ids[i]}' imply a negative variance "
            f"of {variable} ({squares} = {sum_squares[i]:.6g} < {total}² / n = "
            f"{square_of_sum[i]:.6g}): the statistics mart is corrupt"
            for i in rows
        ]
    return overflows, negative
