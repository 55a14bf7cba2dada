"""Number formats for the text an analyst reads.

The stored verdict reasons, the terminal summary and the report format their figures here,
so that a figure reads the same wherever it is shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
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
    """:func:`percent` over an array (a nightly run formats 10,000s).

    Each distinct rounded figure is formatted once (see :func:`_fixed_point_texts`).
    """
    values = np.asarray(values, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * 100
    text, undone = _fixed_point_texts(scaled, digits, signed=True, suffix="%")
    for i in np.flatnonzero(undone).tolist():
        value = float(values[i])
        text[i] = f"{value * 100:+.{digits}f}%" if math.isfinite(value) else percent(value, digits)
    return text.tolist()


def p_value_array(values: np.ndarray) -> list[str]:
    """:func:`p_value` over an array."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        shown = values >= 0.001
    text, undone = _fixed_point_texts(np.where(shown, values, np.nan), 3, signed=False, suffix="")
    text[values < 0.001] = "<0.001"
    text[np.isnan(values)] = "n/a"
    for i in np.flatnonzero(undone & shown).tolist():  # near a tie, or infinite
        text[i] = f"{float(values[i]):.3f}"
    return text.tolist()


#: How far from a rounding tie, in units of the last digit and relative to the figure, a
#: value must be for the product ``value * 10**digits`` to round as the exact value does.
_TIE_MARGIN = 1e-9


def _fixed_point_texts(
    values: np.ndarray, digits: int, *, signed: bool, suffix: str
) -> tuple[np.ndarray, np.ndarray]:
    """``f"{value:{'+' if signed else ''}.{digits}f}{suffix}"`` per value, where it is safe.

    Python rounds the exact binary value half to even. The product ``value * 10**digits``
    is off the exact one by at most half an ulp, so where it lies clearly away from a half
    (:data:`_TIE_MARGIN`), ``rint`` of it is Python's rounding. Values near a tie,
    non-finite or too large for exact integers are left undone ('' in the texts, their
    positions returned) for the caller to format one by one. Each distinct (rounded value,
    sign) is formatted once: figures repeat at display precision.

    Returns:
        The texts (an object array), and where they are left undone.
    """
    import pandas as pd  # not at import: see missing()

    with np.errstate(over="ignore", invalid="ignore"):
        units = values * 10.0**digits
        distance_to_tie = np.abs(np.abs(units - np.floor(units)) - 0.5)
        magnitude = np.abs(units)
        done = (magnitude < 1e15) & (distance_to_tie > _TIE_MARGIN * np.maximum(1.0, magnitude))
        rounded = np.where(done, np.rint(magnitude), 0).astype(np.int64)
    keys = rounded * 2 + np.signbit(values)
    codes, distinct = pd.factorize(keys[done])
    distinct = np.asarray(distinct, dtype=np.int64)
    wholes, fractions = np.divmod(distinct // 2, 10**digits)
    negative = (distinct % 2).astype(bool).tolist()
    signs = [("-" if minus else "+") if signed else ("-" if minus else "") for minus in negative]
    if digits:
        fraction_texts = _fraction_texts(digits)
        figures = [
            f"{sign}{whole}{fraction_texts[fraction]}{suffix}"
            for sign, whole, fraction in zip(
                signs, wholes.tolist(), fractions.tolist(), strict=True
            )
        ]
    else:
        figures = [
            f"{sign}{whole}{suffix}" for sign, whole in zip(signs, wholes.tolist(), strict=True)
        ]
    texts = np.full(len(values), "", dtype=object)
    texts[done] = np.array(figures, dtype=object)[codes] if figures else []
    return texts, ~done


@cache
def _fraction_texts(digits: int) -> list[str]:
    """'.0' to '.9' for one digit, '.000' to '.999' for three, and so on."""
    return [f".{f:0{digits}d}" for f in range(10**digits)]


def texts_per_combination(make: Callable[..., str], *columns: Any) -> list[str]:
    """``make(*row)`` for each row of ``columns``, called once per distinct row.

    For texts that repeat over 10,000s of rows (a setting, a count, a label). Rows are the
    same when their values are: floats bit for bit (0.0 and -0.0 differ, as their texts
    may), others by equality. ``make`` gets Python values, as ``tolist()`` gives them.
    """
    import pandas as pd  # not at import: see missing()

    arrays = [np.asarray(column) for column in columns]
    if not len(arrays[0]):
        return []
    key = np.zeros(len(arrays[0]), dtype=np.int64)
    for values in arrays:
        if values.dtype == np.float64:
            values = values.view(np.int64)  # bit for bit; NaN is a value like the others
        codes, distinct = pd.factorize(values)  # None (code -1) after the distinct values
        key = key * (len(distinct) + 1) + np.where(codes < 0, len(distinct), codes)
        key = pd.factorize(key)[0]  # dense again: no overflow whatever the columns
    first = np.full(key.max() + 1, -1)
    first[key[::-1]] = np.arange(len(key))[::-1]  # each distinct row's first position
    made = [make(*row) for row in zip(*(a[first].tolist() for a in arrays), strict=True)]
    return np.array(made, dtype=object)[key].tolist()
