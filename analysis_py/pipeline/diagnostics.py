"""The per-experiment diagnostics: subject counts, and the health checks on them.

Subjects per variant and excluded subjects are counted here; the checks are in
:mod:`analysis_py.pipeline.health`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis_py.config import ExperimentConfig
from analysis_py.pipeline.health import health_checks

#: The per-experiment counts, in their order.
_COUNT_COLUMNS = (
    "experiment_id",
    "n_variants",
    "n_analysed_subjects",
    "n_smallest_arm",
    "n_multi_variant_subjects",
    "n_unknown_variant_subjects",
    "subjects_per_variant",
    "expected_shares",
)
_TEXT_COLUMNS = ("experiment_id", "subjects_per_variant", "expected_shares")


def experiment_diagnostics(
    mart: pd.DataFrame, config: ExperimentConfig, results: pd.DataFrame
) -> pd.DataFrame:
    """One row per experiment of ``config``, in config order: counts and health checks.

    Args:
        mart: The statistics mart, checked (see ``comparisons.analyze``).
        config: The experiment config.
        results: The comparisons, with their estimates and decisions.

    Returns:
        The counts of :data:`_COUNT_COLUMNS` and the columns of :func:`health_checks`.
    """
    per_arm = _subjects_per_arm(mart)
    # One entry per arm (experiment and variant) in config order, then reductions over each
    # experiment's run of arms.
    arm_experiments = [e.id for e in config.experiments for _ in e.variants]
    arm_variants = [v for e in config.experiments for v in e.variants]
    arms = [per_arm[arm] for arm in zip(arm_experiments, arm_variants, strict=True)]
    n = [arm[0] for arm in arms]
    shares = [arm[1] for arm in arms]
    sizes = np.array([len(e.variants) for e in config.experiments], dtype=np.intp)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    subjects = [f"{v}={int(k)}" for v, k in zip(arm_variants, n, strict=True)]
    share_texts = {share: f"{share:g}" for share in set(shares)}  # a few distinct shares
    expected = [f"{v}={share_texts[share]}" for v, share in zip(arm_variants, shares, strict=True)]
    bounds = list(zip(starts.tolist(), ends.tolist(), strict=True))
    n_values = np.array(n, dtype=float)
    first_arms = starts.tolist()
    columns: dict[str, list[Any] | np.ndarray] = {
        "experiment_id": [e.id for e in config.experiments],
        "n_variants": sizes,
        "n_analysed_subjects": np.add.reduceat(n_values, starts) if len(n) else n_values,
        "n_smallest_arm": np.minimum.reduceat(n_values, starts) if len(n) else n_values,
        "n_multi_variant_subjects": [arms[i][2] for i in first_arms],
        "n_unknown_variant_subjects": [arms[i][3] for i in first_arms],
        "subjects_per_variant": [", ".join(subjects[a:b]) for a, b in bounds],
        "expected_shares": [", ".join(expected[a:b]) for a, b in bounds],
    }
    counts = pd.DataFrame(
        {
            name: np.array(columns[name], dtype=object if name in _TEXT_COLUMNS else "int64")
            for name in _COUNT_COLUMNS
        }
    )
    variants = pd.DataFrame(
        {  # ids as plain object columns: only grouped on, not worth converting to Arrow
            "experiment_id": pd.Series(np.array(arm_experiments, dtype=object), dtype=object),
            "variant_id": pd.Series(np.array(arm_variants, dtype=object), dtype=object),
            "n": n,
            "expected_share": shares,
        }
    )
    return health_checks(counts, variants, results, mart)


def _subjects_per_arm(mart: pd.DataFrame) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Per (experiment_id, variant_id), its subjects and the experiment's exclusions.

    The values are (n, expected_share, n_multi_variant_subjects,
    n_unknown_variant_subjects).

    n is the same for every metric of a variant that counts every subject (checked where
    the mart is read); metrics counting only matured subjects have fewer, so the largest n
    per variant is its subjects. Grouped by numpy over one code per (experiment, variant),
    and returned as Python values: one small row per arm, 1,000s of them.
    """
    experiment_codes, experiment_ids = pd.factorize(mart["experiment_id"])
    variant_codes, variant_ids = pd.factorize(mart["variant_id"])
    arm_codes = experiment_codes * len(variant_ids) + variant_codes
    largest_n = np.zeros(len(experiment_ids) * len(variant_ids))
    np.maximum.at(largest_n, arm_codes, mart["n"].to_numpy(dtype=float))
    arms, first_rows = np.unique(arm_codes, return_index=True)
    keys = zip(
        np.asarray(experiment_ids, dtype=object)[arms // len(variant_ids)],
        np.asarray(variant_ids, dtype=object)[arms % len(variant_ids)],
        strict=True,
    )
    values = zip(
        largest_n[arms].tolist(),
        *(
            mart[c].to_numpy()[first_rows].tolist()
            for c in ("expected_share", "n_multi_variant_subjects", "n_unknown_variant_subjects")
        ),
        strict=True,
    )
    return dict(zip(keys, values, strict=True))
