"""Warehouse-native experiment analysis: the Python step of the pipeline.

dbt builds the statistics mart ``fct_variant_metric_statistics``; this package reads it,
runs unadjusted and CUPED-adjusted Welch t-tests and health checks, and writes the
``experiment_results`` and ``experiment_diagnostics`` tables back to the warehouse.
"""
