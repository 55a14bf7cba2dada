"""The README documents every column of both result tables, in the contract's order."""

from __future__ import annotations

import re

import pytest

from analysis_py.result_tables import LATEST_TABLES
from tests.conftest import REPO


@pytest.mark.parametrize("table", sorted(LATEST_TABLES))
def test_readme_lists_the_contract_columns(table: str) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split(f"### `{table}`", 1)[1].split("\n#", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \| (\w+) \|", section, flags=re.MULTILINE)
    assert documented == [(c.name, c.type) for c in LATEST_TABLES[table]]
