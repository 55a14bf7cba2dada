"""The experiment config's types: what a validated config holds, and the form dbt receives.

Parsing and validation live in :mod:`analysis_py.config.parsing`, reading the file in
:mod:`analysis_py.config.loading`. Every value that reaches SQL is either an integer or a
string that dbt quotes as a literal (``macros/xp_string_literal.sql``), limited to a safe
character set by the parser, so a config file cannot inject SQL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal, get_args

from analysis_py import defaults

Aggregation = Literal[
    "sum", "count", "conversion", "distinct_days", "threshold", "retention", "ratio", "quantile"
]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
#: Aggregations of events; a ratio metric divides two such metrics instead.
EVENT_AGGREGATIONS = tuple(a for a in AGGREGATIONS if a != "ratio")
Direction = Literal["increase", "decrease"]
#: What a threshold metric counts up to ``at_least``: events, or the sum of their values.
ThresholdOf = Literal["count", "sum"]
#: What a quantile metric takes the quantile of: each subject's sum of event values in the
#: window, or its count of events.
QuantileOf = Literal["sum", "count"]
#: The quantile levels a metric may ask for (GrowthBook's limits): beyond them the order
#: statistics that bound the interval fall outside any realistic sample.
QUANTILE_LEVELS = (0.001, 0.999)
#: The alternative hypothesis of a metric's tests (tea-tasting's names): "greater" means the
#: treatment's mean is higher than the control's.
Alternative = Literal["two-sided", "greater", "less"]
Role = Literal["primary", "secondary", "guardrail"]
ROLES: tuple[str, ...] = get_args(Role)
MultipleTesting = Literal["holm", "benjamini_hochberg", "bonferroni", "none"]
CupedMode = Literal["single", "multi", "none"]

CONFIG_SCHEMA_VERSION = 1

DEFAULT_MAX_DIMENSION_VALUES = 10  # Statsig's top 10 + other (GrowthBook: 20, Eppo: 50)


class ConfigError(ValueError):
    """The experiment config file is invalid; the message names file, entry and key."""


@dataclass(frozen=True)
class Window:
    """Seconds relative to first exposure, ``start_seconds <= t - exposure < end_seconds``.

    Declared in the config as whole days (24-hour blocks) or whole hours.
    """

    start_seconds: int
    end_seconds: int


@dataclass(frozen=True)
class Threshold:
    """For aggregation ``threshold``: 1 when the subject reaches ``at_least``, else 0.

    What reaches it is ``of``: the subject's count of events, or sum of values, in the window.
    """

    of: ThresholdOf
    at_least: float


FILTER_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in")


@dataclass(frozen=True)
class Filter:
    """A condition on an event column: ``column op value``.

    Structured, never free SQL: the column is an identifier, the operator one of
    FILTER_OPERATORS, the value a number or a safe string (a list of them for in / not in),
    which dbt quotes as literals.
    """

    column: str
    op: str
    value: Any


#: The event source metrics read unless they name another: the events table of the input
#: contract (dbt source experimentation.events, staged in stg_experimentation__events).
DEFAULT_EVENT_SOURCE = "events"


@dataclass(frozen=True)
class EventSource:
    """A further table of events, declared as a dbt source, with its own column names.

    Without ``event_name_column`` every row is an event, and its metrics name no event.
    Without ``value_column`` sums have nothing to add (use count, conversion, ...).
    """

    id: str
    source_name: str
    table_name: str
    subject_id_column: str
    timestamp_column: str
    value_column: str | None = None
    event_name_column: str | None = None
    partition_date_column: str | None = None


@dataclass(frozen=True)
class Winsorize:
    """Caps on the per-subject values at percentiles over the experiment's subjects.

    The percentiles are over all arms pooled, e.g. upper 0.99: values above the 99th
    percentile become it. The pre-exposure covariate gets its own caps at the same
    percentiles.
    """

    upper: float
    lower: float | None = None


@dataclass(frozen=True)
class Metric:
    """A per-subject metric: an aggregation of events, or a ratio of two such metrics.

    An event metric aggregates events of one name inside a window after first exposure; a
    ratio metric (aggregation ``ratio``) is the ratio of the means of two event metrics.

    ``matured_subjects_only`` counts only subjects whose window has ended at the analysis
    time (always so for ``retention``: 1 if any event in the window, e.g. days 7-14).

    A quantile metric (aggregation ``quantile``) compares the arms' ``quantile`` (e.g. 0.9)
    of each subject's ``quantile_of`` (sum or count) in the window; subjects without events
    count as 0 unless ``ignore_zeros`` leaves every subject whose value is 0 out.
    """

    id: str
    aggregation: Aggregation
    event_name: str = ""
    window: Window | None = None
    description: str = ""
    direction: Direction = "increase"
    alternative: Alternative = "two-sided"
    display_name: str = ""
    threshold: Threshold | None = None
    filters: tuple[Filter, ...] = ()
    winsorize: Winsorize | None = None
    matured_subjects_only: bool = False
    numerator: str = ""
    denominator: str = ""
    source: str = DEFAULT_EVENT_SOURCE
    quantile: float | None = None
    quantile_of: QuantileOf = "sum"
    ignore_zeros: bool = False

    @property
    def label(self) -> str:
        """The name people see: display_name, else the id."""
        return self.display_name or self.id

    @property
    def is_ratio(self) -> bool:
        """Whether this is a ratio of two event metrics."""
        return self.aggregation == "ratio"

    @property
    def is_quantile(self) -> bool:
        """Whether this metric compares a quantile of the per-subject values, not their mean."""
        return self.aggregation == "quantile"

    @property
    def value_aggregation(self) -> str:
        """How dbt aggregates a subject's events into its value: a quantile's ``quantile_of``."""
        return self.quantile_of if self.is_quantile else self.aggregation

    @property
    def components(self) -> tuple[str, ...]:
        """The event metrics this metric is computed from: itself, or a ratio's two."""
        return (self.numerator, self.denominator) if self.is_ratio else (self.id,)


