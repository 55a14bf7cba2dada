"""Tables of keys, and the walk that checks one mapping of the config file against a table.

A table lists the keys of one kind of mapping (an experiment, a metric, its window, ...) in
the order they are checked: each :class:`Key` with the converter that checks its value and
returns it typed, whether it is required, and its default; each :class:`Rule` a check across
keys, run when the walk reaches it. :func:`walk` checks that the mapping has the required
keys and no others, then converts key after key. Every error names the file, the entry and
the dotted key (:class:`Location`), e.g.::

    experiments.yml: metrics[0] (id 'revenue'): key 'window.end_day': must be a whole number
    >= 1, got 0
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from analysis_py.config.types import ConfigError


class Entry:
    """A top-level entry of the file (e.g. ``metrics[0]``), which error messages start with."""

    def __init__(self, path: str, where: str, raw: Any = None) -> None:
        """The entry ``where`` of the file at ``path`` ("" for the file itself).

        Args:
            path: The config file, as it is named in errors.
            where: The entry, e.g. ``metrics[0]``; "" for the whole file.
            raw: The entry's mapping: its ``id``, when it is text, labels the entry.
        """
        label = where
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            label = f"{where} (id {raw['id']!r})"
        self.path = path
        self.prefix = f"{path}: {label}: " if label else f"{path}: "

    def error(self, message: str) -> ConfigError:
        """A :class:`ConfigError` whose message names the file and the entry."""
        return ConfigError(self.prefix + message)

    def child(self, key: str) -> Entry:
        """The mapping under ``key``, for errors about its keys ("key 'window': missing ...")."""
        entry = Entry(self.path, "")
        entry.prefix = f"{self.prefix}key '{key}': "
        return entry


@dataclass(slots=True)
class Location:
    """Where a value sits, and what it may depend on.

    Attributes:
        entry: The top-level entry holding the value.
        key: Its dotted key inside the entry (``window.end_day``); "" for the entry itself.
        mapping: The raw mapping that holds the key.
        parsed: That mapping's values converted so far, by field name.
        known: The document's values converted before this entry (its event sources, then
            its metrics), which an entry may refer to.
    """

    entry: Entry
    key: str = ""
    mapping: Any = None
    parsed: dict[str, Any] = field(default_factory=dict)
    known: Mapping[str, Any] = field(default_factory=dict)

    def error(self, message: str) -> ConfigError:
        """A :class:`ConfigError` naming the file, the entry and this key."""
        return self.entry.error(f"key '{self.key}': {message}")

    def sub(self, name: str) -> Location:
        """The value under ``name`` inside this one (``traffic`` -> ``traffic.control``)."""
        return replace(self, key=_joined(self.key, name))

    def item(self, index: int) -> Location:
        """The ``index``-th item of the list here (``filters`` -> ``filters[0]``)."""
        return replace(self, key=f"{self.key}[{index}]")

    def up(self) -> Location:
        """The mapping holding this key (``filters[0].column`` -> ``filters[0]``)."""
        return replace(self, key=self.key.rpartition(".")[0])

    def entry_item(self, index: int, raw: Any) -> Location:
        """The ``index``-th item of this top-level list, an entry of its own.

        The document's values parsed so far become what the new entry may refer to.
        """
        return Location(Entry(self.entry.path, f"{self.key}[{index}]", raw), known=self.parsed)


def _joined(key: str, name: str) -> str:
    """The dotted key of ``name`` inside ``key``; either may be "" (the entry itself)."""
    return f"{key}.{name}" if key and name else key or name


#: A converter checks a value given for a key and returns it typed, or raises the
#: :class:`ConfigError` of ``location.error``.
Convert = Callable[[Location, Any], Any]

_ABSENT: Any = object()


@dataclass(frozen=True)
class Key:
    """One key of a table.

    Attributes:
        name: The key in the file.
        convert: Checks the value given and returns it typed.
        required: Whether the mapping must have the key.
        default: The value when the key is absent; without one (and without
            ``default_from``) the field is left to its dataclass's default.
        default_from: Computes the value of an absent key from the values parsed before it.
        field_name: The field the value fills, when it is not ``name``.
        spread: ``convert`` returns several fields, by name, instead of one.
    """

    name: str
    convert: Convert
    required: bool = False
    default: Any = _ABSENT
    default_from: Callable[[Mapping[str, Any]], Any] | None = None
    field_name: str = ""
    spread: bool = False

    def take(self, at: Location) -> None:
        """Convert this key's value in ``at.mapping`` (or take its default) into ``at.parsed``."""
        if self.name in at.mapping:
            value = self.convert(at, at.mapping[self.name])
        elif self.default_from is not None:
            value = self.default_from(at.parsed)
        elif self.default is not _ABSENT:
            value = self.default
        else:
            return
        if self.spread:
            at.parsed.update(value)
        else:
            at.parsed[self.field_name or self.name] = value


@dataclass(frozen=True)
class Rule:
    """A check across keys, run on the values parsed before it.

    Attributes:
        name: The key its errors name; "" for the mapping itself.
        check: Raises ``location.error(...)`` when the values do not fit together.
    """

    name: str
    check: Callable[[Location], None]


class Table:
    """The keys and rules of one kind of mapping, in the order they are checked.

    Attributes:
        items: The keys and rules.
        required: The names of the keys the mapping must have.
        optional: The names of the other keys it may have.
    """

    def __init__(self, *items: Key | Rule) -> None:
        """A table of ``items``, in the order they are checked."""
        self.items = items
        keys = [item for item in items if isinstance(item, Key)]
        self.required = {key.name for key in keys if key.required}
        self.optional = {key.name for key in keys} - self.required

    def __iter__(self) -> Iterator[Key | Rule]:
        """The keys and rules, in order."""
        return iter(self.items)


