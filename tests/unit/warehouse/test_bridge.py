"""The dbt bridge on literal data: its one-line errors, how it types rows, how it sends them.

The target errors are dbt's own: each case loads a small project through dbt's RuntimeConfig,
so that a dbt release that rewords them fails here rather than in front of a user.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_py.result_tables import Column
from analysis_py.warehouse import bridge
from analysis_py.warehouse.bridge import ProfileError, load_target

PACKAGE_DIR = Path(bridge.__file__).resolve().parent.parent
#: Imports that reach a database, or dbt's adapter and config internals, without dbt's API.
DRIVER_IMPORT = re.compile(
    r"^\s*(?:import|from)\s+(duckdb|psycopg2|pyspark|pyhive|dbt\.adapters|dbt\.config"
    r"|dbt\.context)\b",
    re.MULTILINE,
)


def test_no_module_but_the_bridge_imports_a_driver() -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE_DIR))
        for path in PACKAGE_DIR.rglob("*.py")
        if DRIVER_IMPORT.search(path.read_text())
    )
    assert importers == ["warehouse/bridge.py"]


PROFILES = """\
experiment_analysis:
  target: local
  outputs:
    local: {type: duckdb, path: "{{ env_var('XP_TEST_DUCKDB_PATH', 'x.duckdb') }}", schema: main}
    needs_env: {type: duckdb, path: "{{ env_var('XP_TEST_UNSET_VARIABLE') }}"}
    cloud: {type: snowflake, account: x, schema: analytics}
    untyped: {path: x.duckdb}
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "dbt_project.yml").write_text(
        "name: experiment_analysis\nconfig-version: 2\nprofile: experiment_analysis\n"
    )
    (tmp_path / "profiles.yml").write_text(PROFILES)
    return tmp_path


def test_the_target_comes_from_dbt(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XP_TEST_DUCKDB_PATH", "/data/warehouse.duckdb")
    target = load_target(project)
    assert (target.target_name, target.type, target.schema) == ("local", "duckdb", "main")
    assert target.connection["path"] == "/data/warehouse.duckdb"
    assert target.profiles_dir == project
    assert bridge.warehouse_location(target) == "DuckDB file /data/warehouse.duckdb"
    monkeypatch.setenv("DBT_TARGET", "needs_env")
    monkeypatch.setenv("XP_TEST_UNSET_VARIABLE", "y.duckdb")
    assert load_target(project).target_name == "needs_env"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "nope",
            "{profiles}: profile 'experiment_analysis' has no target 'nope' "
            "(targets: local, needs_env, cloud, untyped)",
        ),
        (
            "needs_env",
            "profiles.yml or dbt_project.yml needs the environment variable "
            "XP_TEST_UNSET_VARIABLE, which is not set",
        ),
        (
            "cloud",
            "dbt target 'cloud' has type 'snowflake', but dbt's adapter for it is not "
            "installed: pip install dbt-snowflake",
        ),
        ("untyped", "dbt target 'untyped' of profile 'experiment_analysis' has no 'type'"),
    ],
)
def test_dbt_errors_become_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    monkeypatch.delenv("XP_TEST_UNSET_VARIABLE", raising=False)
    expected = message.format(profiles=project / "profiles.yml")
    with pytest.raises(ProfileError) as raised:
        load_target(project, target=target)
    assert str(raised.value) == expected


def test_a_missing_project_or_profile_is_named(project: Path, tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as raised:
        load_target(tmp_path / "nowhere", profiles_dir=project)
    assert str(raised.value) == (
        f"{tmp_path / 'nowhere' / 'dbt_project.yml'}: cannot read: No such file or directory"
    )
    (project / "profiles.yml").write_text(PROFILES.replace("experiment_analysis:", "other:"))
    with pytest.raises(ProfileError) as raised:
        load_target(project)
    assert str(raised.value) == (
        f"{project / 'profiles.yml'}: no profile named 'experiment_analysis' "
        f"(the 'profile' of {project / 'dbt_project.yml'})"
    )


def test_an_unknown_dbt_error_keeps_dbt_s_first_line(tmp_path: Path) -> None:
    error = bridge._profile_error(
        "Runtime Error\n  Something new went wrong\n  at x", tmp_path, tmp_path
    )
    assert str(error) == "dbt cannot load the project's target: Something new went wrong"


def test_rows_are_typed_as_duckdb_types_them() -> None:
    rows = [
        (1, Decimal("0.1"), 2.5, True, date(2026, 3, 27), datetime(2026, 3, 27, 6), "a", None),
        (None, None, None, None, None, None, None, None),
    ]
    names = ["n", "exact", "sum", "flag", "day", "at", "text", "nothing"]
    kinds = dict(
        zip(
            names,
            ["integer", "float", "float", "boolean", "date", "timestamp", "text", "float"],
            strict=True,
        )
    )
    frame = bridge._frame(rows, names, kinds)
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} | {"text": "-"} == {
        "n": "Int64",
        "exact": "float64",
        "sum": "float64",
        "flag": "boolean",
        "day": "datetime64[us]",
        "at": "datetime64[us]",
        "text": "-",
        "nothing": "float64",
    }
    assert frame.exact[0] == 0.1 and frame["nothing"].isna().all()
    complete = bridge._frame(rows[:1], names, kinds)
    assert (str(complete.n.dtype), str(complete.flag.dtype)) == ("int64", "bool")


COLUMNS = (
    Column("run_id", "text", ""),
    Column("analysis_at", "timestamp", ""),
    Column("analysis_date", "date", ""),
    Column("n", "bigint", ""),
    Column("p_value", "double", ""),
    Column("is_significant", "boolean", ""),
)


def result_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = rng.normal(size=rows)
    values[::3] = np.nan
    return pd.DataFrame(
        {
            "run_id": ["r'1"] * rows,
            "analysis_at": pd.Timestamp("2026-03-27 06:00:00.123456"),
            "analysis_date": date(2026, 3, 27),
            "n": np.arange(rows, dtype=float),
            "p_value": values,
            "is_significant": [True, None] * (rows // 2) + [False] * (rows % 2),
        }
    )


def test_bound_rows_come_in_batches_in_contract_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge, "BATCH_ROWS", 4)
    frame = result_frame(10)
    batches = bridge._batches(frame[list(reversed(frame.columns))], COLUMNS)
    assert [batch["rows"] for batch in batches] == [4, 4, 2]
    assert all(len(batch["bindings"]) == batch["rows"] * len(COLUMNS) for batch in batches)
    first = batches[0]["bindings"][: len(COLUMNS)]
    assert first == ["r'1", "2026-03-27 06:00:00.123456", "2026-03-27", 0.0, None, True]
    second = batches[0]["bindings"][len(COLUMNS) : 2 * len(COLUMNS)]
    assert second[4] == frame.p_value[1] and second[5] is None


def test_parquet_rows_round_trip_exactly(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    frame = result_frame(1001)
    path = bridge._parquet(frame, COLUMNS, tmp_path / "rows.parquet")
    back = pq.read_table(path).to_pandas()
    assert list(back.columns) == [column.name for column in COLUMNS]
    np.testing.assert_array_equal(back.p_value.to_numpy(), frame.p_value.to_numpy())
    assert back.analysis_at[0] == frame.analysis_at[0]
    assert back.analysis_date[0] == date(2026, 3, 27)
    assert back.is_significant.isna().sum() == 500
