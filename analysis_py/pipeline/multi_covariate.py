"""Assemble the per-arm sums CUPED++ needs from the two marts, for many comparisons at once.

Each comparison of an experiment with ``analysis.cuped: multi`` regresses its metric on the
pre-exposure values of all k metrics of the experiment. The statistics mart gives Σx_j per
arm; the cross-products mart gives Σ x_i·x_j and Σ y·x_j. Covariates are placed by their
position in the experiment's metric list and padded with zeros up to the largest k. Ratio
metrics are neither adjusted this way nor covariates: they use ratio CUPED.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_py.config import ExperimentConfig
from analysis_py.stats.sufficient_statistics import MultiCovariateStatistics


def multi_covariate_arms(
    comparisons: pd.DataFrame,
    mart: pd.DataFrame,
    cross_products: pd.DataFrame,
    config: ExperimentConfig,
) -> tuple[MultiCovariateStatistics, MultiCovariateStatistics]:
    """(control, treatment) sums for each row of ``comparisons`` (merges, no row loops)."""
    positions = pd.DataFrame(
        [
            (e.id, m, i)
            for e in config.experiments
            for i, m in enumerate(m for m in e.metrics if not config.metrics[m].is_ratio)
        ],
        columns=["experiment_id", "metric_id", "position"],
    )
    k = int(positions.groupby("experiment_id").size().max())
    rows = comparisons.reset_index(drop=True).assign(row=np.arange(len(comparisons)))
    products = cross_products.merge(positions, on=["experiment_id", "metric_id"]).merge(
        positions.rename(
            columns={"metric_id": "covariate_metric_id", "position": "covariate_position"}
        ),
        on=["experiment_id", "covariate_metric_id"],
    )
    control, treatment = (
        _arm_sums(rows, arm, mart, products, positions, k=k) for arm in ("control", "treatment")
    )
    return control, treatment


def _arm_sums(
    rows: pd.DataFrame,
    arm: str,
    mart: pd.DataFrame,
    products: pd.DataFrame,
    positions: pd.DataFrame,
    *,
    k: int,
) -> MultiCovariateStatistics:
    """One arm's sums for each row, its covariates placed by position among k.

    ``products`` holds the cross products with both metrics' positions; ``positions`` each
    experiment's metrics with theirs.
    """
    count = len(rows)
    keys = rows[["row", "experiment_id", "metric_id", f"{arm}_variant_id"]].rename(
        columns={f"{arm}_variant_id": "variant_id"}
    )
    sum_x = np.zeros((count, k))
    covariates = (
        keys[["row", "experiment_id", "variant_id"]]
        .merge(
            mart[["experiment_id", "variant_id", "metric_id", "sum_x"]],
            on=["experiment_id", "variant_id"],
        )
        .merge(positions, on=["experiment_id", "metric_id"])
    )
    sum_x[covariates["row"], covariates["position"]] = covariates["sum_x"]

    sum_xx = np.zeros((count, k, k))
    pairs = keys[["row", "experiment_id", "variant_id"]].merge(
        products, on=["experiment_id", "variant_id"]
    )
    sum_xx[pairs["row"], pairs["position"], pairs["covariate_position"]] = pairs["sum_x_covariate"]

    sum_yx = np.zeros((count, k))
    own = keys.merge(products, on=["experiment_id", "variant_id", "metric_id"])
    sum_yx[own["row"], own["covariate_position"]] = own["sum_y_covariate"]

    return MultiCovariateStatistics(
        n=rows[f"{arm}_n"].to_numpy(dtype=float),
        sum_y=rows[f"{arm}_sum_y"].to_numpy(dtype=float),
        sum_y_squares=rows[f"{arm}_sum_y_squares"].to_numpy(dtype=float),
        sum_x=sum_x,
        sum_yx=sum_yx,
        sum_xx=sum_xx,
    )
