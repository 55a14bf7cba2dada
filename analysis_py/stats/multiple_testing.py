"""Multiple-testing correction within families of comparisons, and intervals that agree.

Bonferroni and Holm (1979) control the family-wise error rate (Holm is uniformly more
powerful); Benjamini & Hochberg (1995) the false discovery rate. Families are given as
labels (one per comparison): an experiment's primary and secondary metrics × treatments form
one family; guardrails are left out (label None).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The corrections :func:`adjust_p_values` applies; any other method ("none") leaves the
#: p-values as they are.
CORRECTIONS = ("holm", "benjamini_hochberg", "bonferroni")


def adjust_p_values(p_values: np.ndarray, families: np.ndarray, methods: np.ndarray) -> np.ndarray:
    """Adjusted p-values, each within its family, all families in one vectorised pass.

    Comparisons without a family (None), with method "none" or with a NaN p-value keep
    their p-value.

    Example:
        >>> adjust_p_values(np.array([0.01, 0.04, 0.03]), np.array(["e", "e", "e"]),
        ...                 np.array(["holm"] * 3)).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    return adjust_p_values_by_code(p_values, family_codes(families), methods)


def family_codes(families: np.ndarray) -> np.ndarray:
    """One integer per family label, -1 for a comparison without a family (None).

    For :func:`adjust_p_values_by_code`, when several sets of p-values share the families.

    Example:
        >>> family_codes(np.array(["b", None, "a", "b"], dtype=object)).tolist()
        [1, -1, 0, 1]
    """
    labels = np.asarray(families, dtype=object)
    named = np.array([label is not None for label in labels], dtype=bool)
    codes = np.full(len(labels), -1)
    if named.any():
        # Hashed, not sorted as strings; numbered in sorted order all the same.
        label_codes, distinct = pd.factorize(labels[named], sort=True)
        if (label_codes >= 0).all() and all(type(label) is str for label in distinct):
            codes[named] = label_codes
        else:
            codes[named] = np.unique(labels[named].astype(str), return_inverse=True)[1]
    return codes


def adjust_p_values_by_code(
    p_values: np.ndarray, codes: np.ndarray, methods: np.ndarray
) -> np.ndarray:
    """:func:`adjust_p_values` with the families as :func:`family_codes` gives them.

    Any numbering works: a family's adjusted p-values depend on its members only.
    """
    p_values = np.asarray(p_values, dtype=float)
    adjusted = p_values.copy()
    eligible = np.flatnonzero(
        (codes >= 0) & ~np.isnan(p_values) & np.isin(np.asarray(methods, dtype=object), CORRECTIONS)
    )
    if eligible.size == 0:
        return adjusted
    # Families contiguous, p ascending within each (stable: ties keep their order).
    order = eligible[np.lexsort((p_values[eligible], codes[eligible]))]
    family, p = codes[order], p_values[order]
    starts = np.flatnonzero(np.r_[True, family[1:] != family[:-1]])
    sizes = np.diff(np.r_[starts, family.size])
    m = np.repeat(sizes, sizes)
    rank = np.arange(family.size) - np.repeat(starts, sizes) + 1  # 1 = smallest p
    # Running max (Holm) and min from the largest p down (BH) within each family, for every
    # family in one accumulate: on integer keys family·n + rank of the value, which keep one
    # family's run from reaching the next one's and map back to the values exactly.
    method = np.asarray(methods, dtype=object)[order]
    is_holm, is_bonferroni = method == "holm", method == "bonferroni"
    # Each correction over all families, and only when some family uses it.
    nothing = np.full(family.size, np.nan)
    holm = (
        _running(np.minimum(1.0, (m - rank + 1) * p), family, np.maximum)
        if is_holm.any()
        else nothing
    )
    bh = (
        _running(np.minimum(1.0, m / rank * p)[::-1], family[::-1], np.minimum)[::-1]
        if not (is_holm | is_bonferroni).all()
        else nothing
    )
    bonferroni = np.minimum(1.0, m * p)
    adjusted[order] = np.select([is_holm, is_bonferroni], [holm, bonferroni], bh)
    return adjusted


def _running(values: np.ndarray, family: np.ndarray, accumulate: np.ufunc) -> np.ndarray:
    """``accumulate`` (np.maximum or np.minimum) of ``values`` within each run of ``family``.

    Families must be contiguous and, for np.maximum, ascending (for np.minimum, descending).
    """
    n = values.size
    by_value = np.argsort(values, kind="stable")
    value_rank = np.empty(n, dtype=np.int64)
    value_rank[by_value] = np.arange(n)
    base = family.astype(np.int64) * n
    return values[by_value[accumulate.accumulate(base + value_rank) - base]]


def adjusted_alpha(
    p_value: np.ndarray, adjusted_p_value: np.ndarray, alpha: np.ndarray
) -> np.ndarray:
    """The level α·p/p_adj of an interval consistent with the adjusted p-value.

    An interval at that level excludes 0 exactly when p < α·p/p_adj, that is when
    p_adj < α (the "backed-out" intervals of GrowthBook, issue #1567). Unadjusted
    comparisons (p_adj = p) keep α.

    Example:
        >>> adjusted_alpha(np.array([0.01, 0.02]), np.array([0.03, 0.02]), 0.05).round(4).tolist()
        [0.0167, 0.05]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(adjusted_p_value > 0, p_value / adjusted_p_value, 1.0)
    return np.asarray(alpha, dtype=float) * ratio
