"""The checks `xp analyze` makes on the marts before it analyses them (analysis_py/run.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_py.errors import AnalysisError
from analysis_py.marts import CROSS_PRODUCTS, DAILY_MART, DIMENSION_MART, MART, QUANTILE_MART
from analysis_py.run import check_one_build


def built_by(*invocations: str | None) -> pd.DataFrame:
    return pd.DataFrame({"invocation_id": list(invocations), "n": range(len(invocations))})


OTHERS = (CROSS_PRODUCTS, QUANTILE_MART, DAILY_MART, DIMENSION_MART)


@pytest.mark.parametrize("stale", OTHERS)
def test_a_mart_of_another_build_is_refused_by_name(stale: str) -> None:
    others: dict[str, pd.DataFrame | None] = {name: built_by("b2", "b2") for name in OTHERS}
    others[stale] = built_by("b1", "b1")
    with pytest.raises(AnalysisError, match=f"^{stale} was not built by the dbt invocation"):
        check_one_build(built_by("b2"), others)


def test_marts_of_one_build_pass() -> None:
    others: dict[str, pd.DataFrame | None] = {name: built_by("b2") for name in OTHERS}
    others[QUANTILE_MART] = None  # not read under this config
    others[DIMENSION_MART] = built_by()  # no rows: nothing to mix
    check_one_build(built_by("b2", "b2"), others)


def test_a_mart_without_the_column_names_itself() -> None:
    with pytest.raises(AnalysisError, match=f"^{DAILY_MART} lacks the column invocation_id"):
        check_one_build(built_by("b2"), {DAILY_MART: pd.DataFrame({"n": [1]})})
    with pytest.raises(AnalysisError, match=f"^{MART} lacks the column invocation_id"):
        check_one_build(pd.DataFrame({"n": [1]}), {})


def test_a_statistics_mart_of_two_builds_is_refused() -> None:
    with pytest.raises(AnalysisError, match=f"^{MART} holds rows of several dbt invocations"):
        check_one_build(built_by("b1", "b2"), {})


def test_a_mart_with_rows_of_two_builds_is_refused() -> None:
    with pytest.raises(AnalysisError, match=f"^{DAILY_MART} was not built"):
        check_one_build(built_by("b2"), {DAILY_MART: built_by("b2", "b1")})
