"""Helpers that compute a costly function once for repeated arguments give its exact values.

Each is checked against the straightforward computation, element by element, bitwise: the
result tables must not change when the analysis shares work between columns.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis_py.pipeline.decisions import one_or_each
from analysis_py.stats.multiple_testing import (
    adjust_p_values,
    adjust_p_values_by_code,
    family_codes,
)
from analysis_py.stats.sufficient_statistics import SufficientStatistics
from analysis_py.stats.ttest import (
    ESTIMATE_FIELDS,
    cuped_test,
    repeated_t_quantile,
    unadjusted_test,
)


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


def test_family_codes_number_the_families_in_sorted_order() -> None:
    rng = np.random.default_rng(5)
    labels = rng.choice(np.array(["b", "a", None, "exp_10", "exp_9", "é"], dtype=object), 2000)
    named = np.array([label is not None for label in labels])
    expected = np.full(len(labels), -1)
    expected[named] = np.unique(labels[named].astype(str), return_inverse=True)[1]
    np.testing.assert_array_equal(family_codes(labels), expected)
    mixed = labels.copy()
    mixed[:3] = [1, 2.5, "b"]  # not all text: numbered as their str()
    named = np.array([label is not None for label in mixed])
    expected = np.full(len(mixed), -1)
    expected[named] = np.unique(mixed[named].astype(str), return_inverse=True)[1]
    np.testing.assert_array_equal(family_codes(mixed), expected)


def test_one_method_alone_gives_what_it_gives_among_others() -> None:
    """The corrections not in use are skipped: each method's values do not depend on them."""
    rng = np.random.default_rng(6)
    n = 3000
    codes = rng.integers(-1, 40, n)
    p = rng.uniform(0, 0.3, n).round(3)
    p[rng.uniform(size=n) < 0.05] = np.nan
    methods = np.array(["holm", "benjamini_hochberg", "bonferroni", "none"], dtype=object)
    mixed = methods[rng.integers(0, 4, 41)][codes + 1]  # one method per family
    together = adjust_p_values_by_code(p, codes, mixed)
    for method in methods:
        rows = mixed == method
        assert rows.sum() > 100
        alone = adjust_p_values_by_code(p, codes, np.full(n, method, dtype=object))
        np.testing.assert_array_equal(alone[rows], together[rows])
        assert method == "none" or (alone[rows & (codes >= 0)] != p[rows & (codes >= 0)]).any()


def test_one_alternative_for_all_gives_the_values_of_one_per_comparison() -> None:
    """The tests get the alternative's name once when all comparisons share it."""
    rng = np.random.default_rng(8)
    n = 500
    arms = [
        SufficientStatistics(
            n=np.full(n, 1000.0),
            sum_y=rng.uniform(900, 1100, n),
            sum_y_squares=rng.uniform(5000, 6000, n),
            sum_x=rng.uniform(900, 1100, n),
            sum_x_squares=rng.uniform(5000, 6000, n),
            sum_xy=rng.uniform(4000, 5000, n),
        )
        for _ in range(2)
    ]
    level = rng.choice([0.9, 0.95], n)
    for name in ("two-sided", "greater", "less"):
        each = np.full(n, name, dtype=object)
        assert one_or_each(each) == name
        for test in (unadjusted_test, cuped_test):
            one, per_row = test(*arms, level, name), test(*arms, level, each)
            for field in ESTIMATE_FIELDS:
                got, expected = getattr(one, field), getattr(per_row, field)
                assert got.shape == expected.shape
                assert got.tobytes() == expected.tobytes(), field
    mixed = np.array(["two-sided", "less"], dtype=object)
    assert one_or_each(mixed) is mixed
    assert len(one_or_each(np.array([], dtype=object))) == 0
