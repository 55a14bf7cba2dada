"""Multiple-testing correction within families of comparisons, and intervals that agree.

Holm (1979) controls the family-wise error rate; Benjamini & Hochberg (1995) the false
discovery rate. Families are given as labels (one per comparison): an experiment's primary
and secondary metrics × treatments form one family; guardrails are left out (label None).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis_py.config import MultipleTesting


def adjust_p_values(p_values: np.ndarray, families: np.ndarray,
                    methods: np.ndarray) -> np.ndarray:
    """Adjusted p-values; comparisons without a family (None) or with method "none", or
    with a NaN p-value, keep their p-value. Vectorised with groupby, not a loop per test.

    Example:
        >>> adjust_p_values(np.array([0.01, 0.04, 0.03]), np.array(["e", "e", "e"]),
        ...                 np.array(["holm"] * 3)).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    frame = pd.DataFrame({"p": np.asarray(p_values, dtype=float), "family": families,
                          "method": methods})
    adjusted = frame["p"].to_numpy().copy()
    eligible = (frame["family"].notna() & frame["p"].notna()
                & frame["method"].isin(["holm", "benjamini_hochberg"]))
    subset = frame[eligible].sort_values(["family", "p"], kind="stable")
    if subset.empty:
        return adjusted
    grouped = subset.groupby("family", sort=False)
    m = grouped["p"].transform("size").to_numpy()
    rank = grouped.cumcount().to_numpy() + 1  # 1 = smallest p in the family
    p = subset["p"].to_numpy()

    holm = pd.Series(np.minimum(1.0, (m - rank + 1) * p), index=subset.index)
    holm = holm.groupby(subset["family"]).cummax()
    # BH: the running minimum from the largest p downwards.
    bh_raw = pd.Series(np.minimum(1.0, m / rank * p), index=subset.index)
    bh = bh_raw.iloc[::-1].groupby(subset["family"].iloc[::-1]).cummin().iloc[::-1]

    chosen = np.where(subset["method"].to_numpy() == "holm", holm.to_numpy(), bh.to_numpy())
    adjusted[frame.index.get_indexer(subset.index)] = chosen
    return adjusted


def adjusted_quantile(p_value: np.ndarray, adjusted_p_value: np.ndarray,
                      confidence_level: np.ndarray, degrees_of_freedom: np.ndarray) -> np.ndarray:
    """The t quantile of an interval consistent with the adjusted p-value.

    The interval uses the level 1 - α·p/p_adj, so it excludes 0 exactly when
    p_adj < α (the "backed-out" intervals of GrowthBook, issue #1567). Unadjusted
    comparisons (p_adj = p) get the usual quantile.
    """
    alpha = 1 - np.asarray(confidence_level, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(adjusted_p_value > 0, p_value / adjusted_p_value, 1.0)
    return stats.t.ppf(1 - alpha * ratio / 2, degrees_of_freedom)


METHODS: tuple[MultipleTesting, ...] = ("holm", "benjamini_hochberg", "none")
