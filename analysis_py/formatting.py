"""Number formats shared by the stored verdict reasons, the terminal summary and the report,
so that a figure reads the same wherever it is shown."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def percent(value: Any, digits: int = 1) -> str:
    if missing(value):
        return "n/a"
    if math.isinf(value):
        return "+∞" if value > 0 else "-∞"
    return f"{value * 100:+.{digits}f}%"


def share(value: Any) -> str:
    """A proportion without sign, e.g. '42%'."""
    return "n/a" if missing(value) else f"{value * 100:.0f}%"


def p_value(value: Any) -> str:
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
