"""Engine, dbt and OS errors as one line naming the cause.

DuckDB, Postgres and Spark word the same causes differently: a missing table or column, a
value that does not convert, a full disk, memory. The user reads one line that names it.
"""

from __future__ import annotations

import errno
import re

# An engine's error text -> the cause in a few words. DuckDB, Postgres and Spark word the
# same causes differently; the first match wins, and the engine's own first line is kept
# when nothing matches.
_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), text)
    for pattern, text in (
        (
            r"no space left on device|could not extend file|disk (is )?full",
            "the disk is full (No space left on device)",
        ),
        (r"out of memory|OutOfMemory|could not allocate|failed to allocate", "out of memory"),
        (
            r"Table with name (?P<name>[\w.\"`]+) does not exist"
            r"|relation \"(?P<name2>[^\"]+)\" does not exist"
            r"|The table or view (?P<name3>[\w.`]+) cannot be found",
            "table '{name}' does not exist",
        ),
        (
            r"column \"(?P<name>[^\"]+)\" referenced that exists in the SELECT clause"
            r"|Referenced column \"(?P<name2>[^\"]+)\" not found"
            r"|column \"?(?P<name3>[\w.]+)\"? does not exist"
            r"|with name `(?P<name4>[^`]+)` cannot be resolved",
            "column '{name}' does not exist in the table it reads",
        ),
        # The staging models' own message for text that is not an ISO 8601 timestamp.
        (r"xp: (?P<value>[\w.]+ is not an ISO 8601 timestamp [^\n]*)", "{value}"),
        (
            r"Could not convert string '(?P<value>[^']*)' to (?P<type>\w+)"
            r"(?: when casting from source column (?P<column>\w+))?",
            "value '{value}'{column} cannot be converted to {type}",
        ),
        (
            r"invalid timestamp field format: \"(?P<value>[^\"]*)\""
            r"(?:.*when casting from source column (?P<column>\w+))?",
            "value '{value}'{column} is not a timestamp (expected YYYY-MM-DD HH:MM:SS)",
        ),
        (
            r"Unimplemented type for cast \((?P<value>\w+) -> (?P<type>\w+)\)"
            r"(?: when casting from source column (?P<column>\w+))?",
            "a {value}{column} cannot be cast to {type}",
        ),
        (
            r"invalid input syntax for type (?P<type>[\w ]+): \"(?P<value>[^\"]*)\"",
            "value '{value}' cannot be converted to {type}",
        ),
        (
            r"date/time field value out of range: \"(?P<value>[^\"]*)\"",
            "value '{value}' is not a timestamp (expected YYYY-MM-DD HH:MM:SS)",
        ),
        (
            r"cannot cast type (?P<value>[\w ]+) to (?P<type>[\w ]+)",
            "a {value} cannot be cast to {type}",
        ),
        (
            r"The value '(?P<value>[^']*)' of the type \"\w+\" cannot be cast to \"(?P<type>\w+)\"",
            "value '{value}' cannot be converted to {type}",
        ),
    )
)


def error_cause(text: str) -> str:
    """The cause of an engine's (or dbt's) error message, in one line.

    The table, column or value at fault, or the disk or memory; else the message's first
    line.
    """
    for pattern, template in _CAUSES:
        match = pattern.search(text)
        if match:
            found = {
                key.rstrip("0123456789"): value.replace("`", "").strip('"')
                for key, value in match.groupdict().items()
                if value is not None
            }
            column = found.get("column")
            cause = template.format(
                name=found.get("name", ""),
                value=found.get("value", ""),
                type=found.get("type", ""),
                column=f" in column {column}" if column else "",
            )
            if cause.startswith(("out of memory", "the disk is full")):
                return f"{cause}: {first_line(text)}"
            return cause
    return first_line(text)


def first_line(text: str, limit: int = 240) -> str:
    """The first line of a message that says something (dbt puts a header line first)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    useful = [
        line
        for line in lines
        if not re.match(r"^(Runtime|Database|Compilation) Error( in \w+ .*)?$", line)
    ]
    line = " ".join((useful or lines or [""])[0].split())
    return line if len(line) <= limit else line[:limit] + "..."


def os_error_cause(error: OSError) -> str:
    """An OSError as one line: a full disk named as such, else its text and file."""
    where = f": {error.filename}" if error.filename else ""
    if error.errno == errno.ENOSPC:
        return f"the disk is full (No space left on device){where}"
    return f"{error.strerror or error}{where}"
