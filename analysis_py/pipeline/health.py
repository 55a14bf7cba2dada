"""Health checks per experiment: can the results be trusted?

Each check is one function from :class:`HealthInputs` to a :class:`CheckResult`: a status
per experiment (ok, warning, fail or not_applicable), a one-line reason an analyst can read,
and the figures it measured. :data:`CHECKS` lists them in the order their columns and reasons
appear; ``health_status`` is the worst of their statuses. Thresholds live in defaults.py.

Per-experiment reductions are numpy over experiment codes, and reasons are Python f-strings:
a nightly run may check thousands of experiments, and pandas group-bys over wide frames cost
more than the statistics themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis_py import defaults
from analysis_py.formats import texts_per_combination
from analysis_py.pipeline.decisions import decision_estimate
from analysis_py.stats.distributions import chi2_sf
from analysis_py.stats.sufficient_statistics import SufficientStatistics
from analysis_py.stats.ttest import welch_p_value

_HEALTH = np.array(["ok", "warning", "fail"], dtype=object)


@dataclass(frozen=True)
class HealthInputs:
    """What the checks read, each frame in its own row order.

    Attributes:
        experiments: One row per experiment: its counts (n_analysed_subjects,
            n_smallest_arm, n_multi_variant_subjects, n_unknown_variant_subjects) and
            subjects_per_variant.
        variants: One row per experiment and variant: n and expected_share.
        results: The comparisons, one row per experiment, metric and treatment.
        mart: The statistics mart.
        codes: Per comparison, the row of its experiment in ``experiments``.
        chosen: Per comparison, the fields of the estimate it decides on.
    """

    experiments: pd.DataFrame
    variants: pd.DataFrame
    results: pd.DataFrame
    mart: pd.DataFrame
    codes: np.ndarray
    chosen: dict[str, np.ndarray]

    @property
    def n_experiments(self) -> int:
        """The number of experiments."""
        return len(self.experiments)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome for every experiment, in the order of ``experiments``.

    Attributes:
        status: ok, warning, fail or not_applicable.
        reason: One line per experiment saying what was found.
        measures: Further diagnostics columns the check computed (e.g. a share).
    """

    status: np.ndarray
    reason: list[str]
    measures: dict[str, np.ndarray] = field(default_factory=dict)


