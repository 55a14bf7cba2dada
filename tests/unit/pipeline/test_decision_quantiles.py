"""The decision layer's t quantiles, shared between intervals at the same level, are exact."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_py.pipeline import decisions
from analysis_py.pipeline.decisions import _Tests
from analysis_py.stats.ttest import interval_quantile


def holm_tests(df: np.ndarray, alpha: np.ndarray, alternative: object, **extra: object) -> _Tests:
    """One Holm family of fixed-horizon tests on these degrees of freedom and levels."""
    n = len(df)
    return _Tests(
        estimate={"degrees_of_freedom": df},
        alpha=alpha,
        alternative=alternative,
        family=np.zeros(n, dtype=np.int64),
        methods=np.full(n, "holm", dtype=object),
        n_total=np.full(n, 100.0),
        tuning=np.full(n, np.nan),
        is_sequential=np.zeros(n, dtype=bool),
        increase_is_good=np.ones(n, dtype=bool),
        **extra,
    )


@pytest.mark.parametrize("one_name", [False, True])
def test_each_quantile_is_the_one_computed_on_its_own(one_name: bool) -> None:
    rng = np.random.default_rng(5)
    n = 2000
    df = rng.uniform(1.5, 5e5, size=n)
    df[:10] = np.nan
    alternative = rng.choice(np.array(["two-sided", "greater", "less"], dtype=object), size=n)
    if one_name:  # every comparison has the same alternative: passed as its name
        alternative = np.full(n, "greater", dtype=object)
    alpha = rng.choice([0.05, 0.1, 0.01], size=n)
    tests = holm_tests(df, alpha, "greater" if one_name else alternative)
    # Levels that repeat some rows of earlier calls and not others, as adjusted ones do.
    levels = [alpha, np.where(rng.uniform(size=n) < 0.5, alpha, alpha / 3), alpha * 0.7]
    levels.append(np.where(rng.uniform(size=n) < 0.5, levels[1], levels[2]))
    for level in levels:
        np.testing.assert_array_equal(
            tests.quantile(level), interval_quantile(level, df, alternative)
        )
    assert len(tests.known_quantiles) == len(levels)


def test_seeded_quantiles_are_used_only_where_level_and_df_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(7)
    n = 1000
    df = rng.uniform(1.5, 5e5, size=n)
    df[:5] = np.nan
    alpha = rng.choice([0.05, 0.1], size=n)
    alternative = rng.choice(np.array(["two-sided", "greater", "less"], dtype=object), size=n)
    # One seed on the same df for the first half, one on other df everywhere.
    seed_df = np.where(np.arange(n) < n // 2, df, df + 1.0)
    other_df = df * 2
    seeds = tuple((d, interval_quantile(alpha, d, alternative)) for d in (seed_df, other_df))
    tests = holm_tests(df, alpha, alternative, seeds=seeds)
    computed: list[int] = []

    def counted(a: np.ndarray, d: np.ndarray, alt: object) -> np.ndarray:
        computed.append(len(a))
        return interval_quantile(a, d, alt)  # type: ignore[arg-type]

    monkeypatch.setattr(decisions, "interval_quantile", counted)
    level = np.where(np.arange(n) % 4 == 0, alpha / 2, alpha)  # a quarter at another level
    np.testing.assert_array_equal(tests.quantile(level), interval_quantile(level, df, alternative))
    reused = (np.arange(n) < n // 2) & (np.arange(n) % 4 != 0) & ~np.isnan(df)
    assert computed == [n - reused.sum()]
