"""Formats only the terminal summary and the report use.

The formats the stored verdict reasons share with them live in analysis_py/formats.py.
"""

from __future__ import annotations

from typing import Any

from analysis_py.formats import missing, p_value


def share(value: Any) -> str:
    """A proportion without sign, e.g. '42%'."""
    return "n/a" if missing(value) else f"{value * 100:.0f}%"


def p_text(value: Any) -> str:
    """A p-value in a sentence: 'p = 0.011', 'p < 0.001'."""
    text = p_value(value)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def count(value: Any) -> str:
    """A count with thousands separators, e.g. '1,922'."""
    return "n/a" if missing(value) else f"{int(value):,}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 experiment', '2 experiments', '1,922 subjects' (``many`` for irregular plurals).

    >>> plural(1, "experiment"), plural(24, "comparison"), plural(0, "day")
    ('1 experiment', '24 comparisons', '0 days')
    """
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