def sample_ratio(variants: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Pearson χ² of observed subjects per variant against the expected split.

    Args:
        variants: One row per group of ``keys`` and variant, with n and expected_share.
        keys: The columns that name a group (an experiment, or an experiment's slice).

    Returns:
        One row per group, in order of first appearance: the keys, n_subjects, n_variants,
        srm_chi_square, srm_p_value and srm_status (not_applicable without subjects, fail
        below :data:`analysis_py.defaults.SRM_P_VALUE_THRESHOLD`, else ok).
    """
    # Group codes in order of first appearance, then numpy sums per code.
    codes = _group_codes(variants, keys)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    n = variants["n"].to_numpy(dtype=float)
    total = np.bincount(codes, weights=n, minlength=n_groups)
    expected = variants["expected_share"].to_numpy(dtype=float) * total[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (n - expected) ** 2 / expected, 0.0)
    first_rows = np.unique(codes, return_index=True)[1]
    n_variants = np.bincount(codes, minlength=n_groups)
    chi_square = np.bincount(codes, weights=terms, minlength=n_groups)
    has_data = total > 0
    p_value = np.where(has_data, chi2_sf(chi_square, n_variants - 1), np.nan)
    # Built at once: adding columns one by one to a frame costs more than the statistics.
    grouped = {name: variants[name].iloc[first_rows].reset_index(drop=True) for name in keys}
    grouped |= {
        "n_subjects": total.astype("int64"),
        "n_variants": n_variants,
        "srm_chi_square": np.where(has_data, chi_square, np.nan),
        "srm_p_value": p_value,
        "srm_status": np.select(
            [~has_data, p_value < defaults.SRM_P_VALUE_THRESHOLD],
            ["not_applicable", "fail"],
            "ok",
        ),
    }
    return pd.DataFrame(grouped)


def _group_codes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """One code per row of ``frame``: its group of ``keys``, numbered by first appearance.

    As ``frame.groupby(keys, sort=False).ngroup()``, by factorising each key column.
    """
    codes = np.zeros(len(frame), dtype=np.int64)
    for key in keys:
        key_codes, distinct = pd.factorize(frame[key])
        if (key_codes < 0).any():  # a missing key: pandas' own grouping says what it does
            return frame.groupby(keys, sort=False).ngroup().to_numpy()
        codes = pd.factorize(codes * len(distinct) + key_codes)[0]
    return codes


def srm_check(inputs: HealthInputs) -> CheckResult:
    """Sample ratio mismatch: subjects per variant against the configured split (fail)."""
    # One row per experiment in the order of first appearance: the order of experiments.
    srm = sample_ratio(inputs.variants, ["experiment_id"])
    threshold = defaults.SRM_P_VALUE_THRESHOLD
    status = srm["srm_status"].to_numpy(dtype=object)
    p_values = srm["srm_p_value"].to_numpy()
    reasons = texts_per_combination(
        lambda status, subjects, p: (
            "no analysed subjects yet"
            if status == "not_applicable"
            else f"sample ratio mismatch: subjects per variant ({subjects}) are unlikely under the "
            f"configured split (p = {p:.2g} < {threshold:g}); results are not trustworthy "
            "until the cause is found"
            if status == "fail"
            else f"subjects per variant match the configured split (p = {p:.2g})"
        ),
        status,
        inputs.experiments["subjects_per_variant"],
        p_values,
    )
    measures = {
        "srm_chi_square": srm["srm_chi_square"].to_numpy(),
        "srm_p_value": p_values,
        "srm_threshold": np.full(inputs.n_experiments, threshold),
    }
    return CheckResult(status, reasons, measures)


def _exposed(experiments: pd.DataFrame) -> np.ndarray:
    """Subjects exposed per experiment: analysed, in several variants, or in unknown ones."""
    return (
        experiments["n_analysed_subjects"].to_numpy(dtype=float)
        + experiments["n_multi_variant_subjects"].to_numpy(dtype=float)
        + experiments["n_unknown_variant_subjects"].to_numpy(dtype=float)
    )


def _share_of_exposed(count: np.ndarray, exposed: np.ndarray) -> np.ndarray:
    """The share ``count / exposed``, NaN where nobody was exposed."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(exposed > 0, count / exposed, np.nan)


def multi_variant_check(inputs: HealthInputs) -> CheckResult:
    """Subjects exposed to more than one variant: excluded, a warning above the threshold."""
    count = inputs.experiments["n_multi_variant_subjects"].to_numpy(dtype=float)
    share = _share_of_exposed(count, _exposed(inputs.experiments))
    too_many = share > defaults.MULTI_VARIANT_SHARE_WARNING
    reasons = texts_per_combination(
        lambda n, s, many: (
            f"{n} subjects ({s * 100:.2f}%) were exposed to more than one variant and "
            + (
                f"excluded: above {defaults.MULTI_VARIANT_SHARE_WARNING:.0%}, "
                "check the assignment code"
                if many
                else "excluded"
            )
        ),
        inputs.experiments["n_multi_variant_subjects"].tolist(),
        share,
        too_many,
    )
    return CheckResult(np.where(too_many, "warning", "ok"), reasons, {"multi_variant_share": share})


def unknown_variant_check(inputs: HealthInputs) -> CheckResult:
    """Subjects exposed only to variants the config does not declare (warning).

    A renamed or extra arm, a QA variant: its subjects are excluded from every comparison,
    so the config and the data disagree.
    """
    unknown = inputs.experiments["n_unknown_variant_subjects"].to_numpy(dtype=float)
    share = _share_of_exposed(unknown, _exposed(inputs.experiments))
    reasons = texts_per_combination(
        lambda n, s: (
            f"{n:.0f} subjects ({s * 100:.2f}%) were exposed only to variants the config does "
            "not list and are excluded: add the variants to the experiment, or check the "
            "assignment code"
            if n > 0
            else "every exposed subject saw a variant the config lists"
        ),
        unknown.tolist(),
        share.tolist(),
    )
    return CheckResult(
        np.where(unknown > 0, "warning", "ok"), reasons, {"unknown_variant_share": share}
    )


def _first_per_experiment(
    codes: np.ndarray, n_experiments: int, values: np.ndarray, *, largest: bool = False
) -> np.ndarray:
    """Per experiment, the position of the row with the smallest (or largest) value.

    NaN comes last and ties go to the earlier row; -1 for an experiment without rows.
    """
    key = np.where(np.isnan(values), np.inf, -values if largest else values)
    if len(codes) and (codes[1:] >= codes[:-1]).all() and codes[0] >= 0:
        # The comparisons come experiment by experiment: a reduction per run of rows.
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        smallest = np.minimum.reduceat(key, starts)
        rows = np.arange(len(key))
        is_smallest = key == np.repeat(smallest, np.diff(np.r_[starts, len(key)]))
        first = np.full(n_experiments, -1)
        first[codes[starts]] = np.minimum.reduceat(np.where(is_smallest, rows, len(key)), starts)
        return first
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


def _named_comparisons(inputs: HealthInputs, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The metric and treatment of the comparison at ``rows`` (None where rows is -1)."""
    results = inputs.results
    return (
        _pick(results["metric_id"].to_numpy(dtype=object), rows, None),
        _pick(results["treatment_variant_id"].to_numpy(dtype=object), rows, None),
    )


def pre_exposure_balance_check(inputs: HealthInputs) -> CheckResult:
    """Pre-exposure balance: the covariates should not differ between arms (fail).

    A Welch test per comparison on the pre-exposure covariate, over the subjects its sums
    are over (``*_covariate_n``: a quantile row's n counts only the quantile's values),
    Bonferroni over the experiment's comparisons.
    """
    control, treatment = (
        replace(
            SufficientStatistics.from_columns(inputs.results, f"{arm}_"),
            n=inputs.results[f"{arm}_covariate_n"].to_numpy(dtype=float),
        )
        for arm in ("control", "treatment")
    )
    balance = welch_p_value(
        control.mean_x,
        control.variance_x,
        control.n,
        treatment_mean=treatment.mean_x,
        treatment_variance=treatment.variance_x,
        treatment_n=treatment.n,
    )
    codes, n_experiments = inputs.codes, inputs.n_experiments
    tested = ~np.isnan(balance)
    tests = np.bincount(codes[tested], minlength=n_experiments)[codes]
    bonferroni = np.minimum(1.0, balance * tests)
    worst = _first_per_experiment(codes, n_experiments, bonferroni)
    worst_p = _pick(bonferroni, worst)
    no_test, imbalanced = np.isnan(worst_p), worst_p < defaults.PRE_EXPOSURE_IMBALANCE_P_VALUE
    details = [
        f"'{m}' before exposure, control against '{t}' (Bonferroni p = {p:.2g})"
        for m, t, p in zip(*_named_comparisons(inputs, worst), worst_p, strict=True)
    ]
    reasons = [
        "no comparison with enough subjects"
        if none
        else f"arms differed before exposure: {detail}; randomisation may be broken"
        if bad
        else f"arms were alike before exposure; largest difference: {detail}"
        for none, bad, detail in zip(no_test, imbalanced, details, strict=True)
    ]
    return CheckResult(np.select([no_test, imbalanced], ["not_applicable", "fail"], "ok"), reasons)


def cuped_sanity_check(inputs: HealthInputs) -> CheckResult:
    """CUPED sanity: the adjusted estimate should lie inside the unadjusted interval."""
    results, codes, n_experiments = inputs.results, inputs.codes, inputs.n_experiments
    effect = inputs.chosen["absolute_effect"]
    adjusted = results["decision_estimate"].to_numpy(dtype=object) != "unadjusted"
    outside = adjusted & (
        (effect < results["absolute_effect_ci_lower"].to_numpy(dtype=float))
        | (effect > results["absolute_effect_ci_upper"].to_numpy(dtype=float))
    )
    n_outside = np.bincount(codes, weights=outside, minlength=n_experiments).astype(int)
    n_adjusted = np.bincount(codes, weights=adjusted, minlength=n_experiments).astype(int)
    reasons = texts_per_combination(
        lambda n_on, n_off: (
            "CUPED is off for this experiment"
            if n_on == 0
            else f"{n_off} CUPED estimate(s) fall outside the unadjusted interval: the "
            "covariate may be contaminated by the treatment"
            if n_off > 0
            else "every CUPED estimate lies inside its unadjusted interval"
        ),
        n_adjusted,
        n_outside,
    )
    return CheckResult(
        np.select([n_adjusted == 0, n_outside > 0], ["not_applicable", "warning"], "ok"),
        reasons,
    )


def sample_size_check(inputs: HealthInputs) -> CheckResult:
    """Minimum sample size per arm (warning below it)."""
    smallest = inputs.experiments["n_smallest_arm"].to_numpy()
    small = smallest < defaults.MIN_SAMPLE_SIZE_PER_ARM
    reasons = texts_per_combination(
        lambda n, few: (
            f"smallest arm has {n} subjects"
            + (f"; below {defaults.MIN_SAMPLE_SIZE_PER_ARM}, results are fragile" if few else "")
        ),
        smallest.tolist(),
        small,
    )
    return CheckResult(np.where(small, "warning", "ok"), reasons)


def large_lift_check(inputs: HealthInputs) -> CheckResult:
    """Suspiciously large lifts: the largest relative effect of the experiment (warning)."""
    abs_lift = np.abs(inputs.chosen["relative_effect"])
    largest = _first_per_experiment(inputs.codes, inputs.n_experiments, abs_lift, largest=True)
    largest_lift = _pick(abs_lift, largest)
    no_lift, large = np.isnan(largest_lift), largest_lift > defaults.SUSPICIOUS_RELATIVE_EFFECT
    lift_texts = [
        f"'{m}' for '{t}': {lift * 100:.0f}%"
        for m, t, lift in zip(*_named_comparisons(inputs, largest), largest_lift, strict=True)
    ]
    reasons = [
        "no relative effect to check"
        if none
        else f"largest lift {text}, above {defaults.SUSPICIOUS_RELATIVE_EFFECT:.0%}: check "
        "for a bug or a broken metric before trusting it"
        if big
        else f"largest lift {text}"
        for none, big, text in zip(no_lift, large, lift_texts, strict=True)
    ]
    return CheckResult(np.select([no_lift, large], ["not_applicable", "warning"], "ok"), reasons)


def _lowest_pre_exposure_share(inputs: HealthInputs) -> tuple[np.ndarray, np.ndarray]:
    """Per experiment, the lowest share of subjects with pre-exposure data, and its metric.

    The metric id is None when the mart has no metrics.

    Summed over the arms per experiment and metric, as an experiments × metrics matrix;
    metric ids sorted, so that among equal shares the first id is named.
    """
    mart, n_experiments = inputs.mart, inputs.n_experiments
    metric_codes, metric_ids = pd.factorize(mart["metric_id"], sort=True)
    if not len(metric_ids):
        return np.full(n_experiments, np.nan), np.full(n_experiments, None)
    # Each distinct id looked up once (the mart's ids may be Arrow strings, the config's not).
    mart_codes, mart_ids = pd.factorize(mart["experiment_id"])
    experiment_codes = pd.Index(inputs.experiments["experiment_id"]).get_indexer(
        np.asarray(mart_ids, dtype=object)
    )[mart_codes]
    experiment_codes[mart_codes < 0] = -1  # a missing id is in no experiment
    cells = experiment_codes * len(metric_ids) + metric_codes
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
    lowest = key.argmin(axis=1)
    return (
        metric_share[np.arange(n_experiments), lowest],
        np.asarray(metric_ids, dtype=object)[lowest],
    )


def pre_exposure_data_check(inputs: HealthInputs) -> CheckResult:
    """Share of subjects with pre-exposure data, lowest over the metrics (warning).

    CUPED needs pre-exposure data to reduce variance.
    """
    lowest_share, lowest_metric = _lowest_pre_exposure_share(inputs)
    no_share = np.isnan(lowest_share)
    scarce = lowest_share < defaults.MIN_PRE_EXPOSURE_DATA_SHARE
    reasons = texts_per_combination(
        lambda none, few, s, m: (
            "no analysed subjects"
            if none
            else f"{s * 100:.0f}% of subjects have pre-exposure data for '{m}'"
            + (
                f", below {defaults.MIN_PRE_EXPOSURE_DATA_SHARE:.0%}: "
                "CUPED cannot reduce variance much"
                if few
                else " (lowest over the metrics)"
            )
        ),
        no_share,
        scarce,
        lowest_share,
        lowest_metric,
    )
    return CheckResult(
        np.select([no_share, scarce], ["not_applicable", "warning"], "ok"),
        reasons,
        {"pre_exposure_data_share": lowest_share},
    )


#: Every health check by name, in the order of its columns; its status column is
#: ``<name>_status`` and its reason ``<name>_reason``.
CHECKS: tuple[tuple[str, Callable[[HealthInputs], CheckResult]], ...] = (
    ("srm", srm_check),
    ("multi_variant", multi_variant_check),
    ("unknown_variant", unknown_variant_check),
    ("pre_exposure_balance", pre_exposure_balance_check),
    ("cuped_sanity", cuped_sanity_check),
    ("sample_size", sample_size_check),
    ("large_lift", large_lift_check),
    ("pre_exposure_data", pre_exposure_data_check),
)


def health_checks(
    experiments: pd.DataFrame, variants: pd.DataFrame, results: pd.DataFrame, mart: pd.DataFrame
) -> pd.DataFrame:
    """Run every check of :data:`CHECKS` and add their columns to the experiments' rows.

    Args:
        experiments: One row per experiment with its counts (see :class:`HealthInputs`).
        variants: One row per experiment and variant, with n and expected_share.
        results: The comparisons, with their estimates and decisions.
        mart: The statistics mart.

    Returns:
        ``experiments`` with each check's measures, ``<check>_status`` and
        ``<check>_reason``, and ``health_status``: fail if a check fails, else warning if
        one warns, else ok.
    """
    inputs = HealthInputs(
        experiments=experiments,
        variants=variants,
        results=results,
        mart=mart,
        codes=pd.Index(experiments["experiment_id"]).get_indexer(results["experiment_id"]),
        chosen=decision_estimate(results),
    )
    measures: dict[str, np.ndarray] = {}
    texts: dict[str, Any] = {}
    for name, check in CHECKS:
        result = check(inputs)
        measures |= result.measures
        texts[f"{name}_status"] = result.status
        texts[f"{name}_reason"] = result.reason
    levels = np.max(
        [
            np.select([status == "fail", status == "warning"], [2, 1], 0)
            for name, status in texts.items()
            if name.endswith("_status")
        ],
        axis=0,
    )
    texts["health_status"] = _HEALTH[levels]
    index = experiments.index
    # Plain object columns: converting each to Arrow strings costs more than the checks.
    return pd.concat(
        [
            experiments,
            pd.DataFrame(measures, index=index),
            pd.DataFrame(texts, index=index, dtype=object),
        ],
        axis=1,
    )
