"""Helpers that compute a costly function once for repeated arguments give its exact values.

Each is checked against the straightforward computation, element by element, bitwise: the
result tables must not change when the analysis shares work between columns.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis_py.stats.multiple_testing import (
    adjust_p_values,
    adjust_p_values_by_code,
    family_codes,
)
from analysis_py.stats.ttest import repeated_t_quantile


def test_repeated_t_quantile_is_scipys_quantile_for_every_element() -> None:
    rng = np.random.default_rng(3)
    q = rng.choice([0.9, 0.95, 0.975, 0.995, np.nan, 1.0, 0.0], size=3000)
    df = rng.choice([1.0, 2.0, 29.0, 99_999.0, 0.0, -1.0, np.nan, np.inf], size=3000)
    got = repeated_t_quantile(q, df)
    expected = [stats.t.ppf(a, b) for a, b in zip(q.tolist(), df.tolist(), strict=True)]
    np.testing.assert_array_equal(got, np.array(expected, dtype=float))  # NaN where NaN


def test_repeated_t_quantile_broadcasts_a_scalar_level() -> None:
    df = np.array([10.0, 10.0, 50.0])
    np.testing.assert_array_equal(repeated_t_quantile(0.975, df), stats.t.ppf(0.975, df))
    assert float(repeated_t_quantile(0.975, 10.0)) == stats.t.ppf(0.975, 10.0)


def test_adjusting_by_code_is_adjusting_by_label_whatever_the_numbering() -> None:
    rng = np.random.default_rng(4)
    n = 4000
    labels = rng.choice(np.array(["a", "b", "c", None, "e\x1f1"], dtype=object), size=n)
    methods = rng.choice(
        np.array(["holm", "benjamini_hochberg", "bonferroni", "none"], dtype=object), size=n
    )
    p = rng.uniform(0, 0.2, size=n).round(3)  # rounded: ties too
    p[rng.uniform(size=n) < 0.05] = np.nan
    expected = adjust_p_values(p, labels, methods)
    codes = family_codes(labels)
    assert (codes[np.equal(labels, None)] == -1).all()
    np.testing.assert_array_equal(adjust_p_values_by_code(p, codes, methods), expected)
    renumbered = np.where(codes >= 0, 10 - codes, -1)  # another order of the families
    np.testing.assert_array_equal(adjust_p_values_by_code(p, renumbered, methods), expected)
