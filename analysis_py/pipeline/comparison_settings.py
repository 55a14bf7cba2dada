"""The comparisons the config asks for, one row each, with the settings that come from it.

Built from one value per experiment and one per experiment and metric, repeated over their
rows with numpy rather than as row tuples: a nightly run may hold 10,000s of comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis_py.config import ExperimentConfig

#: A setting's values, one per experiment or per experiment and metric.
_Values = Sequence[Any] | np.ndarray

#: The columns of a comparison that come from the config, in the result tables' order.
COMPARISON_SETTINGS = (
    "experiment_id",
    "metric_id",
    "metric_display_name",
    "metric_description",
    "metric_role",
    "metric_direction",
    "alternative",
    "control_variant_id",
    "treatment_variant_id",
    "confidence_level",
    "cuped_mode",
    "multiple_testing",
    "sequential",
    "sequential_tuning",
    "bayes_prior_sd",
    "power_target_relative_effect",
    "power",
    "noninferiority_margin",
)
#: The settings that are the same for all of an experiment's comparisons.
EXPERIMENT_SETTINGS = (
    "experiment_id",
    "control_variant_id",
    "confidence_level",
    "cuped_mode",
    "multiple_testing",
    "sequential",
    "sequential_tuning",
    "bayes_prior_sd",
    "power_target_relative_effect",
    "power",
)
#: The settings that are text (the others are numbers, and ``sequential`` a boolean).
COMPARISON_TEXT_SETTINGS = (
    "experiment_id",
    "metric_id",
    "metric_display_name",
    "metric_description",
    "metric_role",
    "metric_direction",
    "alternative",
    "control_variant_id",
    "treatment_variant_id",
    "cuped_mode",
    "multiple_testing",
)


def comparison_settings(config: ExperimentConfig) -> pd.DataFrame:
    """One row per experiment, metric and treatment, in config order.

    Args:
        config: The experiment config.

    Returns:
        The columns of :data:`COMPARISON_SETTINGS`.
    """
    per_experiment, rows_per_experiment = _experiment_settings(config)
    per_metric, rows_per_metric, treatment_ids = _metric_settings(config)
    repeats = np.asarray(rows_per_experiment, dtype=np.intp)
    columns = {name: _repeated(name, values, repeats) for name, values in per_experiment.items()}
    repeats = np.asarray(rows_per_metric, dtype=np.intp)
    columns |= {name: _repeated(name, values, repeats) for name, values in per_metric.items()}
    columns["treatment_variant_id"] = pd.Series(np.array(treatment_ids, dtype=object), dtype=object)
    return pd.DataFrame({name: columns[name] for name in COMPARISON_SETTINGS})


def _experiment_settings(config: ExperimentConfig) -> tuple[dict[str, _Values], list[int]]:
    """The :data:`EXPERIMENT_SETTINGS` per experiment, and each experiment's row count."""
    rows: list[tuple[Any, ...]] = []
    for e in config.experiments:
        analysis = e.analysis
        rows.append(
            (  # in the order of EXPERIMENT_SETTINGS
                e.id,
                e.control,
                e.confidence_level,
                analysis.cuped,
                analysis.multiple_testing,
                analysis.sequential,
                analysis.sequential_tuning,
                analysis.bayesian_prior_sd if analysis.bayesian else None,
                analysis.target_relative_effect,
                analysis.power,
            )
        )
    per_experiment: dict[str, _Values] = dict(
        zip(EXPERIMENT_SETTINGS, zip(*rows, strict=True), strict=True)
    )
    return per_experiment, [len(e.metrics) * len(e.treatments) for e in config.experiments]


def _metric_settings(
    config: ExperimentConfig,
) -> tuple[dict[str, _Values], list[int], list[str]]:
    """The settings per experiment and metric, with their row counts and treatments.

    Returns:
        The settings by name, each metric's row count (its experiment's treatments), and
        the treatment of every row.
    """
    metric_ids: list[str] = []
    roles: list[str] = []
    margins: list[float | None] = []
    rows_per_metric: list[int] = []
    treatment_ids: list[str] = []
    for e in config.experiments:
        treatments = list(e.treatments)
        rows_per_metric.extend([len(treatments)] * len(e.metrics))
        treatment_ids.extend(treatments * len(e.metrics))
        metric_ids.extend(e.metrics)
        experiment_roles = list(map(e.role, e.metrics))
        roles.extend(experiment_roles)
        if "guardrail" in experiment_roles:
            margin = e.analysis.noninferiority_margin
            margins.extend([margin if role == "guardrail" else None for role in experiment_roles])
        else:
            margins.extend([None] * len(experiment_roles))
    # The metric's own settings by lookup on its code, not per row.
    metric_codes, unique_ids = pd.factorize(pd.Series(metric_ids, dtype=object))
    metrics = [config.metrics[metric_id] for metric_id in unique_ids]

    def lookup(values: list[Any]) -> np.ndarray:
        return np.array(values, dtype=object)[metric_codes]

    per_metric: dict[str, _Values] = {
        "metric_id": metric_ids,
        "metric_display_name": lookup([m.label for m in metrics]),
        "metric_description": lookup([m.description for m in metrics]),
        "metric_role": roles,
        "metric_direction": lookup([m.direction for m in metrics]),
        "alternative": lookup([m.alternative for m in metrics]),
        "noninferiority_margin": margins,
    }
    return per_metric, rows_per_metric, treatment_ids


def _repeated(name: str, values: _Values, repeats: np.ndarray) -> Any:
    """The values of a setting repeated over their rows, as the setting's type."""
    # Strings stay plain object columns: converting 10,000s of them to Arrow strings
    # costs more than all the lookups done on them here.
    dtype = object if name in COMPARISON_TEXT_SETTINGS else bool if name == "sequential" else float
    values = np.array(values, dtype=dtype)
    repeated = values if (repeats == 1).all() else np.repeat(values, repeats)
    return pd.Series(repeated, dtype=object) if dtype is object else repeated
