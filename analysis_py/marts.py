"""The dbt marts the Python step reads: their names and the sum columns they hand over.

The marts are built by the dbt models in models/marts/ (their contract in
models/marts/_marts__models.yml); Python reads them by these names and never reads subject
rows.
"""

from __future__ import annotations

#: One row per experiment, variant and metric: the sufficient statistics (contracted).
MART = "fct_variant_metric_statistics"
#: Cross products of the pre-exposure covariates, for CUPED++.
CROSS_PRODUCTS = "fct_variant_covariate_cross_products"
#: The statistics as they stood at the end of each day (results over time).
DAILY_MART = "fct_variant_metric_daily_statistics"
#: The statistics per dimension value.
DIMENSION_MART = "fct_variant_metric_dimension_statistics"
#: One row per experiment, variant and quantile metric: the quantile and the order
#: statistics around it (built only when a quantile metric is configured).
QUANTILE_MART = "fct_variant_metric_quantiles"
#: The quantile mart's columns that the analysis reads (QuantileStatistics' fields and keys).
QUANTILE_MART_COLUMNS = (
    "experiment_id",
    "variant_id",
    "metric_id",
    "n",
    "quantile_level",
    "quantile_value",
    "rank_lower",
    "rank_upper",
    "value_lower",
    "value_upper",
    "rank_z",
    "config_hash",
)
#: The sums of every metric: n, Σy, Σy², Σx, Σx², Σxy (y the metric, x its covariate).
SUM_COLUMNS = ("n", "sum_y", "sum_y_squares", "sum_x", "sum_x_squares", "sum_xy")
#: The further sums of ratio metrics (null for other metrics); see RatioStatistics.
RATIO_SUM_COLUMNS = (
    "sum_d",
    "sum_d_squares",
    "sum_w",
    "sum_w_squares",
    "sum_yd",
    "sum_yw",
    "sum_xd",
    "sum_xw",
    "sum_dw",
)
#: Every column of the statistics mart that the analysis reads.
MART_COLUMNS = (
    "experiment_id",
    "variant_id",
    "metric_id",
    "expected_share",
    *SUM_COLUMNS,
    *RATIO_SUM_COLUMNS,
    "n_with_pre_exposure_events",
    "n_multi_variant_subjects",
    "n_unknown_variant_subjects",
    "config_hash",
)
