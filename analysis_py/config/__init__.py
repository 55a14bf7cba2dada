"""The experiment config file: its types, its validation, and loading it.

One YAML file declares metrics and experiments. Python reads and validates it here; dbt
receives the validated, normalised form as the var ``xp_config``
(:meth:`ExperimentConfig.to_dbt_vars`), so both sides work from the same definitions.
"""

from analysis_py.config.loading import load_config
from analysis_py.config.parsing import parse_config
from analysis_py.config.types import (
    DEFAULT_EVENT_SOURCE,
    AnalysisSettings,
    ConfigError,
    EventSource,
    Experiment,
    ExperimentConfig,
    Metric,
    PlanSettings,
)

__all__ = [
    "DEFAULT_EVENT_SOURCE",
    "AnalysisSettings",
    "ConfigError",
    "EventSource",
    "Experiment",
    "ExperimentConfig",
    "Metric",
    "PlanSettings",
    "load_config",
    "parse_config",
]
