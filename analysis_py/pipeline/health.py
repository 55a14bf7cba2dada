"""Health checks per experiment: can the results be trusted?

Each check gives a status (ok, warning, fail or not_applicable) and a one-line reason an
analyst can read; ``health_status`` is the worst of them. Thresholds live in defaults.py.
The sample-ratio check itself is computed with the diagnostics (analysis.py).

Per-experiment reductions are numpy over experiment codes, and reasons are Python f-strings:
a nightly run may check thousands of experiments, and pandas group-bys over wide frames cost
more than the statistics themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis_py import defaults
from analysis_py.pipeline.decisions import decision_estimate
from analysis_py.stats.sufficient_statistics import SufficientStatistics
from analysis_py.stats.ttest import welch_p_value

_HEALTH = np.array(["ok", "warning", "fail"], dtype=object)


def _first_per_experiment(
    codes: np.ndarray, n_experiments: int, values: np.ndarray, largest: bool = False
) -> np.ndarray:
    """Per experiment, the position of the row with the smallest (or largest) value, NaN
    last and ties to the earlier row; -1 for an experiment without rows.
    """
    key = np.where(np.isnan(values), np.inf, -values if largest else values)
    order = np.lexsort((key, codes))  # stable: ties keep row order
    ordered_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered_codes[1:] != ordered_codes[:-1]])
    first = np.full(n_experiments, -1)
    first[ordered_codes[starts]] = order[starts]
    return first


def _pick(values: np.ndarray, rows: np.ndarray, missing: Any = np.nan) -> np.ndarray:
    """values[rows], with ``missing`` where rows is -1."""
    picked = np.asarray(values, dtype=object if missing is None else None)[np.maximum(rows, 0)]
    fill = np.full(len(rows), missing, dtype=picked.dtype if missing is not None else object)
    return np.where(rows >= 0, picked, fill)


def health_checks(
    diagnostics: pd.DataFrame, results: pd.DataFrame, mart: pd.DataFrame
) -> pd.DataFrame:
    """Add the health-check columns to the per-experiment diagnostics (one row per
    experiment, with n_smallest_arm), from the comparisons and the statistics mart.
    """
    out = diagnostics.copy()
    experiments = pd.Index(out["experiment_id"])
    n_experiments = len(experiments)
    codes = experiments.get_indexer(results["experiment_id"])
    metric_ids = results["metric_id"].to_numpy(dtype=object)
    treatments = results["treatment_variant_id"].to_numpy(dtype=object)
    checks: dict[str, tuple[np.ndarray, list[str]]] = {}

    # Subjects exposed to more than one variant.
    share = out["multi_variant_share"].to_numpy(dtype=float)
    too_many = share > defaults.MULTI_VARIANT_SHARE_WARNING
    checks["multi_variant"] = (
        np.where(too_many, "warning", "ok"),
        [
            f"{n} subjects ({s * 100:.2f}%) were exposed to more than one variant and "
            + (
                f"excluded: above {defaults.MULTI_VARIANT_SHARE_WARNING:.0%}, check the assignment "
                "code"
                if many
                else "excluded"
            )
            for n, s, many in zip(
                out["n_multi_variant_subjects"].tolist(), share, too_many, strict=True
            )
        ],
    )

    # Subjects exposed only to variants the config does not declare (a renamed or extra arm,
    # a QA variant): excluded from every comparison, so the config and the data disagree.
    unknown = out["n_unknown_variant_subjects"].to_numpy(dtype=float)
    exposed = (
        out["n_analysed_subjects"].to_numpy(dtype=float)
        + out["n_multi_variant_subjects"].to_numpy(dtype=float)
        + unknown
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        unknown_share = np.where(exposed > 0, unknown / exposed, np.nan)
    out["unknown_variant_share"] = unknown_share
    checks["unknown_variant"] = (
        np.where(unknown > 0, "warning", "ok"),
        [
            f"{n:.0f} subjects ({s * 100:.2f}%) were exposed only to variants the config does "
            "not list and are excluded: add the variants to the experiment, or check the "
            "assignment code"
            if n > 0
            else "every exposed subject saw a variant the config lists"
            for n, s in zip(unknown.tolist(), unknown_share.tolist(), strict=True)
        ],
    )

    # Pre-exposure balance: the covariates should not differ between arms before exposure.
    control = SufficientStatistics.from_columns(results, "control_")
    treatment = SufficientStatistics.from_columns(results, "treatment_")
    balance = welch_p_value(
        control.mean_x,
        control.variance_x,
        control.n,
        treatment.mean_x,
        treatment.variance_x,
        treatment.n,
    )
    tested = ~np.isnan(balance)
    tests = np.bincount(codes[tested], minlength=n_experiments)[codes]
    bonferroni = np.minimum(1.0, balance * tests)
    worst = _first_per_experiment(codes, n_experiments, bonferroni)
    worst_p = _pick(bonferroni, worst)
    no_test, imbalanced = np.isnan(worst_p), worst_p < defaults.PRE_EXPOSURE_IMBALANCE_P_VALUE
    details = [
        f"'{m}' before exposure, control against '{t}' (Bonferroni p = {p:.2g})"
        for m, t, p in zip(
            _pick(metric_ids, worst, None), _pick(treatments, worst, None), worst_p, strict=True
        )
    ]
    checks["pre_exposure_balance"] = (
        np.select([no_test, imbalanced], ["not_applicable", "fail"], "ok"),
        [
            "no comparison with enough subjects"
            if none
            else f"arms differed before exposure: {detail}; randomisation may be broken"
            if bad
            else f"arms were alike before exposure; largest difference: {detail}"
            for none, bad, detail in zip(no_test, imbalanced, details, strict=True)
        ],
    )

    # CUPED sanity: the adjusted estimate should lie inside the unadjusted interval.
    chosen = decision_estimate(results)
    adjusted = (results["decision_estimate"] != "unadjusted").to_numpy()
    outside = adjusted & (
        (chosen["absolute_effect"] < results["absolute_effect_ci_lower"].to_numpy(dtype=float))
        | (chosen["absolute_effect"] > results["absolute_effect_ci_upper"].to_numpy(dtype=float))
    )
    n_outside = np.bincount(codes, weights=outside, minlength=n_experiments).astype(int)
    n_adjusted = np.bincount(codes, weights=adjusted, minlength=n_experiments).astype(int)
    checks["cuped_sanity"] = (
        np.select([n_adjusted == 0, n_outside > 0], ["not_applicable", "warning"], "ok"),
        [
            "CUPED is off for this experiment"
            if n_on == 0
            else f"{n_off} CUPED estimate(s) fall outside the unadjusted interval: the "
            "covariate may be contaminated by the treatment"
            if n_off > 0
            else "every CUPED estimate lies inside its unadjusted interval"
            for n_on, n_off in zip(n_adjusted, n_outside, strict=True)
        ],
    )

    # Minimum sample size per arm.
    smallest = out["n_smallest_arm"].to_numpy()
    small = smallest < defaults.MIN_SAMPLE_SIZE_PER_ARM
    checks["sample_size"] = (
        np.where(small, "warning", "ok"),
        [
            f"smallest arm has {n} subjects"
            + (f"; below {defaults.MIN_SAMPLE_SIZE_PER_ARM}, results are fragile" if few else "")
            for n, few in zip(smallest.tolist(), small, strict=True)
        ],
    )

    # Suspiciously large lifts.
    abs_lift = np.abs(chosen["relative_effect"])
    largest = _first_per_experiment(codes, n_experiments, abs_lift, largest=True)
    largest_lift = _pick(abs_lift, largest)
    no_lift, large = np.isnan(largest_lift), largest_lift > defaults.SUSPICIOUS_RELATIVE_EFFECT
    lift_texts = [
        f"'{m}' for '{t}': {lift * 100:.0f}%"
        for m, t, lift in zip(
            _pick(metric_ids, largest, None),
            _pick(treatments, largest, None),
            largest_lift,
            strict=True,
        )
    ]
    checks["large_lift"] = (
        np.select([no_lift, large], ["not_applicable", "warning"], "ok"),
        [
            "no relative effect to check"
            if none
            else f"largest lift {text}, above {defaults.SUSPICIOUS_RELATIVE_EFFECT:.0%}: check "
            "for a bug or a broken metric before trusting it"
            if big
            else f"largest lift {text}"
            for none, big, text in zip(no_lift, large, lift_texts, strict=True)
        ],
    )

    # Share of subjects with pre-exposure data, lowest over the experiment's metrics.
    # Summed over the arms per experiment and metric, as an experiments × metrics matrix;
    # metric ids sorted, so that among equal shares the first id is named.
    metric_codes, metric_ids = pd.factorize(mart["metric_id"], sort=True)
    cells = experiments.get_indexer(mart["experiment_id"]) * len(metric_ids) + metric_codes
    size = n_experiments * len(metric_ids)
    rows_per_cell = np.bincount(cells, minlength=size).reshape(n_experiments, -1)
    with_data, subjects = (
        np.bincount(cells, weights=mart[c].to_numpy(dtype=float), minlength=size).reshape(
            n_experiments, -1
        )
        for c in ("n_with_pre_exposure_events", "n")
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        metric_share = with_data / subjects
    # argmin over shares, NaN (no subjects) after every share and absent metrics after that.
    key = np.where(rows_per_cell == 0, 3.0, np.where(np.isnan(metric_share), 2.0, metric_share))
    lowest = key.argmin(axis=1) if len(metric_ids) else np.zeros(n_experiments, dtype=int)
    lowest_share = (
        metric_share[np.arange(n_experiments), lowest]
        if len(metric_ids)
        else np.full(n_experiments, np.nan)
    )
    lowest_metric = (
        np.asarray(metric_ids, dtype=object)[lowest]
        if len(metric_ids)
        else (np.full(n_experiments, None))
    )
    out["pre_exposure_data_share"] = lowest_share
    no_share = np.isnan(lowest_share)
    scarce = lowest_share < defaults.MIN_PRE_EXPOSURE_DATA_SHARE
    checks["pre_exposure_data"] = (
        np.select([no_share, scarce], ["not_applicable", "warning"], "ok"),
        [
            "no analysed subjects"
            if none
            else f"{s * 100:.0f}% of subjects have pre-exposure data for '{m}'"
            + (
                f", below {defaults.MIN_PRE_EXPOSURE_DATA_SHARE:.0%}: CUPED cannot reduce "
                "variance much"
                if few
                else " (lowest over the metrics)"
            )
            for none, few, s, m in zip(no_share, scarce, lowest_share, lowest_metric, strict=True)
        ],
    )

    columns: dict[str, Any] = {}
    for check, (status, reason) in checks.items():
        columns[f"{check}_status"] = status
        columns[f"{check}_reason"] = reason
    statuses = [
        out["srm_status"].to_numpy(dtype=object),
        *(status for status, _ in checks.values()),
    ]
    levels = np.max(
        [np.select([status == "fail", status == "warning"], [2, 1], 0) for status in statuses],
        axis=0,
    )
    columns["health_status"] = _HEALTH[levels]
    # Plain object columns: converting each to Arrow strings costs more than the checks.
    return pd.concat([out, pd.DataFrame(columns, index=out.index, dtype=object)], axis=1)
