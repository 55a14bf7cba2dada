"""Our seed loader (macros/load_csv_rows.sql) takes only the adapters it is written for.

dbt searches the root project's macros before its own under every adapter prefix, so a
`default__load_csv_rows` of ours would replace dbt-duckdb's COPY with row inserts. Postgres
and Spark, which do take ours, are checked against DuckDB's tables in tests/integration/engines.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from tests.conftest import REPO

SEED = "demo_support_tickets"


def test_duckdb_keeps_its_own_copy_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XP_TARGET", "duckdb")
    monkeypatch.setenv("XP_DUCKDB_PATH", str(tmp_path / "seeds.duckdb"))
    target = tmp_path / "target"
    result = dbtRunner().invoke(
        [
            "seed",
            "--project-dir",
            str(REPO),
            "--profiles-dir",
            str(REPO),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path),
            "--select",
            SEED,
            "--quiet",
        ]
    )
    assert result.success, result.exception
    (statement,) = target.glob(f"run/**/{SEED}.csv")
    assert "COPY" in statement.read_text()
    assert "insert into" not in statement.read_text().lower()
    lines = (REPO / "seeds" / "demo" / f"{SEED}.csv").read_text().splitlines()
    with duckdb.connect(str(tmp_path / "seeds.duckdb")) as connection:
        (rows,) = connection.execute(f"select count(*) from main.{SEED}").fetchone() or (0,)
    assert rows == len(lines) - 1
