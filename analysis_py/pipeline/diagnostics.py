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
    experiments = []
    variant_columns: tuple[list[Any], ...] = ([], [], [], [])
    share_texts: dict[float, str] = {}  # a few distinct shares: each formatted once
    for e in config.experiments:
        arm_rows = [per_arm[(e.id, v)] for v in e.variants]
        n = [row[0] for row in arm_rows]
        shares = [row[1] for row in arm_rows]
        for share in shares:
            if share not in share_texts:
                share_texts[share] = f"{share:g}"
        experiments.append(
            (
                e.id,
                len(e.variants),
                sum(n),
                min(n),
                *arm_rows[0][2:],
                ", ".join([f"{v}={int(k)}" for v, k in zip(e.variants, n, strict=True)]),
                ", ".join(
                    [
                        f"{v}={share_texts[share]}"
                        for v, share in zip(e.variants, shares, strict=True)
                    ]
                ),
            )
        )
        for column, values in zip(
            variant_columns, ([e.id] * len(n), e.variants, n, shares), strict=True
        ):
            column.extend(values)
    counts = pd.DataFrame(
        {
            name: np.array(column, dtype=object if name in _TEXT_COLUMNS else "int64")
            for name, column in zip(_COUNT_COLUMNS, zip(*experiments, strict=True), strict=True)
        }
    )
    variants = pd.DataFrame(
        dict(
            zip(
                ["experiment_id", "variant_id", "n", "expected_share"], variant_columns, strict=True
            )
        )
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