def walk(table: Table, at: Location, raw: Any) -> dict[str, Any]:
    """Check the mapping ``raw`` against ``table`` and return its values by field name.

    Args:
        table: The keys and rules, in the order they are checked.
        at: Where ``raw`` sits: a top-level entry, or the key of a nested mapping.
        raw: The mapping from the file.

    Returns:
        The converted values by field name, ready for the dataclass of the mapping.

    Raises:
        ConfigError: ``raw`` is not a mapping, lacks a required key, has an unknown key,
            or a value or a rule fails.

    Example:
        >>> table = Table(Key("day", whole_number(0), required=True), Key("note", text))
        >>> walk(table, Location(Entry("x.yml", "")), {"day": 2})
        {'day': 2}
        >>> walk(table, Location(Entry("x.yml", "")), {"day": -1})
        Traceback (most recent call last):
        analysis_py.config.types.ConfigError: x.yml: key 'day': must be a whole number >= 0, got -1
    """
    check_keys(at.entry.child(at.key) if at.key else at.entry, raw, table.required, table.optional)
    parsed: dict[str, Any] = {}
    for item in table:
        inner = Location(at.entry, _joined(at.key, item.name), raw, parsed, at.known)
        if isinstance(item, Rule):
            item.check(inner)
        else:
            item.take(inner)
    return parsed


def check_keys(entry: Entry, raw: Any, required: set[str], optional: set[str]) -> None:
    """Raise unless ``raw`` is a mapping with every ``required`` key and no unknown key."""
    if not isinstance(raw, dict):
        raise entry.error("must be a mapping")
    missing = sorted(required - raw.keys())
    if missing:
        raise entry.error(f"missing key '{missing[0]}'")
    unknown = sorted(set(raw) - required - optional, key=str)  # YAML keys need not be text
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise entry.error(f"unknown key {unknown[0]!r} (allowed: {allowed})")


# Converters, and factories of them, for values of the common kinds.


def text(at: Location, value: Any) -> str:
    """Free text, e.g. a description."""
    if not isinstance(value, str):
        raise at.error("must be text")
    return value


def boolean(at: Location, value: Any) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise at.error(f"must be true or false, got {value!r}")
    return value


def one_of(allowed: tuple[str, ...]) -> Convert:
    """A converter accepting the values of ``allowed`` only."""
    expected = (
        f"{allowed[0]!r} or {allowed[1]!r}" if len(allowed) == 2 else f"one of {', '.join(allowed)}"
    )

    def convert(at: Location, value: Any) -> str:
        if value not in allowed:
            raise at.error(f"must be {expected}, got {value!r}")
        return value

    return convert


def matching(pattern: re.Pattern[str], hint: str) -> Convert:
    """A converter accepting text that ``pattern`` matches in full; ``hint`` says what it is."""

    def convert(at: Location, value: Any) -> str:
        # fullmatch, since ``$`` would also match before a final newline.
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise at.error(f"{value!r} is not a valid name ({hint})")
        return value

    return convert


def whole_number(minimum: int) -> Convert:
    """A converter accepting integers (not booleans) ``>= minimum``."""

    def convert(at: Location, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise at.error(f"must be a whole number >= {minimum}, got {shown(value)}")
        return value

    return convert


def number(
    low: float, high: float = math.inf, *, low_inclusive: bool = False, expected: str = ""
) -> Convert:
    """A converter accepting finite numbers (not booleans) with ``low < value < high``.

    Args:
        low: The lower bound, excluded unless ``low_inclusive``.
        high: The upper bound, excluded.
        low_inclusive: Whether ``low`` itself is accepted.
        expected: What the numbers are, in errors; by default these bounds.

    Returns:
        A converter returning the number as a float.
    """
    if not expected:
        expected = f"a number {'>=' if low_inclusive else '>'} {low:g}" + (
            f" and < {high:g}" if high != math.inf else ""
        )

    def convert(at: Location, value: Any) -> float:
        if (
            not is_finite_number(value)
            or value >= high
            or (value < low if low_inclusive else value <= low)
        ):
            raise at.error(f"must be {expected}, got {shown(value)}")
        return float(value)

    return convert


def optional(convert: Convert) -> Convert:
    """``convert``, except that ``null`` is accepted as None."""

    def convert_unless_null(at: Location, value: Any) -> Any:
        return None if value is None else convert(at, value)

    return convert_unless_null


def mapping(table: Table, build: Callable[..., Any] = dict) -> Convert:
    """A converter for a nested mapping: ``build`` (e.g. a dataclass) of its values by ``table``."""

    def convert(at: Location, value: Any) -> Any:
        return build(**walk(table, at, value))

    return convert


def non_empty_list(at: Location, value: Any) -> list[Any]:
    """A list with at least one item."""
    if not isinstance(value, list) or not value:
        raise at.error("must be a non-empty list")
    return value


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is an int or float, not a boolean, and a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the range of floats
        return False


def shown(value: Any) -> str:
    """``value`` in an error message, saying why it is not the number it may look like."""
    if isinstance(value, bool):
        return f"{value!r} (YAML reads yes, no, on, off, true, false as booleans)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} (not a finite number)"
    return repr(value)
