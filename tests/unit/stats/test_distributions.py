"""The t, normal and chi-square distributions equal scipy.stats bit for bit, edge cases too."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from analysis_py.stats.distributions import (
    chi2_sf,
    normal_cdf,
    normal_pdf,
    normal_ppf,
    normal_sf,
    t_ppf,
    t_sf,
)

DEGREES_OF_FREEDOM = np.array([np.nan, -1.0, 0.0, 1e-3, 0.5, 1.0, 2.5, 30.0, 1e5, 3e7, np.inf])
STATISTICS = np.array([np.nan, -np.inf, np.inf, 0.0, -0.0, 1e-300, -1.96, 2.5, 40.0, -1e10])
LEVELS = np.array([np.nan, -0.5, 0.0, 1e-300, 1e-12, 0.025, 0.5, 0.95, 0.975, 1 - 1e-12, 1.0, 2])


def bitwise_equal(got: np.ndarray, expected: np.ndarray) -> bool:
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return got.shape == expected.shape and got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("seed", range(3))
def test_t_sf_is_scipy_t_sf_bitwise(seed: int) -> None:
    x, df = (grid.ravel() for grid in np.meshgrid(STATISTICS, DEGREES_OF_FREEDOM))
    rng = np.random.default_rng(seed)  # and ordinary values, where the fast path runs
    x = np.concatenate([x, rng.normal(0, 3, 500)])
    df = np.concatenate([df, rng.uniform(1, 1e6, 500)])
    assert bitwise_equal(t_sf(x, df), stats.t.sf(x, df))
    usual = np.isfinite(x) & (df > 0)
    assert bitwise_equal(t_sf(x[usual], df[usual]), stats.t.sf(x[usual], df[usual]))


@pytest.mark.parametrize("seed", range(3))
def test_t_ppf_is_scipy_t_ppf_bitwise(seed: int) -> None:
    q, df = (grid.ravel() for grid in np.meshgrid(LEVELS, DEGREES_OF_FREEDOM))
    rng = np.random.default_rng(seed)
    q = np.concatenate([q, rng.uniform(0, 1, 500)])
    df = np.concatenate([df, rng.uniform(1, 1e6, 500)])
    assert bitwise_equal(t_ppf(q, df), stats.t.ppf(q, df))
    usual = (q > 0) & (q < 1) & (df > 0)
    assert bitwise_equal(t_ppf(q[usual], df[usual]), stats.t.ppf(q[usual], df[usual]))


def test_scalars_give_scipys_values() -> None:
    for x, df in ((2.0, 30.0), (np.nan, 30.0), (1.0, 0.0), (np.inf, 5.0)):
        assert bitwise_equal(t_sf(x, df), stats.t.sf(x, df))
    for q, df in ((0.975, 30.0), (0.5, 12.0), (1.0, 3.0), (0.3, -2.0)):
        assert bitwise_equal(t_ppf(q, df), stats.t.ppf(q, df))


NORMAL_ARGUMENTS = np.array(
    [np.nan, -np.inf, np.inf, 0.0, -0.0, 1e-300, -1.96, 2.5, 8.3, 40.0, -1e10, 1e200]
)


@pytest.mark.parametrize("seed", range(3))
def test_normal_functions_are_scipy_norm_bitwise(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.concatenate([NORMAL_ARGUMENTS, rng.normal(0, 5, 1000)])
    for ours, theirs in (
        (normal_pdf, stats.norm.pdf),
        (normal_cdf, stats.norm.cdf),
        (normal_sf, stats.norm.sf),
    ):
        assert bitwise_equal(ours(x), theirs(x))
        assert bitwise_equal(ours(x[np.isfinite(x)]), theirs(x[np.isfinite(x)]))
    q = np.concatenate([LEVELS, rng.uniform(0, 1, 1000)])
    assert bitwise_equal(normal_ppf(q), stats.norm.ppf(q))
    assert bitwise_equal(normal_ppf(q[(q > 0) & (q < 1)]), stats.norm.ppf(q[(q > 0) & (q < 1)]))


@pytest.mark.parametrize("seed", range(3))
def test_chi2_sf_is_scipy_chi2_sf_bitwise(seed: int) -> None:
    x, df = (grid.ravel() for grid in np.meshgrid(STATISTICS, DEGREES_OF_FREEDOM))
    rng = np.random.default_rng(seed)  # and ordinary values: the sample-ratio check's
    x = np.concatenate([x, rng.chisquare(3, 500)])
    df = np.concatenate([df, rng.integers(1, 10, 500)])
    assert bitwise_equal(chi2_sf(x, df), stats.chi2.sf(x, df))
    usual = (x >= 0) & np.isfinite(x) & (df > 0)
    assert bitwise_equal(chi2_sf(x[usual], df[usual]), stats.chi2.sf(x[usual], df[usual]))
    for x_value, df_value in ((3.84, 1), (0.0, 2), (np.nan, 1), (5.0, 0)):
        assert bitwise_equal(chi2_sf(x_value, df_value), stats.chi2.sf(x_value, df_value))


def test_the_analysis_imports_without_scipy_stats() -> None:
    """Importing scipy.stats costs about 0.5 s: only unusual arguments may need it.

    Unusual: infinite or out of range; not NaN (a metric without variance) nor a
    chi-square of 0 (arms of exactly the expected sizes).
    """
    code = (
        "import sys; import numpy as np\n"
        "import analysis_py.run, analysis_py.presentation.summary\n"
        "from analysis_py.stats.distributions import *\n"
        "t_sf([np.nan, 1.0], [3.0, np.nan]); t_ppf([np.nan], 3.0); chi2_sf([0.0, np.nan], 1)\n"
        "normal_ppf([np.nan, 0.5]); normal_cdf([np.nan])\n"
        "print('scipy.stats' in sys.modules)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert imported.strip() == "False"
