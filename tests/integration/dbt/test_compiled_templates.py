"""dbt's templates compiled once per project, through dbt itself.

A later dbt call compiles nothing it has seen, and an edited macro takes effect at once
(analysis_py/warehouse/jinja_cache.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pytest

from analysis_py.warehouse.bridge import load_target
from analysis_py.warehouse.dbt import run_dbt
from analysis_py.warehouse.jinja_cache import CACHE_FILE


def _project(directory: Path, macro_value: str) -> Path:
    (directory / "models").mkdir(exist_ok=True)
    (directory / "macros").mkdir(exist_ok=True)
    (directory / "dbt_project.yml").write_text(
        'name: tiny\nversion: "1.0.0"\nconfig-version: 2\nprofile: tiny\n'
        "models:\n  tiny:\n    +materialized: table\n"
    )
    (directory / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev: {type: duckdb, threads: 1, "
        f"path: '{directory / 'warehouse.duckdb'}'}}\n"
    )
    (directory / "macros" / "the_value.sql").write_text(
        f"{{% macro the_value() %}}{macro_value}{{% endmacro %}}\n"
    )
    (directory / "models" / "answer.sql").write_text("select {{ the_value() }} as x\n")
    return directory


def _build(project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """`dbt run` through xp's dbt call; the value built, and how many templates compiled."""
    compiled = []
    generate = jinja2.Environment._generate

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(1)
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "_generate", counted)
    run_dbt("run", load_target(project), None, ["--quiet"])
    monkeypatch.undo()
    # dbt-duckdb keeps its connection open in this process: one of the same settings.
    with duckdb.connect(str(project / "warehouse.duckdb")) as connection:
        (value,) = connection.execute("select x from answer").fetchone() or (None,)
    return value, len(compiled)


def test_a_second_run_compiles_nothing_and_an_edit_takes_effect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "1")
    value, first_compiled = _build(project, monkeypatch)
    assert value == 1
    assert first_compiled > 10  # the model, our macro, dbt's materialization and its macros
    assert (project / "target" / CACHE_FILE).exists()

    # A second run replaces the table: a few macros the first did not call.
    assert _build(project, monkeypatch)[0] == 1
    assert _build(project, monkeypatch) == (1, 0)

    _project(tmp_path, "2")  # the macro edited
    value, compiled = _build(project, monkeypatch)
    assert value == 2
    assert 0 < compiled < first_compiled
