"""Validate a parsed experiment config document into the types of :mod:`.types`.

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

import math
import re
from dataclasses import fields
from typing import Any, cast, get_args

from analysis_py import defaults
from analysis_py.config.types import (
    AGGREGATIONS,
    DEFAULT_EVENT_SOURCE,
    DEFAULT_MAX_DIMENSION_VALUES,
    FILTER_OPERATORS,
    ROLES,
    Alternative,
    AnalysisSettings,
    ConfigError,
    CupedMode,
    EventSource,
    Experiment,
    ExperimentConfig,
    Filter,
    Metric,
    MultipleTesting,
    Role,
    Threshold,
    Window,
    Winsorize,
)

# Names are checked with fullmatch: ``$`` would also match before a final newline.
# Metric ids may become column or file names later: keep them plain identifiers.
_METRIC_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")
# Dimensions are column names of the assignments table: plain lowercase identifiers.
_COLUMN = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Experiment, variant and event names are values in the user's tables: allow what such ids
# usually contain, but no quotes, backslashes or control characters.
_DATA_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/ -]{0,199}")
_TRAFFIC_TOLERANCE = 1e-6


def parse_config(document: Any, path: str = "<config>") -> ExperimentConfig:
    """Validate an already-parsed config document."""
    root = _Entry(path, "")
    if not isinstance(document, dict):
        raise root.error("the file must be a mapping with keys 'metrics' and 'experiments'")
    _check_keys(root, document, required={"metrics", "experiments"}, optional={"event_sources"})

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
                f"key 'id': duplicate metric id '{metric.id}'"
            )
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
    return ExperimentConfig(
        path=path, metrics=metrics, experiments=tuple(experiments), event_sources=sources
    )


def _parse_event_source(entry: _Entry, raw: Any) -> EventSource:
    _check_keys(
        entry,
        raw,
        required={"id", "dbt_source", "subject_id_column", "timestamp_column"},
        optional={"value_column", "event_name_column"},
    )
    _check_keys(
        entry.child("dbt_source"), raw["dbt_source"], required={"source", "table"}, optional=set()
    )
    dbt_source = raw["dbt_source"]
    columns: dict[str, Any] = {
        key: _string(entry, raw, key, _COLUMN) if raw.get(key) is not None else None
        for key in ("subject_id_column", "timestamp_column", "value_column", "event_name_column")
    }
    return EventSource(
        id=_string(entry, raw, "id", _METRIC_ID),
        source_name=_string(
            entry, {"dbt_source.source": dbt_source["source"]}, "dbt_source.source", _COLUMN
        ),
        table_name=_string(
            entry, {"dbt_source.table": dbt_source["table"]}, "dbt_source.table", _COLUMN
        ),
        **columns,
    )


def _check_ratio(entry: _Entry, metric: Metric, metrics: dict[str, Metric]) -> None:
    for key in ("numerator", "denominator"):
        component = metrics.get(getattr(metric, key))
        if component is None:
            raise entry.error(
                f"key '{key}': unknown metric {getattr(metric, key)!r} "
                f"(defined: {', '.join(metrics)})"
            )
        if component.is_ratio:
            raise entry.error(
                f"key '{key}': {component.id!r} is itself a ratio; numerator "
                "and denominator must be event metrics (sum, count, ...)"
            )
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
        hint = (
            "lowercase letters, digits and '_', starting with a letter"
            if pattern in (_METRIC_ID, _COLUMN)
            else "letters, digits, spaces and _ . : / -, no quotes or backslashes"
        )
        raise entry.error(f"key '{key}': {value!r} is not a valid name ({hint})")
    return value


def _integer(entry: _Entry, value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise entry.error(f"key '{key}': must be a whole number >= {minimum}, got {_shown(value)}")
    return value


def _number(
    entry: _Entry,
    value: Any,
    key: str,
    low: float,
    high: float = math.inf,
    *,
    low_inclusive: bool = False,
    expected: str = "",
) -> float:
    """``value`` as a float if it is a finite number (not a boolean) with ``low < value <
    high`` (``low <=`` if ``low_inclusive``); else an error naming ``key``.
    """
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if (
        not is_number
        or not math.isfinite(value)
        or value >= high
        or (value < low if low_inclusive else value <= low)
    ):
        if not expected:
            expected = f"a number {'>=' if low_inclusive else '>'} {low:g}" + (
                f" and < {high:g}" if high != math.inf else ""
            )
        raise entry.error(f"key '{key}': must be {expected}, got {_shown(value)}")
    return float(value)


def _shown(value: Any) -> str:
    """``value`` in an error message, saying why it is not the number it may look like."""
    if isinstance(value, bool):
        return f"{value!r} (YAML reads yes, no, on, off, true, false as booleans)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} (not a finite number)"
    return repr(value)


_METRIC_KEYS = {"id", "aggregation", "description", "direction", "alternative", "display_name"}
_EVENT_METRIC_KEYS = {
    "event_name",
    "window",
    "threshold",
    "filters",
    "winsorize",
    "matured_subjects_only",
    "source",
}
_RATIO_METRIC_KEYS = {"numerator", "denominator"}


def _parse_metric(entry: _Entry, raw: Any, sources: dict[str, EventSource]) -> Metric:
    if isinstance(raw, dict) and raw.get("aggregation") == "ratio":
        _check_keys(
            entry,
            raw,
            required={"id", "aggregation", "numerator", "denominator"},
            optional=_METRIC_KEYS,
        )
    else:
        _check_keys(
            entry,
            raw,
            required={"id", "aggregation", "window"},
            optional=_METRIC_KEYS | _EVENT_METRIC_KEYS,
        )
    metric_id = _string(entry, raw, "id", _METRIC_ID)
    aggregation = raw["aggregation"]
    if aggregation not in AGGREGATIONS:
        raise entry.error(
            f"key 'aggregation': unknown aggregation {aggregation!r} "
            f"(known: {', '.join(AGGREGATIONS)})"
        )
    description = raw.get("description", "")
    display_name = raw.get("display_name", "")
    for key, value in (("description", description), ("display_name", display_name)):
        if not isinstance(value, str):
            raise entry.error(f"key '{key}': must be text")
    direction = raw.get("direction", "increase")
    if direction not in ("increase", "decrease"):
        raise entry.error(f"key 'direction': must be 'increase' or 'decrease', got {direction!r}")
    alternative = raw.get("alternative", "two-sided")
    if alternative not in get_args(Alternative):
        raise entry.error(
            f"key 'alternative': must be one of "
            f"{', '.join(get_args(Alternative))}, got {alternative!r}"
        )
    common = {
        "id": metric_id,
        "aggregation": aggregation,
        "description": description,
        "direction": direction,
        "alternative": alternative,
        "display_name": display_name,
    }
    if aggregation == "ratio":
        return Metric(
            **common,
            numerator=_string(entry, raw, "numerator", _METRIC_ID),
            denominator=_string(entry, raw, "denominator", _METRIC_ID),
        )

    window = _parse_window(entry, raw["window"])
    threshold = None
    if aggregation == "threshold":
        if "threshold" not in raw:
            raise entry.error(
                "key 'threshold': aggregation 'threshold' needs "
                "threshold: {of: count or sum, at_least: a number}"
            )
        _check_keys(
            entry.child("threshold"), raw["threshold"], required={"of", "at_least"}, optional=set()
        )
        of = raw["threshold"]["of"]
        if of not in ("count", "sum"):
            raise entry.error(f"key 'threshold.of': must be 'count' or 'sum', got {of!r}")
        at_least = _number(entry, raw["threshold"]["at_least"], "threshold.at_least", 0)
        threshold = Threshold(of=of, at_least=at_least)
    elif "threshold" in raw:
        raise entry.error(f"key 'threshold': only for aggregation 'threshold', not {aggregation!r}")
    matured = raw.get("matured_subjects_only", aggregation == "retention")
    if not isinstance(matured, bool):
        raise entry.error(f"key 'matured_subjects_only': must be true or false, got {matured!r}")
    if aggregation == "retention" and not matured:
        raise entry.error(
            "key 'matured_subjects_only': retention counts only subjects whose "
            "window has ended; it cannot be false"
        )
    source_id = raw.get("source", DEFAULT_EVENT_SOURCE)
    if source_id != DEFAULT_EVENT_SOURCE and (
        not isinstance(source_id, str) or source_id not in sources
    ):
        raise entry.error(
            f"key 'source': unknown event source {source_id!r} (declared under "
            f"event_sources: {', '.join(sources) or 'none'}; default: "
            f"{DEFAULT_EVENT_SOURCE})"
        )
    source = sources.get(source_id)
    has_event_names = source is None or source.event_name_column is not None
    if has_event_names and "event_name" not in raw:
        raise entry.error("missing key 'event_name'")
    if not has_event_names and "event_name" in raw:
        raise entry.error(
            f"key 'event_name': event source {source_id!r} has no "
            "event_name_column: every row is an event"
        )
    adds_values = aggregation == "sum" or (threshold is not None and threshold.of == "sum")
    if adds_values and source is not None and source.value_column is None:
        raise entry.error(
            f"key 'aggregation': event source {source_id!r} has no value_column to sum"
        )
    event_name = _string(entry, raw, "event_name") if has_event_names else ""
    return Metric(
        **common,
        event_name=event_name,
        window=window,
        source=source_id,
        threshold=threshold,
        filters=_parse_filters(entry, raw.get("filters", [])),
        winsorize=_parse_winsorize(entry, raw.get("winsorize")),
        matured_subjects_only=matured,
    )


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
        bounds[key] = _number(
            entry,
            value,
            f"winsorize.{key}",
            0,
            1,
            expected="a fraction between 0 and 1 (exclusive), e.g. 0.99 for the 99th percentile",
        )
    if "lower" in bounds and bounds["lower"] >= bounds["upper"]:
        raise entry.error(
            f"key 'winsorize': lower ({bounds['lower']:g}) must be below upper "
            f"({bounds['upper']:g})"
        )
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
            raise entry.error(
                f"key '{key}': filter on '{column}' is not allowed (the metric "
                "already selects by it)"
            )
        op = item["op"]
        if op not in FILTER_OPERATORS:
            raise entry.error(
                f"key '{key}.op': must be one of {', '.join(FILTER_OPERATORS)}, got {op!r}"
            )
        value = item["value"]
        values = value if op in ("in", "not in") else [value]
        if op in ("in", "not in") and (not isinstance(value, list) or not value):
            raise entry.error(f"key '{key}.value': '{op}' needs a non-empty list")
        for one in values:
            is_number = (
                isinstance(one, int | float) and not isinstance(one, bool) and math.isfinite(one)
            )
            if not is_number and not (isinstance(one, str) and _DATA_VALUE.fullmatch(one)):
                raise entry.error(
                    f"key '{key}.value': {one!r} is neither a finite number "
                    "nor a safe string (letters, digits, spaces and _ . : / -)"
                )
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
        raise entry.error(
            f"key 'window': {end_key} ({end}) must be greater than {start_key} ({start})"
        )
    return Window(start_seconds=start * seconds, end_seconds=end * seconds)


def _parse_experiment(entry: _Entry, raw: Any, metrics: dict[str, Metric]) -> Experiment:
    _check_keys(
        entry,
        raw,
        required={"id", "variants", "control", "traffic", "metrics", "lookback_days"},
        optional={
            "description",
            "confidence_level",
            "analysis",
            "dimensions",
            "max_dimension_values",
        },
    )
    experiment_id = _string(entry, raw, "id")

    variants_raw = _list(entry, raw, "variants")
    variants = tuple(_string(entry, {"variants": v}, "variants") for v in variants_raw)
    if len(variants) < 2:
        raise entry.error("key 'variants': an experiment needs at least 2 variants")
    if len(set(variants)) != len(variants):
        raise entry.error(f"key 'variants': duplicate variant in {list(variants)}")

    control = raw["control"]
    if control not in variants:
        raise entry.error(f"key 'control': {control!r} is not among the variants {list(variants)}")

    traffic_raw = raw["traffic"]
    if not isinstance(traffic_raw, dict) or set(traffic_raw) != set(variants):
        keys = sorted(traffic_raw, key=str) if isinstance(traffic_raw, dict) else traffic_raw
        raise entry.error(
            f"key 'traffic': must give a weight for each variant "
            f"{list(variants)} and nothing else, got {keys}"
        )
    traffic: dict[str, float] = {}
    for variant in variants:
        traffic[variant] = _number(entry, traffic_raw[variant], f"traffic.{variant}", 0)
    total = math.fsum(traffic.values())
    if abs(total - 1.0) > _TRAFFIC_TOLERANCE:
        raise entry.error(f"key 'traffic': weights sum to {total:g}, not 1")

    metric_ids, roles = _metric_roles(entry, raw["metrics"])
    for metric_id in metric_ids:
        if metric_id not in metrics:
            raise entry.error(
                f"key 'metrics': unknown metric {metric_id!r} (defined: {', '.join(metrics)})"
            )
    if len(set(metric_ids)) != len(metric_ids):
        raise entry.error(f"key 'metrics': duplicate metric in {list(metric_ids)}")

    lookback_days = _integer(entry, raw["lookback_days"], "lookback_days", 1)

    confidence_level = _number(
        entry,
        raw.get("confidence_level", defaults.CONFIDENCE_LEVEL),
        "confidence_level",
        0,
        1,
        expected="a number between 0 and 1 (exclusive)",
    )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise entry.error("key 'description': must be text")
    analysis = _parse_analysis(entry, raw.get("analysis", {}))
    if analysis.noninferiority_margin is not None and "guardrail" not in roles.values():
        raise entry.error(
            "key 'analysis.noninferiority_margin': set, but the experiment has no guardrail metrics"
        )
    one_sided = [m for m in metric_ids if m in metrics and metrics[m].alternative != "two-sided"]
    if analysis.sequential and one_sided:
        raise entry.error(
            f"key 'analysis.sequential': always-valid intervals are two-sided, "
            f"but metric '{one_sided[0]}' has alternative "
            f"'{metrics[one_sided[0]].alternative}'"
        )
    dimensions_raw = raw.get("dimensions", [])
    if not isinstance(dimensions_raw, list):
        raise entry.error("key 'dimensions': must be a list of assignment-table column names")
    dimensions = tuple(
        _string(entry, {"dimensions": d}, "dimensions", _COLUMN) for d in dimensions_raw
    )
    reserved = {"subject_id", "experiment_id", "variant_id", "assigned_at"}
    if set(dimensions) & reserved or len(set(dimensions)) != len(dimensions):
        raise entry.error(
            f"key 'dimensions': {list(dimensions)} repeats a column or names "
            "one of the required ones"
        )
    max_values = _integer(
        entry,
        raw.get("max_dimension_values", DEFAULT_MAX_DIMENSION_VALUES),
        "max_dimension_values",
        1,
    )
    return Experiment(
        id=experiment_id,
        variants=variants,
        control=control,
        traffic=traffic,
        metrics=metric_ids,
        lookback_days=lookback_days,
        confidence_level=confidence_level,
        description=description,
        roles=roles,
        analysis=analysis,
        dimensions=dimensions,
        max_dimension_values=max_values,
    )


def _metric_roles(entry: _Entry, value: Any) -> tuple[tuple[str, ...], dict[str, Role]]:
    """``metrics`` is a list (every metric primary) or a mapping role -> list of metrics."""
    if isinstance(value, list) and value:
        _metric_ids(entry, "metrics", value)
        return tuple(value), {metric_id: "primary" for metric_id in value}
    if not isinstance(value, dict) or not value:
        raise entry.error(
            "key 'metrics': must be a non-empty list of metric ids, or a "
            "mapping with keys primary, secondary, guardrail"
        )
    unknown = sorted(set(value) - set(ROLES), key=str)
    if unknown:
        raise entry.error(f"key 'metrics': unknown role {unknown[0]!r} (roles: {', '.join(ROLES)})")
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
            roles[metric_id] = cast(Role, role)
    if not metric_ids:
        raise entry.error("key 'metrics': no metric listed")
    return tuple(metric_ids), roles


def _metric_ids(entry: _Entry, key: str, listed: list) -> list:
    """``listed`` if every item is text; whether each is a known metric is checked after."""
    for item in listed:
        if not isinstance(item, str):
            raise entry.error(
                f"key '{key}': {item!r} is not a metric id; list the ids, e.g. [revenue, sessions]"
            )
    return listed


def _parse_analysis(entry: _Entry, raw: Any) -> AnalysisSettings:
    optional = {f.name for f in fields(AnalysisSettings)}
    _check_keys(entry.child("analysis"), raw, required=set(), optional=optional)
    choices = {"multiple_testing": get_args(MultipleTesting), "cuped": get_args(CupedMode)}
    for key, allowed in choices.items():
        if key in raw and raw[key] not in allowed:
            raise entry.error(
                f"key 'analysis.{key}': must be one of {', '.join(allowed)}, got {raw[key]!r}"
            )
    switches = {
        key: raw.get(key, default)
        for key, default in (("sequential", defaults.SEQUENTIAL), ("bayesian", defaults.BAYESIAN))
    }
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
        target_relative_effect=number("target_relative_effect", defaults.TARGET_RELATIVE_EFFECT),
        power=number("power", defaults.POWER, 1),
        noninferiority_margin=None
        if margin is None
        else _number(entry, margin, "analysis.noninferiority_margin", 0, low_inclusive=True),
    )
