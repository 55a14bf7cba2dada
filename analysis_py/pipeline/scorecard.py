"""The scorecards: narrow projections of the wide result tables for dashboards and charts.

Each scorecard column is a column of the wide table it comes from (same name, same values;
analysis_py/result_tables.py lists them), except two that the wide tables keep elsewhere:
the experiment's description from the config, and its health from experiment_diagnostics.
"""

from __future__ import annotations

import pandas as pd

from analysis_py.config import ExperimentConfig
from analysis_py.result_tables import SCORECARD_SOURCES, column_names


def scorecards(
    tables: dict[str, pd.DataFrame], config: ExperimentConfig
) -> dict[str, pd.DataFrame]:
    """Every scorecard, from the wide tables in ``tables`` (keyed by table name)."""
    diagnostics = tables["experiment_diagnostics"]
    return {
        name: scorecard(name, tables[wide], diagnostics, config)
        for name, wide in SCORECARD_SOURCES.items()
    }


def scorecard(
    name: str, wide: pd.DataFrame, diagnostics: pd.DataFrame, config: ExperimentConfig
) -> pd.DataFrame:
    """The scorecard ``name``: its columns of ``wide``, in the contract's order.

    Args:
        name: The scorecard's table name (a key of SCORECARD_SOURCES).
        wide: The wide table it narrows (same rows, same order).
        diagnostics: experiment_diagnostics, for ``health_status``.
        config: The experiment config, for ``experiment_description``.
    """
    experiment_ids = wide["experiment_id"]
    added = {
        "experiment_description": experiment_ids.map(
            {e.id: e.description or None for e in config.experiments}
        ),
        "health_status": experiment_ids.map(
            dict(zip(diagnostics["experiment_id"], diagnostics["health_status"], strict=True))
        ),
    }
    columns = column_names(name)
    return pd.DataFrame(
        {column: added[column] if column in added else wide[column] for column in columns},
        columns=columns,
    ).reset_index(drop=True)
