"""Fail one statement of the analysis step's warehouse session, as the engine would.

The analysis step reaches every engine through dbt's adapter, whose statements all pass
through dbt's ``SQLConnectionManager.add_query``. The fault is raised there, inside the
adapter's own error handling, so that it reaches the analysis step as a failing statement
does on that engine: wrapped by dbt, after the adapter's own rollback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dbt.adapters.sql.connections import SQLConnectionManager


def fail_statement(
    monkeypatch: pytest.MonkeyPatch,
    matches: Callable[[str], bool],
    error: BaseException | Callable[[Any, Callable[..., Any]], None],
    *,
    skip: int = 0,
) -> list[str]:
    """Make the first statement that ``matches`` after ``skip`` matching ones fail.

    Args:
        monkeypatch: Undoes the fault at the end of the test.
        matches: Whether a statement's SQL is one to fail.
        error: The exception the statement raises, or a function of the connection manager
            and the original ``add_query`` that fails as it likes (e.g. runs a bad query).
        skip: How many matching statements run normally first.

    Returns:
        The matching statements seen so far (it grows as the session runs).
    """
    original = SQLConnectionManager.add_query
    seen: list[str] = []

    def add_query(self: SQLConnectionManager, sql: str, *args: Any, **kwargs: Any) -> Any:
        if matches(sql):
            seen.append(sql)
            if len(seen) == skip + 1:
                with self.exception_handler(sql):
                    if isinstance(error, BaseException):
                        raise error
                    error(self, original)
        return original(self, sql, *args, **kwargs)

    monkeypatch.setattr(SQLConnectionManager, "add_query", add_query)
    return seen


def inserts_into(table: str) -> Callable[[str], bool]:
    """Matches the statements that insert rows into ``table`` or its staging table.

    In any schema, with any quoting; Spark writes the staging table (macros/xp_write_results.sql).
    """

    def matches(sql: str) -> bool:
        words = sql.split(None, 3)
        return (
            len(words) >= 3
            and words[0].lower() == "insert"
            and words[2].replace('"', "").replace("`", "").rsplit(".", 1)[-1]
            in (table, f"{table}__xp_staging")
        )

    return matches