@dataclass(frozen=True)
class AnalysisSettings:
    """Per-experiment statistical options (the ``analysis`` key); defaults in defaults.py."""

    multiple_testing: MultipleTesting = defaults.MULTIPLE_TESTING  # type: ignore[assignment]
    sequential: bool = defaults.SEQUENTIAL
    sequential_tuning: float = defaults.SEQUENTIAL_TUNING
    bayesian: bool = defaults.BAYESIAN
    bayesian_prior_sd: float = defaults.BAYESIAN_PRIOR_SD
    cuped: CupedMode = defaults.CUPED  # type: ignore[assignment]
    target_relative_effect: float = defaults.TARGET_RELATIVE_EFFECT
    power: float = defaults.POWER
    noninferiority_margin: float | None = None


#: The name of the one phase that plain ``start_at`` / ``end_at`` declare.
SINGLE_PHASE_NAME = "main"


@dataclass(frozen=True)
class Phase:
    """A span of an experiment with one traffic split: exposures in ``[start_at, end_at)``.

    Times are naive datetimes in UTC; ``end_at`` None leaves the phase open (running).
    """

    name: str
    start_at: datetime
    end_at: datetime | None
    traffic: dict[str, float]

    def dbt_vars(self) -> dict[str, Any]:
        """The phase as dbt receives it: UTC times as 'YYYY-MM-DD HH:MM:SS[.ffffff]' text."""
        return {
            "name": self.name,
            "start_at": self.start_at.isoformat(" "),
            "end_at": self.end_at.isoformat(" ") if self.end_at else None,
        }


#: Days of pseudo-exposures a plan reads unless its ``plan`` block says otherwise.
DEFAULT_PLAN_HISTORY_DAYS = 14


@dataclass(frozen=True)
class PlanSettings:
    """How ``xp plan`` reads the history for a proposed experiment (the ``plan`` key).

    The target effect, power, confidence level, split and correction are the experiment's
    own; this says only where the history comes from.

    Attributes:
        history_days: Days of past first assignments that stand in for exposures.
        population_experiments: Experiments whose assignments make the population (their
            subjects, pseudo-exposed at their first assignment in the history days);
            empty: every subject of the assignments table.
        expected_daily_subjects: New subjects a day to plan with, instead of the
            history's average.
    """

    history_days: int = DEFAULT_PLAN_HISTORY_DAYS
    population_experiments: tuple[str, ...] = ()
    expected_daily_subjects: float | None = None


@dataclass(frozen=True)
class Experiment:
    """An experiment: its arms, control, expected traffic split and metrics with roles.

    ``traffic`` is the split of the analysed phase (:attr:`analysed_phase`) when the
    experiment has phases.
    """

    id: str
    variants: tuple[str, ...]
    control: str
    traffic: dict[str, float]
    metrics: tuple[str, ...]
    lookback_days: int
    confidence_level: float = defaults.CONFIDENCE_LEVEL
    description: str = ""
    roles: dict[str, Role] | None = None
    analysis: AnalysisSettings = AnalysisSettings()
    dimensions: tuple[str, ...] = ()
    max_dimension_values: int = DEFAULT_MAX_DIMENSION_VALUES
    start_at: datetime | None = None
    end_at: datetime | None = None
    phases: tuple[Phase, ...] = ()
    analysis_phase: str | None = None

    @property
    def analysed_phase(self) -> Phase | None:
        """The phase whose exposures count: ``analysis_phase``, else the last one.

        Plain ``start_at`` / ``end_at`` are one phase with the experiment's traffic; an
        experiment with neither nor phases has none (every exposure counts).
        """
        if self.phases:
            named = [p for p in self.phases if p.name == self.analysis_phase]
            return named[0] if named else self.phases[-1]
        if self.start_at is None:
            return None
        return Phase(SINGLE_PHASE_NAME, self.start_at, self.end_at, self.traffic)

    plan: PlanSettings | None = None

    def role(self, metric_id: str) -> Role:
        """The role of a metric of this experiment; primary unless the config says otherwise."""
        return (self.roles or {}).get(metric_id, "primary")

    @property
    def treatments(self) -> tuple[str, ...]:
        """The variants other than the control, in config order."""
        return tuple(v for v in self.variants if v != self.control)


