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
    with a NaN p-value, keep their p-value. Vectorised over all families at once.

    Example:
        >>> adjust_p_values(np.array([0.01, 0.04, 0.03]), np.array(["e", "e", "e"]),
        ...                 np.array(["holm"] * 3)).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    p_values = np.asarray(p_values, dtype=float)
    adjusted = p_values.copy()
    family_codes, _ = pd.factorize(np.asarray(families, dtype=object))  # None: -1
    eligible = np.flatnonzero((family_codes >= 0) & ~np.isnan(p_values)
                              & np.isin(np.asarray(methods, dtype=object),
                                        ["holm", "benjamini_hochberg"]))
    if eligible.size == 0:
        return adjusted
    # Families contiguous, p ascending within each (stable: ties keep their order).
    order = eligible[np.lexsort((p_values[eligible], family_codes[eligible]))]
    family, p = family_codes[order], p_values[order]
    starts = np.flatnonzero(np.r_[True, family[1:] != family[:-1]])
    sizes = np.diff(np.r_[starts, family.size])
    m = np.repeat(sizes, sizes)
    rank = np.arange(family.size) - np.repeat(starts, sizes) + 1  # 1 = smallest p

    # Running max (Holm) and min from the largest p down (BH) within each family.
    by_family = pd.Series(family)
    holm = pd.Series(np.minimum(1.0, (m - rank + 1) * p)).groupby(by_family).cummax()
    bh_raw = pd.Series(np.minimum(1.0, m / rank * p)[::-1])
    bh = bh_raw.groupby(by_family[::-1].to_numpy()).cummin().to_numpy()[::-1]
    holm = holm.to_numpy()

    method = np.asarray(methods, dtype=object)[order]
    adjusted[order] = np.where(method == "holm", holm, bh)
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
