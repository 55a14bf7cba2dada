"""Number formats for the text an analyst reads.

The stored verdict reasons, the terminal summary and the report format their figures here,
so that a figure reads the same wherever it is shown.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def missing(value: Any) -> bool:
    """Whether a value is null: None, pandas' NA or NaN.

    pandas is imported here, not with the module, so that `xp` can format its messages
    before the analysis stack is loaded (analysis_py.cli imports it while dbt builds).
    """
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    import pandas as pd

    return value is pd.NA


def percent(value: Any, digits: int = 1) -> str:
    """A relative effect as a signed percent, e.g. '+37.1%'; 'n/a' when null."""
    if missing(value):
        return "n/a"
    if math.isinf(value):
        return "+∞" if value > 0 else "-∞"
    return f"{value * 100:+.{digits}f}%"


def p_value(value: Any) -> str:
    """A p-value to three decimals, '<0.001' below that; 'n/a' when null."""
    if missing(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def number(value: Any) -> str:
    """A mean or effect with sensible digits: 4 significant, no exponent for usual sizes."""
    if missing(value):
        return "n/a"
    if math.isinf(value):
        return "+∞" if value > 0 else "-∞"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:,.4g}"


def signed_number(value: Any) -> str:
    """An effect with its sign, e.g. '+1.25' or '-0.031'."""
    text = number(value)
    return text if text == "n/a" or text.startswith("-") else "+" + text


def percent_array(values: np.ndarray, digits: int = 1) -> list[str]:
    """:func:`percent` over an array (a nightly run formats 10,000s: no per-value checks)."""
    values = np.asarray(values, dtype=float)
    text = [f"{v:+.{digits}f}%" for v in (values * 100).tolist()]
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        text[i] = percent(float(values[i]), digits)
    return text


def p_value_array(values: np.ndarray) -> list[str]:
    """:func:`p_value` over an array."""
    values = np.asarray(values, dtype=float)
    text = [f"{v:.3f}" for v in values.tolist()]
    for i in np.flatnonzero(values < 0.001).tolist():
        text[i] = "<0.001"
    for i in np.flatnonzero(np.isnan(values)).tolist():
        text[i] = "n/a"
    return text
