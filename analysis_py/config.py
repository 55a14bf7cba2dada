"""The experiment config file: load, validate, and hand to dbt.

One YAML file declares metrics and experiments. Python reads it here; dbt receives the
validated, normalised form as the var ``xp_config`` (see :meth:`ExperimentConfig.to_dbt_vars`),
so both sides work from the same definitions. Every value that reaches SQL is either an
integer checked here or a string that dbt quotes as a literal (``macros/xp_string_literal.sql``);
strings are also limited to a safe character set, so a config file cannot inject SQL.

Every error names the file, the entry and the key at fault, e.g.::

    experiments.yml: experiments[1] (id 'onboarding_flow'): key 'control': 'ctrl' is not
    among the variants ['control', 'short_form', 'guided_tour']
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from analysis_py import defaults

Aggregation = Literal["sum", "count", "conversion", "distinct_days", "threshold", "retention",
                      "ratio"]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
#: Aggregations of events; a ratio metric divides two such metrics instead.
EVENT_AGGREGATIONS = tuple(a for a in AGGREGATIONS if a != "ratio")
Direction = Literal["increase", "decrease"]
#: The alternative hypothesis of a metric's tests (tea-tasting's names): "greater" means the
#: treatment's mean is higher than the control's.
Alternative = Literal["two-sided", "greater", "less"]
Role = Literal["primary", "secondary", "guardrail"]
ROLES: tuple[str, ...] = get_args(Role)
MultipleTesting = Literal["holm", "benjamini_hochberg", "bonferroni", "none"]
CupedMode = Literal["single", "multi", "none"]

CONFIG_SCHEMA_VERSION = 1

# Names are checked with fullmatch: ``$`` would also match before a final newline.
# Metric ids may become column or file names later: keep them plain identifiers.
_METRIC_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")
# Dimensions are column names of the assignments table: plain lowercase identifiers.
_COLUMN = re.compile(r"[a-z_][a-z0-9_]{0,62}")
DEFAULT_MAX_DIMENSION_VALUES = 10  # Statsig's top 10 + other (GrowthBook: 20, Eppo: 50)
# Experiment, variant and event names are values in the user's tables: allow what such ids
# usually contain, but no quotes, backslashes or control characters.
_DATA_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/ -]{0,199}")
_TRAFFIC_TOLERANCE = 1e-6


class ConfigError(ValueError):
    """The experiment config file is invalid; the message names file, entry and key."""


@dataclass(frozen=True)
class Window:
    """Seconds relative to first exposure, ``start_seconds <= t - exposure < end_seconds``,
    declared in the config as whole days (24-hour blocks) or whole hours."""

    start_seconds: int
    end_seconds: int


@dataclass(frozen=True)
class Threshold:
    """For aggregation ``threshold``: 1 when the subject's ``of`` (count of events, or sum of
    values) in the window reaches ``at_least``, else 0."""

    of: Literal["count", "sum"]
    at_least: float


FILTER_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in")
_STANDARD_EVENT_COLUMNS = ("subject_id", "event_name", "event_at", "value")


@dataclass(frozen=True)
class Filter:
    """A condition on an event column: ``column op value``. Structured, never free SQL: the
    column is an identifier, the operator one of FILTER_OPERATORS, the value a number or a
    safe string (a list of them for in / not in), which dbt quotes as literals."""

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


@dataclass(frozen=True)
class Winsorize:
    """Caps on the per-subject values at percentiles over the experiment's subjects (all arms
    pooled), e.g. upper 0.99: values above the 99th percentile become it. The pre-exposure
    covariate gets its own caps at the same percentiles."""

    upper: float
    lower: float | None = None


@dataclass(frozen=True)
class Metric:
    """A per-subject metric: an aggregation of events of one name inside a window after
    first exposure, or (aggregation ``ratio``) the ratio of the means of two such metrics.

    ``matured_subjects_only`` counts only subjects whose window has ended at the analysis
    time (always so for ``retention``: 1 if any event in the window, e.g. days 7-14)."""

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

    @property
    def label(self) -> str:
        """The name people see: display_name, else the id."""
        return self.display_name or self.id

    @property
    def is_ratio(self) -> bool:
        return self.aggregation == "ratio"

    @property
    def components(self) -> tuple[str, ...]:
        """The event metrics this metric is computed from: itself, or numerator and
        denominator for a ratio."""
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


@dataclass(frozen=True)
class Experiment:
    """An experiment: its arms, control, expected traffic split and metrics with roles."""

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

    def role(self, metric_id: str) -> Role:
        return (self.roles or {}).get(metric_id, "primary")

    @property
    def treatments(self) -> tuple[str, ...]:
        return tuple(v for v in self.variants if v != self.control)


@dataclass(frozen=True)
class ExperimentConfig:
    """The validated config file."""

    path: str
    metrics: dict[str, Metric]
    experiments: tuple[Experiment, ...]
    event_sources: dict[str, EventSource] = field(default_factory=dict)

    def experiment(self, experiment_id: str) -> Experiment:
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
            "event_sources": [asdict(s) for s in self.event_sources.values()],
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
                }
                for e in self.experiments
            ],
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        return {"xp_config": {**body, "hash": digest}}

    def computed_metrics(self, experiment: Experiment) -> tuple[str, ...]:
        """The metrics dbt computes for ``experiment``: the listed ones, then the numerators
        and denominators of its ratio metrics that are not listed themselves."""
        listed = list(experiment.metrics)
        extra = [c for m in listed for c in self.metrics[m].components if c not in listed]
        return tuple(listed + list(dict.fromkeys(extra)))

    def matured_subjects_only(self, metric_id: str) -> bool:
        """True when the metric counts only subjects whose window has ended (for a ratio:
        when its numerator or denominator does), so its n can be below the arm's."""
        return any(self.metrics[c].matured_subjects_only
                   for c in self.metrics[metric_id].components)

    @staticmethod
    def _metric_vars(m: Metric) -> dict[str, Any]:
        if m.is_ratio:
            return {"id": m.id, "aggregation": "ratio", "numerator": m.numerator,
                    "denominator": m.denominator}
        assert m.window is not None
        return {
            "id": m.id,
            "event_name": m.event_name,
            "aggregation": m.aggregation,
            "window_start_seconds": m.window.start_seconds,
            "window_end_seconds": m.window.end_seconds,
            "threshold_of": m.threshold.of if m.threshold else None,
            "threshold_at_least": m.threshold.at_least if m.threshold else None,
            "filters": [{"column": f.column, "op": f.op, "value": f.value} for f in m.filters],
            "winsorize_upper": m.winsorize.upper if m.winsorize else None,
            "winsorize_lower": m.winsorize.lower if m.winsorize else None,
            "matured_subjects_only": m.matured_subjects_only,
            "source": m.source,
        }

    @cached_property
    def hash(self) -> str:
        return self.to_dbt_vars()["xp_config"]["hash"]


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate the config file at ``path``; raise :class:`ConfigError` if invalid."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the experiment config: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text: byte 0x{data[error.start]:02x} at line "
                          f"{line}; save the file as UTF-8") from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKeyError as error:
        raise _Entry(str(path), error.entry, {"id": error.entry_id}).error(str(error)) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML{_yaml_problem(error, text)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    if document is None:
        raise ConfigError(f"{path}: the file is empty; it must be a mapping with keys "
                          "'metrics' and 'experiments'")
    return parse_config(document, str(path))


class _DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one mapping, inside top-level ``entry`` (e.g. experiments[0])."""

    def __init__(self, message: str, entry: str, entry_id: Any) -> None:
        super().__init__(message)
        self.entry, self.entry_id = entry, entry_id


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error:
    PyYAML keeps the last, so a second ``control:`` would silently swap the arms."""

    def construct_document(self, node: yaml.Node) -> Any:
        self._check_unique_keys(node, (), None, set())
        return super().construct_document(node)

    def _check_unique_keys(self, node: yaml.Node, where: tuple[str | int, ...], entry_id: Any,
                           checked: set[int]) -> None:
        if id(node) in checked:  # an alias of a node already checked (or a recursive one)
            return
        checked.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._check_unique_keys(item, (*where, index), entry_id, checked)
            return
        if not isinstance(node, yaml.MappingNode):
            return
        # Keys merged in with `<<: *anchor` may be overridden: that is what merging is for.
        keys = [(k, v) for k, v in node.value
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge"]
        if len(where) == 2 and isinstance(where[1], int):  # a top-level entry: label by its id
            entry_id = next((self.construct_object(v) for k, v in keys
                             if k.value == "id" and isinstance(v, yaml.ScalarNode)), None)
        first_lines: dict[Any, int] = {}
        for key_node, _ in keys:
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in first_lines:
                entry, dotted = _dotted(where, key_node.value)
                lines = (f"on line {line}" if line == first_lines[key]
                         else f"at lines {first_lines[key]} and {line}")
                raise _DuplicateKeyError(f"key '{dotted}': given twice, {lines} (YAML would "
                                         "silently keep the last)", entry, entry_id)
            first_lines[key] = line
        for key_node, value_node in node.value:
            key_text = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            self._check_unique_keys(value_node, (*where, key_text), entry_id, checked)


def _dotted(where: tuple[str | int, ...], key: str) -> tuple[str, str]:
    """The entry label and dotted key of ``key`` at ``where``, in the style of the other
    errors: ("experiments[0]", "traffic.control"), or ("", "metrics") at the top level."""
    entry = ""
    if len(where) >= 2 and isinstance(where[1], int):
        entry, where = f"{where[0]}[{where[1]}]", where[2:]
    dotted = ""
    for part in (*where, key):
        dotted += f"[{part}]" if isinstance(part, int) else f".{part}" if dotted else part
    return entry, dotted


def _yaml_problem(error: yaml.YAMLError, text: str) -> str:
    """Where and what PyYAML found wrong, on one line (its own message spans several)."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = ", ".join(part for part in (error.context, error.problem) if part)
    elif isinstance(error, yaml.reader.ReaderError):
        where = f" at line {text[:error.position].count(chr(10)) + 1}"
        what = f"character #x{error.character:04x}: {error.reason}"
    else:
        where, what = "", str(error)
    return f"{where}: {' '.join(what.split())}" if what.strip() else where


def parse_config(document: Any, path: str = "<config>") -> ExperimentConfig:
    """Validate an already-parsed config document."""
    root = _Entry(path, "")
    if not isinstance(document, dict):
        raise root.error("the file must be a mapping with keys 'metrics' and 'experiments'")
    _check_keys(root, document, required={"metrics", "experiments"},
                optional={"event_sources"})

    sources: dict[str, EventSource] = {}
    sources_raw = document.get("event_sources") or []
    if not isinstance(sources_raw, list):
        raise root.error("key 'event_sources': must be a list of event sources")
    for index, raw in enumerate(sources_raw):
        entry = _Entry(path, f"event_sources[{index}]", raw)
        source = _parse_event_source(entry, raw)
        if source.id in sources or source.id == DEFAULT_EVENT_SOURCE:
            raise entry.error(f"key 'id': '{source.id}' is already an event source")
        sources[source.id] = source

    metrics: dict[str, Metric] = {}
    for index, raw in enumerate(_list(root, document, "metrics")):
        metric = _parse_metric(_Entry(path, f"metrics[{index}]", raw), raw, sources)
        if metric.id in metrics:
            raise _Entry(path, f"metrics[{index}]", raw).error(
                f"key 'id': duplicate metric id '{metric.id}'")
        metrics[metric.id] = metric
    for index, metric in enumerate(metrics.values()):
        if metric.is_ratio:
            _check_ratio(_Entry(path, f"metrics[{index}]", {"id": metric.id}), metric, metrics)

    experiments: list[Experiment] = []
    for index, raw in enumerate(_list(root, document, "experiments")):
        entry = _Entry(path, f"experiments[{index}]", raw)
        experiment = _parse_experiment(entry, raw, metrics)
        if any(e.id == experiment.id for e in experiments):
            raise entry.error(f"key 'id': duplicate experiment id '{experiment.id}'")
        experiments.append(experiment)
    return ExperimentConfig(path=path, metrics=metrics, experiments=tuple(experiments),
                            event_sources=sources)


def _parse_event_source(entry: _Entry, raw: Any) -> EventSource:
    _check_keys(entry, raw, required={"id", "dbt_source", "subject_id_column",
                                      "timestamp_column"},
                optional={"value_column", "event_name_column"})
    _check_keys(entry.child("dbt_source"), raw["dbt_source"], required={"source", "table"},
                optional=set())
    dbt_source = raw["dbt_source"]
    columns = {key: _string(entry, raw, key, _COLUMN) if raw.get(key) is not None else None
               for key in ("subject_id_column", "timestamp_column", "value_column",
                           "event_name_column")}
    return EventSource(
        id=_string(entry, raw, "id", _METRIC_ID),
        source_name=_string(entry, {"dbt_source.source": dbt_source["source"]},
                            "dbt_source.source", _COLUMN),
        table_name=_string(entry, {"dbt_source.table": dbt_source["table"]},
                           "dbt_source.table", _COLUMN),
        **columns)


def _check_ratio(entry: _Entry, metric: Metric, metrics: dict[str, Metric]) -> None:
    for key in ("numerator", "denominator"):
        component = metrics.get(getattr(metric, key))
        if component is None:
            raise entry.error(f"key '{key}': unknown metric {getattr(metric, key)!r} "
                              f"(defined: {', '.join(metrics)})")
        if component.is_ratio:
            raise entry.error(f"key '{key}': {component.id!r} is itself a ratio; numerator "
                              "and denominator must be event metrics (sum, count, ...)")
    if metric.numerator == metric.denominator:
        raise entry.error("key 'denominator': the same metric as the numerator")


class _Entry:
    """Where a value sits in the file, for error messages."""

    def __init__(self, path: str, where: str, raw: Any = None) -> None:
        label = where
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            label = f"{where} (id {raw['id']!r})"
        self.prefix = f"{path}: {label}: " if label else f"{path}: "

    def error(self, message: str) -> ConfigError:
        return ConfigError(self.prefix + message)

    def child(self, key: str) -> _Entry:
        entry = _Entry("", "")
        entry.prefix = f"{self.prefix}key '{key}': "
        return entry


def _check_keys(entry: _Entry, raw: Any, required: set[str], optional: set[str]) -> None:
    if not isinstance(raw, dict):
        raise entry.error("must be a mapping")
    missing = sorted(required - raw.keys())
    if missing:
        raise entry.error(f"missing key '{missing[0]}'")
    unknown = sorted(set(raw) - required - optional, key=str)  # YAML keys need not be text
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise entry.error(f"unknown key {unknown[0]!r} (allowed: {allowed})")


def _list(entry: _Entry, raw: dict, key: str) -> list:
    value = raw[key]
    if not isinstance(value, list) or not value:
        raise entry.error(f"key '{key}': must be a non-empty list")
    return value


def _string(entry: _Entry, raw: dict, key: str, pattern: re.Pattern = _DATA_VALUE) -> str:
    value = raw[key]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        hint = ("lowercase letters, digits and '_', starting with a letter"
                if pattern in (_METRIC_ID, _COLUMN) else
                "letters, digits, spaces and _ . : / -, no quotes or backslashes")
        raise entry.error(f"key '{key}': {value!r} is not a valid name ({hint})")
    return value


def _integer(entry: _Entry, value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise entry.error(f"key '{key}': must be a whole number >= {minimum}, "
                          f"got {_shown(value)}")
    return value


def _number(entry: _Entry, value: Any, key: str, low: float, high: float = math.inf, *,
            low_inclusive: bool = False, expected: str = "") -> float:
    """``value`` as a float if it is a finite number (not a boolean) with ``low < value <
    high`` (``low <=`` if ``low_inclusive``); else an error naming ``key``."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if (not is_number or not math.isfinite(value) or value >= high
            or (value < low if low_inclusive else value <= low)):
        if not expected:
            expected = f"a number {'>=' if low_inclusive else '>'} {low:g}" + (
                f" and < {high:g}" if high != math.inf else "")
        raise entry.error(f"key '{key}': must be {expected}, got {_shown(value)}")
    return float(value)


def _shown(value: Any) -> str:
    """``value`` in an error message, saying why it is not the number it may look like."""
    if isinstance(value, bool):
        return f"{value!r} (YAML reads yes, no, on, off, true, false as booleans)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} (not a finite number)"
    return repr(value)


_METRIC_KEYS = {"id", "aggregation", "description", "direction", "alternative",
                "display_name"}
_EVENT_METRIC_KEYS = {"event_name", "window", "threshold", "filters", "winsorize",
                      "matured_subjects_only", "source"}
_RATIO_METRIC_KEYS = {"numerator", "denominator"}


def _parse_metric(entry: _Entry, raw: Any, sources: dict[str, EventSource]) -> Metric:
    if isinstance(raw, dict) and raw.get("aggregation") == "ratio":
        _check_keys(entry, raw, required={"id", "aggregation", "numerator", "denominator"},
                    optional=_METRIC_KEYS)
    else:
        _check_keys(entry, raw, required={"id", "aggregation", "window"},
                    optional=_METRIC_KEYS | _EVENT_METRIC_KEYS)
    metric_id = _string(entry, raw, "id", _METRIC_ID)
    aggregation = raw["aggregation"]
    if aggregation not in AGGREGATIONS:
        raise entry.error(f"key 'aggregation': unknown aggregation {aggregation!r} "
                          f"(known: {', '.join(AGGREGATIONS)})")
    description = raw.get("description", "")
    display_name = raw.get("display_name", "")
    for key, value in (("description", description), ("display_name", display_name)):
        if not isinstance(value, str):
            raise entry.error(f"key '{key}': must be text")
    direction = raw.get("direction", "increase")
    if direction not in ("increase", "decrease"):
        raise entry.error(f"key 'direction': must be 'increase' or 'decrease', "
                          f"got {direction!r}")
    alternative = raw.get("alternative", "two-sided")
    if alternative not in get_args(Alternative):
        raise entry.error(f"key 'alternative': must be one of "
                          f"{', '.join(get_args(Alternative))}, got {alternative!r}")
    common = {"id": metric_id, "aggregation": aggregation, "description": description,
              "direction": direction, "alternative": alternative,
              "display_name": display_name}
    if aggregation == "ratio":
        return Metric(**common, numerator=_string(entry, raw, "numerator", _METRIC_ID),
                      denominator=_string(entry, raw, "denominator", _METRIC_ID))

    window = _parse_window(entry, raw["window"])
    threshold = None
    if aggregation == "threshold":
        if "threshold" not in raw:
            raise entry.error("key 'threshold': aggregation 'threshold' needs "
                              "threshold: {of: count or sum, at_least: a number}")
        _check_keys(entry.child("threshold"), raw["threshold"], required={"of", "at_least"},
                    optional=set())
        of = raw["threshold"]["of"]
        if of not in ("count", "sum"):
            raise entry.error(f"key 'threshold.of': must be 'count' or 'sum', got {of!r}")
        at_least = _number(entry, raw["threshold"]["at_least"], "threshold.at_least", 0)
        threshold = Threshold(of=of, at_least=at_least)
    elif "threshold" in raw:
        raise entry.error(f"key 'threshold': only for aggregation 'threshold', "
                          f"not {aggregation!r}")
    matured = raw.get("matured_subjects_only", aggregation == "retention")
    if not isinstance(matured, bool):
        raise entry.error(f"key 'matured_subjects_only': must be true or false, got {matured!r}")
    if aggregation == "retention" and not matured:
        raise entry.error("key 'matured_subjects_only': retention counts only subjects whose "
                          "window has ended; it cannot be false")
    source_id = raw.get("source", DEFAULT_EVENT_SOURCE)
    if source_id != DEFAULT_EVENT_SOURCE and (not isinstance(source_id, str)
                                              or source_id not in sources):
        raise entry.error(f"key 'source': unknown event source {source_id!r} (declared under "
                          f"event_sources: {', '.join(sources) or 'none'}; default: "
                          f"{DEFAULT_EVENT_SOURCE})")
    source = sources.get(source_id)
    has_event_names = source is None or source.event_name_column is not None
    if has_event_names and "event_name" not in raw:
        raise entry.error("missing key 'event_name'")
    if not has_event_names and "event_name" in raw:
        raise entry.error(f"key 'event_name': event source {source_id!r} has no "
                          "event_name_column: every row is an event")
    adds_values = aggregation == "sum" or (threshold is not None and threshold.of == "sum")
    if adds_values and source is not None and source.value_column is None:
        raise entry.error(f"key 'aggregation': event source {source_id!r} has no value_column "
                          "to sum")
    event_name = _string(entry, raw, "event_name") if has_event_names else ""
    return Metric(**common, event_name=event_name, window=window, source=source_id,
                  threshold=threshold, filters=_parse_filters(entry, raw.get("filters", [])),
                  winsorize=_parse_winsorize(entry, raw.get("winsorize")),
                  matured_subjects_only=matured)


def _parse_winsorize(entry: _Entry, raw: Any) -> Winsorize | None:
    """{upper: 0.99} or {upper: 0.99, lower: 0.01}: percentiles as fractions."""
    if raw is None:
        return None
    _check_keys(entry.child("winsorize"), raw, required={"upper"}, optional={"lower"})
    bounds = {}
    for key in ("upper", "lower"):
        value = raw.get(key)
        if key == "lower" and value is None:
            continue
        bounds[key] = _number(entry, value, f"winsorize.{key}", 0, 1,
                              expected="a fraction between 0 and 1 (exclusive), e.g. 0.99 "
                                       "for the 99th percentile")
    if "lower" in bounds and bounds["lower"] >= bounds["upper"]:
        raise entry.error(f"key 'winsorize': lower ({bounds['lower']:g}) must be below upper "
                          f"({bounds['upper']:g})")
    return Winsorize(**bounds)


def _parse_filters(entry: _Entry, raw: Any) -> tuple[Filter, ...]:
    if not isinstance(raw, list):
        raise entry.error("key 'filters': must be a list of {column, op, value}")
    filters = []
    for index, item in enumerate(raw):
        key = f"filters[{index}]"
        _check_keys(entry.child(key), item, required={"column", "op", "value"}, optional=set())
        column = _string(entry, {key: item["column"]}, key, _COLUMN)
        if column in ("subject_id", "event_name", "event_at"):
            raise entry.error(f"key '{key}': filter on '{column}' is not allowed (the metric "
                              "already selects by it)")
        op = item["op"]
        if op not in FILTER_OPERATORS:
            raise entry.error(f"key '{key}.op': must be one of {', '.join(FILTER_OPERATORS)}, "
                              f"got {op!r}")
        value = item["value"]
        values = value if op in ("in", "not in") else [value]
        if op in ("in", "not in") and (not isinstance(value, list) or not value):
            raise entry.error(f"key '{key}.value': '{op}' needs a non-empty list")
        for one in values:
            is_number = (isinstance(one, int | float) and not isinstance(one, bool)
                         and math.isfinite(one))
            if not is_number and not (isinstance(one, str) and _DATA_VALUE.fullmatch(one)):
                raise entry.error(f"key '{key}.value': {one!r} is neither a finite number "
                                  "nor a safe string (letters, digits, spaces and _ . : / -)")
        filters.append(Filter(column=column, op=op, value=value))
    return tuple(filters)


def _parse_window(entry: _Entry, raw: Any) -> Window:
    """{start_day, end_day} (24-hour days) or {start_hours, end_hours}, after exposure."""
    child = entry.child("window")
    if isinstance(raw, dict) and ("start_hours" in raw or "end_hours" in raw):
        _check_keys(child, raw, required={"start_hours", "end_hours"}, optional=set())
        unit, seconds = "hours", 3600
    else:
        _check_keys(child, raw, required={"start_day", "end_day"}, optional=set())
        unit, seconds = "day", 86400
    start_key, end_key = f"start_{unit}", f"end_{unit}"
    start = _integer(entry, raw[start_key], f"window.{start_key}", 0)
    end = _integer(entry, raw[end_key], f"window.{end_key}", 1)
    if end <= start:
        raise entry.error(f"key 'window': {end_key} ({end}) must be greater than "
                          f"{start_key} ({start})")
    return Window(start_seconds=start * seconds, end_seconds=end * seconds)


def _parse_experiment(entry: _Entry, raw: Any, metrics: dict[str, Metric]) -> Experiment:
    _check_keys(entry, raw,
                required={"id", "variants", "control", "traffic", "metrics", "lookback_days"},
                optional={"description", "confidence_level", "analysis", "dimensions",
                          "max_dimension_values"})
    experiment_id = _string(entry, raw, "id")

    variants_raw = _list(entry, raw, "variants")
    variants = tuple(_string(entry, {"variants": v}, "variants") for v in variants_raw)
    if len(variants) < 2:
        raise entry.error("key 'variants': an experiment needs at least 2 variants")
    if len(set(variants)) != len(variants):
        raise entry.error(f"key 'variants': duplicate variant in {list(variants)}")

    control = raw["control"]
    if control not in variants:
        raise entry.error(f"key 'control': {control!r} is not among the variants "
                          f"{list(variants)}")

    traffic_raw = raw["traffic"]
    if not isinstance(traffic_raw, dict) or set(traffic_raw) != set(variants):
        keys = sorted(traffic_raw, key=str) if isinstance(traffic_raw, dict) else traffic_raw
        raise entry.error(f"key 'traffic': must give a weight for each variant "
                          f"{list(variants)} and nothing else, got {keys}")
    traffic: dict[str, float] = {}
    for variant in variants:
        traffic[variant] = _number(entry, traffic_raw[variant], f"traffic.{variant}", 0)
    total = math.fsum(traffic.values())
    if abs(total - 1.0) > _TRAFFIC_TOLERANCE:
        raise entry.error(f"key 'traffic': weights sum to {total:g}, not 1")

    metric_ids, roles = _metric_roles(entry, raw["metrics"])
    for metric_id in metric_ids:
        if metric_id not in metrics:
            raise entry.error(f"key 'metrics': unknown metric {metric_id!r} "
                              f"(defined: {', '.join(metrics)})")
    if len(set(metric_ids)) != len(metric_ids):
        raise entry.error(f"key 'metrics': duplicate metric in {list(metric_ids)}")

    lookback_days = _integer(entry, raw["lookback_days"], "lookback_days", 1)

    confidence_level = _number(entry, raw.get("confidence_level", defaults.CONFIDENCE_LEVEL),
                               "confidence_level", 0, 1,
                               expected="a number between 0 and 1 (exclusive)")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise entry.error("key 'description': must be text")
    analysis = _parse_analysis(entry, raw.get("analysis", {}))
    if analysis.noninferiority_margin is not None and "guardrail" not in roles.values():
        raise entry.error("key 'analysis.noninferiority_margin': set, but the experiment has "
                          "no guardrail metrics")
    one_sided = [m for m in metric_ids if m in metrics
                 and metrics[m].alternative != "two-sided"]
    if analysis.sequential and one_sided:
        raise entry.error(f"key 'analysis.sequential': always-valid intervals are two-sided, "
                          f"but metric '{one_sided[0]}' has alternative "
                          f"'{metrics[one_sided[0]].alternative}'")
    dimensions_raw = raw.get("dimensions", [])
    if not isinstance(dimensions_raw, list):
        raise entry.error("key 'dimensions': must be a list of assignment-table column names")
    dimensions = tuple(_string(entry, {"dimensions": d}, "dimensions", _COLUMN)
                       for d in dimensions_raw)
    reserved = {"subject_id", "experiment_id", "variant_id", "assigned_at"}
    if set(dimensions) & reserved or len(set(dimensions)) != len(dimensions):
        raise entry.error(f"key 'dimensions': {list(dimensions)} repeats a column or names "
                          "one of the required ones")
    max_values = _integer(entry, raw.get("max_dimension_values",
                                         DEFAULT_MAX_DIMENSION_VALUES),
                          "max_dimension_values", 1)
    return Experiment(id=experiment_id, variants=variants, control=control, traffic=traffic,
                      metrics=metric_ids, lookback_days=lookback_days,
                      confidence_level=confidence_level, description=description,
                      roles=roles, analysis=analysis, dimensions=dimensions,
                      max_dimension_values=max_values)


def _metric_roles(entry: _Entry, value: Any) -> tuple[tuple[str, ...], dict[str, Role]]:
    """``metrics`` is a list (every metric primary) or a mapping role -> list of metrics."""
    if isinstance(value, list) and value:
        _metric_ids(entry, "metrics", value)
        return tuple(value), {metric_id: "primary" for metric_id in value}
    if not isinstance(value, dict) or not value:
        raise entry.error("key 'metrics': must be a non-empty list of metric ids, or a "
                          "mapping with keys primary, secondary, guardrail")
    unknown = sorted(set(value) - set(ROLES), key=str)
    if unknown:
        raise entry.error(f"key 'metrics': unknown role {unknown[0]!r} "
                          f"(roles: {', '.join(ROLES)})")
    metric_ids: list[str] = []
    roles: dict[str, Role] = {}
    for role in ROLES:
        listed = value.get(role) or []
        if not isinstance(listed, list):
            raise entry.error(f"key 'metrics.{role}': must be a list of metric ids")
        for metric_id in _metric_ids(entry, f"metrics.{role}", listed):
            if metric_id in roles:
                raise entry.error(f"key 'metrics': metric {metric_id!r} has two roles")
            metric_ids.append(metric_id)
            roles[metric_id] = role
    if not metric_ids:
        raise entry.error("key 'metrics': no metric listed")
    return tuple(metric_ids), roles


def _metric_ids(entry: _Entry, key: str, listed: list) -> list:
    """``listed`` if every item is text; whether each is a known metric is checked after."""
    for item in listed:
        if not isinstance(item, str):
            raise entry.error(f"key '{key}': {item!r} is not a metric id; list the ids, "
                              "e.g. [revenue, sessions]")
    return listed


def _parse_analysis(entry: _Entry, raw: Any) -> AnalysisSettings:
    optional = {f.name for f in fields(AnalysisSettings)}
    _check_keys(entry.child("analysis"), raw, required=set(), optional=optional)
    choices = {"multiple_testing": get_args(MultipleTesting), "cuped": get_args(CupedMode)}
    for key, allowed in choices.items():
        if key in raw and raw[key] not in allowed:
            raise entry.error(f"key 'analysis.{key}': must be one of {', '.join(allowed)}, "
                              f"got {raw[key]!r}")
    switches = {key: raw.get(key, default) for key, default in
                (("sequential", defaults.SEQUENTIAL), ("bayesian", defaults.BAYESIAN))}
    for key, value in switches.items():
        if not isinstance(value, bool):
            raise entry.error(f"key 'analysis.{key}': must be true or false, got {value!r}")

    def number(key: str, default: float, high: float = math.inf) -> float:
        return _number(entry, raw.get(key, default), f"analysis.{key}", 0, high)

    margin = raw.get("noninferiority_margin")
    return AnalysisSettings(
        multiple_testing=raw.get("multiple_testing", defaults.MULTIPLE_TESTING),
        sequential=switches["sequential"],
        bayesian=switches["bayesian"],
        sequential_tuning=number("sequential_tuning", defaults.SEQUENTIAL_TUNING),
        bayesian_prior_sd=number("bayesian_prior_sd", defaults.BAYESIAN_PRIOR_SD),
        cuped=raw.get("cuped", defaults.CUPED),
        target_relative_effect=number("target_relative_effect",
                                      defaults.TARGET_RELATIVE_EFFECT),
        power=number("power", defaults.POWER, 1),
        noninferiority_margin=None if margin is None else _number(
            entry, margin, "analysis.noninferiority_margin", 0, low_inclusive=True),
    )