@dataclass(frozen=True)
class ExperimentConfig:
    """The validated config file."""

    path: str
    metrics: dict[str, Metric]
    experiments: tuple[Experiment, ...]
    event_sources: dict[str, EventSource] = field(default_factory=dict)

    def experiment(self, experiment_id: str) -> Experiment:
        """The experiment with id ``experiment_id``; KeyError if there is none."""
        for experiment in self.experiments:
            if experiment.id == experiment_id:
                return experiment
        raise KeyError(experiment_id)

    def to_dbt_vars(self) -> dict[str, Any]:
        """The ``--vars`` dbt receives: the normalised definitions plus their hash.

        The hash lands in the statistics mart, so the analysis step can tell when the mart
        was built from a different config than the one it is reading.
        """
        body = {
            "schema_version": CONFIG_SCHEMA_VERSION,
            "metrics": [self._metric_vars(m) for m in self.metrics.values()],
            "event_sources": [self._event_source_vars(s) for s in self.event_sources.values()],
            "experiments": [
                {
                    "id": e.id,
                    "variants": [
                        {"id": v, "is_control": v == e.control, "expected_share": e.traffic[v]}
                        for v in e.variants
                    ],
                    "metrics": list(self.computed_metrics(e)),
                    "lookback_days": e.lookback_days,
                    "cuped": e.analysis.cuped,
                    "dimensions": list(e.dimensions),
                    "max_dimension_values": e.max_dimension_values,
                    **self._phase_vars(e),
                }
                for e in self.experiments
            ],
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        return {"xp_config": {**body, "hash": digest}}

    def computed_metrics(self, experiment: Experiment) -> tuple[str, ...]:
        """The metrics dbt computes for ``experiment``: the listed ones, then the others.

        The others are the numerators and denominators of its ratio metrics that are not
        listed themselves.
        """
        listed = list(experiment.metrics)
        extra = [c for m in listed for c in self.metrics[m].components if c not in listed]
        return tuple(listed + list(dict.fromkeys(extra)))

    def matured_subjects_only(self, metric_id: str) -> bool:
        """Whether the metric counts only subjects whose window has ended.

        For a ratio: whether its numerator or denominator does. Its n can then be below the
        arm's.
        """
        return any(
            self.metrics[c].matured_subjects_only for c in self.metrics[metric_id].components
        )

    @staticmethod
    def _phase_vars(experiment: Experiment) -> dict[str, Any]:
        """``{"phase": ...}`` for an experiment bounded in time, else nothing.

        Only the analysed phase reaches dbt: the others change no row, so editing them
        leaves the hash, and the incremental tables, as they were.
        """
        phase = experiment.analysed_phase
        return {"phase": phase.dbt_vars()} if phase else {}

    @staticmethod
    def _event_source_vars(source: EventSource) -> dict[str, Any]:
        """The source's fields; ``partition_date_column`` only when set, as for phases."""
        fields = asdict(source)
        if fields["partition_date_column"] is None:
            del fields["partition_date_column"]
        return fields

    @staticmethod
    def _metric_vars(m: Metric) -> dict[str, Any]:
        if m.is_ratio:
            return {
                "id": m.id,
                "aggregation": "ratio",
                "numerator": m.numerator,
                "denominator": m.denominator,
            }
        assert m.window is not None
        return {
            "id": m.id,
            "event_name": m.event_name,
            "aggregation": m.value_aggregation,
            "window_start_seconds": m.window.start_seconds,
            "window_end_seconds": m.window.end_seconds,
            "threshold_of": m.threshold.of if m.threshold else None,
            "threshold_at_least": m.threshold.at_least if m.threshold else None,
            "filters": [{"column": f.column, "op": f.op, "value": f.value} for f in m.filters],
            "winsorize_upper": m.winsorize.upper if m.winsorize else None,
            "winsorize_lower": m.winsorize.lower if m.winsorize else None,
            "matured_subjects_only": m.matured_subjects_only,
            "source": m.source,
            **ExperimentConfig._quantile_vars(m),
        }

    @staticmethod
    def _quantile_vars(m: Metric) -> dict[str, Any]:
        """A quantile metric's further keys; none for other metrics, whose hash stays as it was.

        dbt computes a quantile metric's per-subject values like those of its ``quantile_of``
        aggregation; the quantile mart (fct_variant_metric_quantiles) reads these keys.
        """
        if not m.is_quantile:
            return {}
        return {"quantile": m.quantile, "ignore_zeros": m.ignore_zeros}

    @property
    def has_quantile_metrics(self) -> bool:
        """Whether an experiment lists a quantile metric (dbt then builds the quantile mart)."""
        return any(self.metrics[m].is_quantile for e in self.experiments for m in e.metrics)

    @cached_property
    def hash(self) -> str:
        """The hash of the definitions dbt receives (see :meth:`to_dbt_vars`)."""
        return self.to_dbt_vars()["xp_config"]["hash"]
