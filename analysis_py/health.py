"""Health checks per experiment: can the results be trusted?

Each check gives a status (ok, warning, fail or not_applicable) and a one-line reason an
analyst can read; ``health_status`` is the worst of them. Thresholds live in defaults.py.
The sample-ratio check itself is computed with the diagnostics (analysis.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_py import defaults
from analysis_py.decisions import decision_estimate
from analysis_py.statistics import SufficientStatistics
from analysis_py.ttest import welch_test

_SEVERITY = {"not_applicable": 0, "ok": 0, "warning": 1, "fail": 2}


def _first_by_experiment(frame: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
    """The row with the smallest (or largest) value of a column per experiment."""
    ordered = frame.sort_values(column, ascending=ascending, na_position="last", kind="stable")
    return ordered.drop_duplicates("experiment_id").set_index("experiment_id")


def health_checks(diagnostics: pd.DataFrame, results: pd.DataFrame,
                  mart: pd.DataFrame) -> pd.DataFrame:
    """Add the health-check columns to the per-experiment diagnostics."""
    out = diagnostics.set_index("experiment_id", drop=False)
    experiments = out.index

    # Subjects exposed to more than one variant.
    share = out["multi_variant_share"]
    too_many = share > defaults.MULTI_VARIANT_SHARE_WARNING
    out["multi_variant_status"] = np.where(too_many, "warning", "ok")
    out["multi_variant_reason"] = (
        out["n_multi_variant_subjects"].astype(str) + " subjects ("
        + (share * 100).map("{:.2f}".format) + "%) were exposed to more than one variant and "
        + np.where(too_many, "excluded: above "
                   f"{defaults.MULTI_VARIANT_SHARE_WARNING:.0%}, check the assignment code",
                   "excluded"))

    # Pre-exposure balance: the covariates should not differ between arms before exposure.
    comparisons = results.copy()
    control = SufficientStatistics.from_columns(comparisons, "control_")
    treatment = SufficientStatistics.from_columns(comparisons, "treatment_")
    balance = welch_test(control.mean_x, control.variance_x, control.n,
                         treatment.mean_x, treatment.variance_x, treatment.n, 0.95)
    comparisons["balance_p"] = balance.p_value
    tests = comparisons.groupby("experiment_id")["balance_p"].transform("count")
    comparisons["balance_p_bonferroni"] = np.minimum(1.0, comparisons["balance_p"] * tests)
    worst = _first_by_experiment(comparisons, "balance_p_bonferroni", ascending=True)
    worst = worst.reindex(experiments)
    imbalanced = worst["balance_p_bonferroni"] < defaults.PRE_EXPOSURE_IMBALANCE_P_VALUE
    no_test = worst["balance_p_bonferroni"].isna()
    out["pre_exposure_balance_status"] = np.select([no_test, imbalanced],
                                                   ["not_applicable", "fail"], "ok")
    detail = ("'" + worst["metric_id"].astype(str) + "' before exposure, control against '"
              + worst["treatment_variant_id"].astype(str) + "' (Bonferroni p = "
              + worst["balance_p_bonferroni"].map("{:.2g}".format) + ")")
    out["pre_exposure_balance_reason"] = np.select(
        [no_test, imbalanced],
        ["no comparison with enough subjects",
         "arms differed before exposure: " + detail + "; randomisation may be broken"],
        "arms were alike before exposure; largest difference: " + detail)

    # CUPED sanity: the adjusted estimate should lie inside the unadjusted interval.
    chosen = decision_estimate(results)
    adjusted = results["decision_estimate"] != "unadjusted"
    outside = adjusted & ((chosen["absolute_effect"] < results["absolute_effect_ci_lower"])
                          | (chosen["absolute_effect"] > results["absolute_effect_ci_upper"]))
    n_outside = outside.groupby(results["experiment_id"]).sum().reindex(experiments)
    n_adjusted = adjusted.groupby(results["experiment_id"]).sum().reindex(experiments)
    out["cuped_sanity_status"] = np.select([n_adjusted == 0, n_outside > 0],
                                           ["not_applicable", "warning"], "ok")
    out["cuped_sanity_reason"] = np.select(
        [n_adjusted == 0, n_outside > 0],
        ["CUPED is off for this experiment",
         n_outside.astype(str) + " CUPED estimate(s) fall outside the unadjusted interval: "
         "the covariate may be contaminated by the treatment"],
        "every CUPED estimate lies inside its unadjusted interval")

    # Minimum sample size per arm.
    smallest = mart.groupby(["experiment_id", "variant_id"])["n"].first()
    smallest = smallest.groupby(level=0).min().reindex(experiments)
    small = smallest < defaults.MIN_SAMPLE_SIZE_PER_ARM
    out["sample_size_status"] = np.where(small, "warning", "ok")
    out["sample_size_reason"] = (
        "smallest arm has " + smallest.astype(int).astype(str) + " subjects"
        + np.where(small, f"; below {defaults.MIN_SAMPLE_SIZE_PER_ARM}, results are fragile",
                   ""))

    # Suspiciously large lifts.
    lifts = results.assign(abs_lift=np.abs(chosen["relative_effect"]))
    largest = _first_by_experiment(lifts, "abs_lift", ascending=False).reindex(experiments)
    large = largest["abs_lift"] > defaults.SUSPICIOUS_RELATIVE_EFFECT
    lift_text = ("'" + largest["metric_id"].astype(str) + "' for '"
                 + largest["treatment_variant_id"].astype(str) + "': "
                 + (largest["abs_lift"] * 100).map("{:.0f}".format) + "%")
    out["large_lift_status"] = np.select([largest["abs_lift"].isna(), large],
                                         ["not_applicable", "warning"], "ok")
    out["large_lift_reason"] = np.select(
        [largest["abs_lift"].isna(), large],
        ["no relative effect to check",
         "largest lift " + lift_text + f", above {defaults.SUSPICIOUS_RELATIVE_EFFECT:.0%}: "
         "check for a bug or a broken metric before trusting it"],
        "largest lift " + lift_text)

    # Share of subjects with pre-exposure data, lowest over the experiment's metrics.
    per_metric = mart.groupby(["experiment_id", "metric_id"])[
        ["n_with_pre_exposure_events", "n"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_metric["share"] = per_metric["n_with_pre_exposure_events"] / per_metric["n"]
    lowest = per_metric.reset_index().sort_values("share").drop_duplicates("experiment_id")
    lowest = lowest.set_index("experiment_id").reindex(experiments)
    out["pre_exposure_data_share"] = lowest["share"]
    scarce = lowest["share"] < defaults.MIN_PRE_EXPOSURE_DATA_SHARE
    share_text = ((lowest["share"] * 100).map("{:.0f}".format) + "% of subjects have "
                  "pre-exposure data for '" + lowest["metric_id"].astype(str) + "'")
    out["pre_exposure_data_status"] = np.select([lowest["share"].isna(), scarce],
                                                ["not_applicable", "warning"], "ok")
    out["pre_exposure_data_reason"] = np.select(
        [lowest["share"].isna(), scarce],
        ["no analysed subjects",
         share_text + f", below {defaults.MIN_PRE_EXPOSURE_DATA_SHARE:.0%}: CUPED cannot "
         "reduce variance much"],
        share_text + " (lowest over the metrics)")

    statuses = out[[c for c in out.columns if c.endswith("_status")]]
    worst_level = statuses.apply(lambda column: column.map(_SEVERITY)).max(axis=1)
    out["health_status"] = worst_level.map({0: "ok", 1: "warning", 2: "fail"})
    return out.reset_index(drop=True)

