"""An experiment's dates: ``start_at`` / ``end_at``, or ``phases``, and the analysed phase.

An experiment may be bounded in time in one of two ways (never both):

- ``start_at`` and optionally ``end_at``: one phase, with the experiment's ``traffic``;
- ``phases``: a list of ``{name, start_at, end_at, traffic}``, in time order and not
  overlapping, each with its own split; only the last may leave ``end_at`` out (still
  running). ``traffic`` is then not given at the top: it is the analysed phase's.

The analysed phase is the one ``analysis_phase`` names, else the last. Only exposures in
``[start_at, end_at)`` of that phase count, and the sample-ratio check expects its split.

Times are ISO 8601 (``2026-03-01T00:00:00Z``, ``2026-03-01 09:00:00+02:00``); a time
without an offset, and a plain date (its midnight), is UTC. They are kept as naive UTC
datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

from analysis_py.config.schema import Convert, Key, Location, Table, walk
from analysis_py.config.types import Phase

_TIMESTAMP_HINT = (
    "an ISO 8601 time such as '2026-03-01T00:00:00Z' or '2026-03-01 09:00:00+02:00' "
    "(without an offset: UTC)"
)
# A date, then optionally a time: what ``datetime.fromisoformat`` would also read in other
# shapes (week dates, ordinal dates) is not accepted, so that the file stays plain.
_ISO_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?"
)
_PHASE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def timestamp(at: Location, value: Any) -> datetime:
    """An ISO 8601 time as a naive UTC datetime; YAML may have read it as a date or datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and _ISO_TIMESTAMP.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise at.error(f"{value!r} is not a valid time ({error})") from None
    else:
        raise at.error(f"must be {_TIMESTAMP_HINT}, got {value!r}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _phase_name(at: Location, value: Any) -> str:
    if not isinstance(value, str) or not _PHASE_NAME.fullmatch(value):
        raise at.error(
            f"{value!r} is not a valid name (lowercase letters, digits and '_', "
            "starting with a letter)"
        )
    return value


def _check_order(at: Location, start_at: datetime, end_at: datetime | None) -> None:
    if end_at is not None and end_at <= start_at:
        raise at.error(f"end_at ({end_at}) must be after start_at ({start_at})")


def phases(traffic: Convert) -> Convert:
    """A converter for the ``phases`` list: named, ordered, not overlapping, only the last open.

    Args:
        traffic: The converter of a split (a share per variant, summing to 1), which reads
            the experiment's variants from the location it is given.

    Returns:
        A converter returning the phases as a tuple.
    """
    table = Table(
        Key("name", _phase_name, required=True),
        Key("start_at", timestamp, required=True),
        Key("end_at", timestamp),
        Key("traffic", _raw, required=True),
    )

    def convert(at: Location, value: Any) -> tuple[Phase, ...]:
        if not isinstance(value, list) or not value:
            raise at.error("must be a non-empty list of {name, start_at, end_at, traffic}")
        parsed: list[Phase] = []
        for index, raw in enumerate(value):
            at_phase = at.item(index)
            fields = walk(table, at_phase, raw)
            # The split is checked against the experiment's variants, parsed before phases.
            fields["traffic"] = traffic(at_phase.sub("traffic"), fields["traffic"])
            phase = Phase(end_at=fields.pop("end_at", None), **fields)
            _check_order(at_phase.sub("end_at"), phase.start_at, phase.end_at)
            if parsed:
                _check_follows(at_phase, parsed, phase)
            parsed.append(phase)
        return tuple(parsed)

    return convert


def _raw(at: Location, value: Any) -> Any:
    """A value checked later, by the caller of :func:`walk`."""
    return value


def _check_follows(at: Location, earlier: list[Phase], phase: Phase) -> None:
    """``phase`` has a new name and starts once the phase before it has ended."""
    previous = earlier[-1]
    if phase.name in {p.name for p in earlier}:
        raise at.sub("name").error(f"duplicate phase name {phase.name!r}")
    if previous.end_at is None:
        raise at.error(
            f"phase {previous.name!r} before it has no end_at: only the last phase may be open"
        )
    if phase.start_at < previous.end_at:
        raise at.sub("start_at").error(
            f"{phase.start_at} is before the end of phase {previous.name!r} "
            f"({previous.end_at}): phases are in time order and do not overlap"
        )


def check_dates(at: Location) -> None:
    """Across keys: dates or phases (not both), ``traffic`` or phases, a known phase named.

    Run on the experiment's mapping once its date keys are parsed; ``at.key`` is "".
    """
    raw, parsed = at.mapping, at.parsed
    has_phases = "phases" in raw
    for key in ("start_at", "end_at", "traffic"):
        if has_phases and key in raw:
            raise at.sub(key).error(
                "not with phases: each phase has its own start_at, end_at and traffic"
            )
    if not has_phases and "traffic" not in raw:
        raise at.entry.error("missing key 'traffic'")
    if not has_phases and "analysis_phase" in raw:
        raise at.sub("analysis_phase").error("only with phases")
    if "end_at" in raw and "start_at" not in raw:
        raise at.sub("end_at").error("needs start_at")
    if "start_at" in parsed:
        _check_order(at.sub("end_at"), parsed["start_at"], parsed.get("end_at"))
    if "analysis_phase" in raw:
        names = [phase.name for phase in parsed.get("phases", ())]
        if raw["analysis_phase"] not in names:
            raise at.sub("analysis_phase").error(
                f"{raw['analysis_phase']!r} is not among the phases {names}"
            )


def analysed_traffic(parsed: Mapping[str, Any]) -> dict[str, float]:
    """The ``traffic`` of an experiment with phases: its analysed phase's split."""
    named = [p for p in parsed["phases"] if p.name == parsed.get("analysis_phase")]
    return (named or [parsed["phases"][-1]])[0].traffic
