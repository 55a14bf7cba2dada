"""docs/result-tables.md is the contract's own rendering, with every column in its order.

It lists every column of the latest tables in the contract's order (the sliced tables:
only what they add).
"""

from __future__ import annotations

import re

import pytest

from analysis_py.result_tables import (
    EXPERIMENT_RESULTS,
    LATEST_TABLES,
    SLICED_TABLES,
    reference_markdown,
)
from tests.conftest import REPO

REFERENCE = REPO / "docs" / "result-tables.md"


def test_the_reference_is_generated_from_the_contract() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/result-tables.md differs from the contract: run "
        "`python -m analysis_py.result_tables > docs/result-tables.md`"
    )


@pytest.mark.parametrize("table", sorted(LATEST_TABLES))
def test_the_reference_lists_the_contract_columns(table: str) -> None:
    section = REFERENCE.read_text(encoding="utf-8").split(f"## `{table}`", 1)[1]
    section = section.split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \| (\w+) \|", section, flags=re.MULTILINE)
    overall = {c.name for c in EXPERIMENT_RESULTS}
    expected = [
        (c.name, c.type)
        for c in LATEST_TABLES[table]
        if table not in SLICED_TABLES or c.name not in overall
    ]
    assert documented == expected


def test_the_readme_links_the_reference() -> None:
    assert "docs/result-tables.md" in (REPO / "README.md").read_text(encoding="utf-8")
