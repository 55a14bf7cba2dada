"""Compare the pipeline's tables between two runs (engines, projects)."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from analysis_py.marts import MART

TABLE_KEYS = {
    MART: ["experiment_id", "variant_id", "metric_id"],
    "experiment_results": ["experiment_id", "metric_id", "treatment_variant_id"],
    "experiment_diagnostics": ["experiment_id"],
    "fct_variant_metric_daily_statistics": [
        "experiment_id",
        "as_of_date",
        "variant_id",
        "metric_id",
    ],
    "fct_variant_metric_dimension_statistics": [
        "experiment_id",
        "dimension_name",
        "dimension_value",
        "variant_id",
        "metric_id",
    ],
    "experiment_results_over_time": [
        "experiment_id",
        "day_number",
        "metric_id",
        "treatment_variant_id",
    ],
    "experiment_dimension_results": [
        "experiment_id",
        "dimension_name",
        "dimension_value",
        "metric_id",
        "treatment_variant_id",
    ],
    # One snapshot in each compared database, so the run's analysis_date needs no key.
    "experiment_results_history": ["experiment_id", "metric_id", "treatment_variant_id"],
    "experiment_diagnostics_history": ["experiment_id"],
}
# Differ by design between two runs.
RUN_COLUMNS = {"run_id", "analysis_at", "analysis_date", "invocation_id"}


def assert_tables_agree(
    reference: pd.DataFrame,
    other: pd.DataFrame,
    keys: list[str],
    table: str,
    ignore: frozenset[str] = frozenset(),
) -> None:
    """Same columns, identical row sets on the keys, every number within 1e-9 relative.

    Column order may differ only where an engine moves a partition column last (Spark's
    history tables put analysis_date there).
    """
    assert sorted(other.columns) == sorted(reference.columns), table
    if list(other.columns) != list(reference.columns):
        assert table.endswith("_history"), table
        other = other[list(reference.columns)]
    reference = reference.sort_values(keys).reset_index(drop=True)
    other = other.sort_values(keys).reset_index(drop=True)
    assert (
        other[keys].astype(str).to_numpy().tolist()
        == reference[keys].astype(str).to_numpy().tolist()
    ), table
    for column in reference.columns:
        if column in RUN_COLUMNS | ignore:
            continue
        expected, actual = reference[column], other[column]
        if pd.api.types.is_numeric_dtype(expected) and not pd.api.types.is_bool_dtype(expected):
            np.testing.assert_allclose(
                actual.astype(float),
                expected.astype(float),
                rtol=1e-9,
                atol=0,
                equal_nan=True,
                err_msg=f"{table}.{column}",
            )
        else:
            # Engines return missing values as None, NaN or pd.NA: compare them as None.
            assert _plain(actual) == _plain(expected), f"{table}.{column}"


def _plain(series: pd.Series) -> list:
    """Values comparable across engines: missing as None, dates and times as ISO text.

    Engines return a date as datetime.date, pandas Timestamp or numpy datetime64.
    """

    def plain(value):
        if pd.isna(value):
            return None
        if isinstance(value, datetime.date | np.datetime64):
            return pd.Timestamp(value).isoformat()
        return value

    return [plain(value) for value in series.tolist()]
