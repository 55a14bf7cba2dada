"""Validate a parsed experiment config document into the types of :mod:`.types`.

One table per kind of mapping in the file (event source, metric, window, threshold, filter,
winsorize, experiment, analysis, the document itself) lists its keys with their checks and
the rules across keys; :func:`analysis_py.config.schema.walk` applies a table to a mapping.

Every value that reaches SQL is either an integer checked here or a string that dbt quotes
as a literal (``macros/xp_string_literal.sql``); strings are also limited to a safe character
set, so a config file cannot inject SQL.

Every error names the file, the entry and the key at fault, e.g.::

    experiments.yml: experiments[1] (id 'onboarding_flow'): key 'control': 'ctrl' is not
    among the variants ['control', 'short_form', 'guided_tour']
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast, get_args

from analysis_py.config.dates import analysed_traffic, check_dates, phases, timestamp
from analysis_py.config.schema import (
    Entry,
    Key,
    Location,
    Rule,
    Table,
    boolean,
    is_finite_number,
    mapping,
    matching,
    non_empty_list,
    number,
    one_of,
    optional,
    text,
    walk,
    whole_number,
)
from analysis_py.config.types import (
    AGGREGATIONS,
    DEFAULT_EVENT_SOURCE,
    FILTER_OPERATORS,
    QUANTILE_LEVELS,
    ROLES,
    Alternative,
    AnalysisSettings,
    CupedMode,
    Direction,
    EventSource,
    Experiment,
    ExperimentConfig,
    Filter,
    Metric,
    MultipleTesting,
    PlanSettings,
    QuantileOf,
    Role,
    Threshold,
    ThresholdOf,
    Window,
    Winsorize,
)

# Metric ids may become column or file names later: keep them plain identifiers.
_METRIC_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")
# Dimensions and filtered event columns are column names: plain lowercase identifiers.
_COLUMN = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Experiment, variant and event names are values in the user's tables: allow what such ids
# usually contain, but no quotes, backslashes or control characters.
_DATA_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/ -]{0,199}")
_IDENTIFIER = "lowercase letters, digits and '_', starting with a letter"
_metric_id = matching(_METRIC_ID, _IDENTIFIER)
_column = matching(_COLUMN, _IDENTIFIER)
_data_value = matching(
    _DATA_VALUE, "letters, digits, spaces and _ . : / -, no quotes or backslashes"
)
_positive = number(0)
_fraction = number(
    0, 1, expected="a fraction between 0 and 1 (exclusive), e.g. 0.99 for the 99th percentile"
)
_TRAFFIC_TOLERANCE = 1e-6


def parse_config(document: Any, path: str = "<config>") -> ExperimentConfig:
    """Validate an already-parsed config document.

    Args:
        document: The YAML document, as a plain mapping.
        path: The file it came from, as errors name it.

    Returns:
        The validated config.

    Raises:
        ConfigError: Something in the document is invalid; the message names the file, the
            entry and the key.
    """
    entry = Entry(path, "")
    if not isinstance(document, dict):
        raise entry.error("the file must be a mapping with keys 'metrics' and 'experiments'")
    return ExperimentConfig(path=path, **walk(_DOCUMENT, Location(entry), document))


# Event sources: further tables of events, declared as dbt sources.

_DBT_SOURCE = Table(
    Key("source", _column, required=True, field_name="source_name"),
    Key("table", _column, required=True, field_name="table_name"),
)
_EVENT_SOURCE = Table(
    Key("id", _metric_id, required=True),
    Key("dbt_source", mapping(_DBT_SOURCE), required=True, spread=True),
    Key("subject_id_column", _column, required=True),
    Key("timestamp_column", _column, required=True),
    Key("value_column", optional(_column)),
    Key("event_name_column", optional(_column)),
    Key("partition_date_column", optional(_column)),
)


# Metrics: an aggregation of events in a window after exposure, or a ratio of two such.


def _aggregation(at: Location, value: Any) -> str:
    if value not in AGGREGATIONS:
        raise at.error(f"unknown aggregation {value!r} (known: {', '.join(AGGREGATIONS)})")
    return value


def _window(at: Location, value: Any) -> Window:
    """{start_day, end_day} (24-hour days) or {start_hours, end_hours}, after exposure."""
    in_hours = isinstance(value, dict) and ("start_hours" in value or "end_hours" in value)
    table, seconds = (_WINDOW_IN_HOURS, 3600) if in_hours else (_WINDOW_IN_DAYS, 86400)
    (start_key, start), (end_key, end) = walk(table, at, value).items()  # in table order
    if end <= start:
        raise at.error(f"{end_key} ({end}) must be greater than {start_key} ({start})")
    return Window(start_seconds=start * seconds, end_seconds=end * seconds)


def _threshold_only_for_threshold(at: Location) -> None:
    aggregation = at.parsed["aggregation"]
    if aggregation == "threshold" and "threshold" not in at.mapping:
        raise at.error(
            "aggregation 'threshold' needs threshold: {of: count or sum, at_least: a number}"
        )
    if aggregation != "threshold" and "threshold" in at.mapping:
        raise at.error(f"only for aggregation 'threshold', not {aggregation!r}")


def _is_retention(parsed: Mapping[str, Any]) -> bool:
    return parsed["aggregation"] == "retention"


def _retention_counts_matured_only(at: Location) -> None:
    if _is_retention(at.parsed) and not at.parsed["matured_subjects_only"]:
        raise at.error("retention counts only subjects whose window has ended; it cannot be false")


def _sources(at: Location) -> dict[str, EventSource]:
    """The event sources declared in the document."""
    return at.known.get("event_sources", {})


def _source(at: Location, value: Any) -> str:
    sources = _sources(at)
    if value != DEFAULT_EVENT_SOURCE and (not isinstance(value, str) or value not in sources):
        raise at.error(
            f"unknown event source {value!r} (declared under event_sources: "
            f"{', '.join(sources) or 'none'}; default: {DEFAULT_EVENT_SOURCE})"
        )
    return value


def _event_name_fits_source(at: Location) -> None:
    """An event name is required, unless the source has none: then every row is an event."""
    source_id = at.parsed["source"]
    source = _sources(at).get(source_id)
    has_event_names = source is None or source.event_name_column is not None
    if has_event_names and "event_name" not in at.mapping:
        raise at.entry.error("missing key 'event_name'")
    if not has_event_names and "event_name" in at.mapping:
        raise at.error(
            f"event source {source_id!r} has no event_name_column: every row is an event"
        )


def _source_has_values_to_sum(at: Location) -> None:
    source_id, threshold = at.parsed["source"], at.parsed.get("threshold")
    source = _sources(at).get(source_id)
    adds_values = at.parsed["aggregation"] == "sum" or (
        threshold is not None and threshold.of == "sum"
    )
    if adds_values and source is not None and source.value_column is None:
        raise at.error(f"event source {source_id!r} has no value_column to sum")


def _filter_column(at: Location, value: Any) -> str:
    """An event column other than the ones the metric selects by; errors name the filter."""
    at = at.up()
    column = _column(at, value)
    if column in ("subject_id", "event_name", "event_at"):
        raise at.error(f"filter on '{column}' is not allowed (the metric already selects by it)")
    return column


def _filter_value(at: Location, value: Any) -> Any:
    """A finite number or a safe string; a non-empty list of them for ``in`` / ``not in``."""
    op = at.parsed["op"]
    is_list = op in ("in", "not in")
    if is_list and (not isinstance(value, list) or not value):
        raise at.error(f"'{op}' needs a non-empty list")
    for one in value if is_list else [value]:
        if not is_finite_number(one) and not (isinstance(one, str) and _DATA_VALUE.fullmatch(one)):
            raise at.error(
                f"{one!r} is neither a finite number nor a safe string "
                "(letters, digits, spaces and _ . : / -)"
            )
    return value


def _filters(at: Location, value: Any) -> tuple[Filter, ...]:
    if not isinstance(value, list):
        raise at.error("must be a list of {column, op, value}")
    return tuple(_filter(at.item(index), item) for index, item in enumerate(value))


def _lower_below_upper(at: Location) -> None:
    lower, upper = at.parsed.get("lower"), at.parsed["upper"]
    if lower is not None and lower >= upper:
        raise at.error(f"lower ({lower:g}) must be below upper ({upper:g})")


_WINDOW_IN_DAYS = Table(
    Key("start_day", whole_number(0), required=True),
    Key("end_day", whole_number(1), required=True),
)
_WINDOW_IN_HOURS = Table(
    Key("start_hours", whole_number(0), required=True),
    Key("end_hours", whole_number(1), required=True),
)
_THRESHOLD = Table(
    Key("of", one_of(get_args(ThresholdOf)), required=True),
    Key("at_least", _positive, required=True),
)
_FILTER = Table(
    Key("column", _filter_column, required=True),
    Key("op", one_of(FILTER_OPERATORS), required=True),
    Key("value", _filter_value, required=True),
)
_filter = mapping(_FILTER, Filter)
#: Percentiles as fractions: {upper: 0.99} or {upper: 0.99, lower: 0.01}.
_WINSORIZE = Table(
    Key("upper", _fraction, required=True),
    Key("lower", optional(_fraction)),
    Rule("", _lower_below_upper),
)
#: The keys of every metric, ratio or not.
_METRIC_KEYS = (
    Key("id", _metric_id, required=True),
    Key("aggregation", _aggregation, required=True),
    Key("description", text),
    Key("display_name", text),
    Key("direction", one_of(get_args(Direction))),
    Key("alternative", one_of(get_args(Alternative))),
)
_RATIO_METRIC = Table(
    *_METRIC_KEYS,
    Key("numerator", _metric_id, required=True),
    Key("denominator", _metric_id, required=True),
)
_EVENT_METRIC = Table(
    *_METRIC_KEYS,
    Key("window", _window, required=True),
    Rule("threshold", _threshold_only_for_threshold),
    Key("threshold", mapping(_THRESHOLD, Threshold)),
    Key("matured_subjects_only", boolean, default_from=_is_retention),
    Rule("matured_subjects_only", _retention_counts_matured_only),
    Key("source", _source, default=DEFAULT_EVENT_SOURCE),
    Rule("event_name", _event_name_fits_source),
    Rule("aggregation", _source_has_values_to_sum),
    Key("event_name", _data_value),
    Key("filters", _filters),
    Key("winsorize", optional(mapping(_WINSORIZE, Winsorize))),
)


# Quantile metrics: an event metric whose arms are compared by a quantile of its values.


def _quantile_level(at: Location, value: Any) -> float:
    low, high = QUANTILE_LEVELS
    if not is_finite_number(value) or not low <= value <= high:
        raise at.error(f"must be a number from {low:g} to {high:g}, e.g. 0.5 or 0.9, got {value!r}")
    return float(value)


def _quantile_not_winsorized(at: Location) -> None:
    """A cap would move the quantile's order statistics: quantiles need none (they are robust)."""
    if at.parsed.get("winsorize") is not None:
        raise at.error("a quantile is not winsorized: its order statistics need the raw values")


def _quantile_source_has_values(at: Location) -> None:
    source_id = at.parsed["source"]
    source = _sources(at).get(source_id)
    if at.parsed["quantile_of"] == "sum" and source is not None and source.value_column is None:
        raise at.error(f"event source {source_id!r} has no value_column to sum (use of: count)")


_QUANTILE_METRIC = Table(
    *_EVENT_METRIC,
    Key("quantile", _quantile_level, required=True),
    Key("of", one_of(get_args(QuantileOf)), default="sum", field_name="quantile_of"),
    Rule("of", _quantile_source_has_values),
    Key("ignore_zeros", boolean),
    Rule("winsorize", _quantile_not_winsorized),
)


def _check_quantile_not_a_component(
    at: Location, metric: Metric, metrics: dict[str, Metric]
) -> None:
    """A ratio divides means: a quantile metric cannot be its numerator or denominator."""
    for key in ("numerator", "denominator"):
        component = metrics.get(getattr(metric, key))
        if component is not None and component.is_quantile:
            raise at.sub(key).error(
                f"{component.id!r} is a quantile metric; a ratio divides the means of event "
                "metrics (sum, count, ...)"
            )


def _sequential_not_for_quantiles(at: Location) -> None:
    """The asymptotic confidence sequence is proven for means, not for quantiles."""
    metrics = at.known["metrics"]
    quantiles = [m for m in at.parsed["metrics"] if metrics[m].is_quantile]
    if at.parsed["analysis"].sequential and quantiles:
        raise at.error(
            f"always-valid intervals are for means; metric '{quantiles[0]}' is a quantile "
            "(list it in an experiment without sequential, or set sequential: false)"
        )


def _metric_table(raw: Any) -> Table:
    """A ratio metric has a numerator and a denominator; any other a window of events."""
    if isinstance(raw, dict) and raw.get("aggregation") == "ratio":
        return _RATIO_METRIC
    if isinstance(raw, dict) and raw.get("aggregation") == "quantile":
        return _QUANTILE_METRIC
    return _EVENT_METRIC


def _unknown_metric(metric_id: str, metrics: Mapping[str, Metric]) -> str:
    """The error for a metric id the document does not define, with the closest id if any.

    >>> _unknown_metric("sesions", {"sessions": None, "revenue": None})
    "unknown metric 'sesions'; did you mean 'sessions'? (defined: sessions, revenue)"
    """
    close = difflib.get_close_matches(str(metric_id), list(metrics), n=1, cutoff=0.8)
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown metric {metric_id!r}{suggestion} (defined: {', '.join(metrics)})"


def _check_ratio(at: Location, metric: Metric, metrics: dict[str, Metric]) -> None:
    """A ratio divides two different event metrics of the document."""
    for key in ("numerator", "denominator"):
        component = metrics.get(getattr(metric, key))
        if component is None:
            raise at.sub(key).error(_unknown_metric(getattr(metric, key), metrics))
        if component.is_ratio:
            raise at.sub(key).error(
                f"{component.id!r} is itself a ratio; numerator and denominator must be event "
                "metrics (sum, count, ...)"
            )
    if metric.numerator == metric.denominator:
        raise at.sub("denominator").error("the same metric as the numerator")


# Experiments: arms, traffic split, metrics with roles, and the analysis options.


def _variants(at: Location, value: Any) -> tuple[str, ...]:
    variants = tuple(_data_value(at, variant) for variant in non_empty_list(at, value))
    if len(variants) < 2:
        raise at.error("an experiment needs at least 2 variants")
    if len(set(variants)) != len(variants):
        raise at.error(f"duplicate variant in {list(variants)}")
    return variants


def _control(at: Location, value: Any) -> str:
    variants = at.parsed["variants"]
    if value not in variants:
        raise at.error(f"{value!r} is not among the variants {list(variants)}")
    return value


def _traffic(at: Location, value: Any) -> dict[str, float]:
    """A weight for each variant, summing to 1."""
    variants = at.parsed["variants"]
    if not isinstance(value, dict) or set(value) != set(variants):
        keys = sorted(value, key=str) if isinstance(value, dict) else value
        raise at.error(
            f"must give a weight for each variant {list(variants)} and nothing else, got {keys}"
        )
    traffic = {variant: _positive(at.sub(variant), value[variant]) for variant in variants}
    total = math.fsum(traffic.values())
    if abs(total - 1.0) > _TRAFFIC_TOLERANCE:
        raise at.error(f"weights sum to {total:g}, not 1")
    return traffic


def _metric_roles(at: Location, value: Any) -> dict[str, Any]:
    """``metrics`` is a list (every metric primary) or a mapping role -> list of metrics.

    Returns:
        The fields ``metrics`` (the ids, in order) and ``roles`` (the role of each).
    """
    if isinstance(value, list) and value:
        metric_ids = tuple(_metric_ids(at, value))
        roles: dict[str, Role] = dict.fromkeys(metric_ids, "primary")
    else:
        roles = _roles(at, value)
        metric_ids = tuple(roles)
    metrics = at.known["metrics"]
    for metric_id in metric_ids:
        if metric_id not in metrics:
            raise at.error(_unknown_metric(metric_id, metrics))
    if len(set(metric_ids)) != len(metric_ids):
        raise at.error(f"duplicate metric in {list(metric_ids)}")
    return {"metrics": metric_ids, "roles": roles}


def _roles(at: Location, value: Any) -> dict[str, Role]:
    """The role of each metric listed in the mapping role -> list of metric ids."""
    if not isinstance(value, dict) or not value:
        raise at.error(
            "must be a non-empty list of metric ids, or a mapping with keys primary, "
            "secondary, guardrail"
        )
    unknown = sorted(set(value) - set(ROLES), key=str)
    if unknown:
        raise at.error(f"unknown role {unknown[0]!r} (roles: {', '.join(ROLES)})")
    roles: dict[str, Role] = {}
    for role in ROLES:
        listed = value.get(role) or []
        if not isinstance(listed, list):
            raise at.sub(role).error("must be a list of metric ids")
        for metric_id in _metric_ids(at.sub(role), listed):
            if metric_id in roles:
                raise at.error(f"metric {metric_id!r} has two roles")
            roles[metric_id] = cast(Role, role)
    if not roles:
        raise at.error("no metric listed")
    return roles


def _metric_ids(at: Location, listed: list[Any]) -> list[str]:
    """``listed`` if every item is text; whether each is a known metric is checked after."""
    for item in listed:
        if not isinstance(item, str):
            raise at.error(f"{item!r} is not a metric id; list the ids, e.g. [revenue, sessions]")
    return listed


def _margin_needs_guardrails(at: Location) -> None:
    if (
        at.parsed["analysis"].noninferiority_margin is not None
        and "guardrail" not in at.parsed["roles"].values()
    ):
        raise at.error("set, but the experiment has no guardrail metrics")


def _sequential_needs_two_sided(at: Location) -> None:
    """Always-valid intervals are two-sided: no one-sided metric in a sequential experiment."""
    metrics = at.known["metrics"]
    one_sided = [m for m in at.parsed["metrics"] if metrics[m].alternative != "two-sided"]
    if at.parsed["analysis"].sequential and one_sided:
        raise at.error(
            f"always-valid intervals are two-sided, but metric '{one_sided[0]}' has "
            f"alternative '{metrics[one_sided[0]].alternative}'"
        )


def _dimensions(at: Location, value: Any) -> tuple[str, ...]:
    """Columns of the assignments table to slice the results by."""
    if not isinstance(value, list):
        raise at.error("must be a list of assignment-table column names")
    dimensions = tuple(_column(at, dimension) for dimension in value)
    required = {"subject_id", "experiment_id", "variant_id", "assigned_at"}
    if set(dimensions) & required or len(set(dimensions)) != len(dimensions):
        raise at.error(f"{list(dimensions)} repeats a column or names one of the required ones")
    return dimensions


# Plans: where `xp plan` reads a proposed experiment's history (docs/planning.md).


def _population_experiments(at: Location, value: Any) -> tuple[str, ...]:
    """Experiment ids, as they appear in the assignments table (not necessarily configured)."""
    if not isinstance(value, list):
        raise at.error("must be a list of experiment ids, e.g. [checkout_redesign]")
    return tuple(_data_value(at, experiment_id) for experiment_id in value)


_PLAN = Table(
    Key("history_days", whole_number(1)),
    Key("population_experiments", _population_experiments),
    Key("expected_daily_subjects", optional(_positive)),
)


def _plan(at: Location, value: Any) -> PlanSettings:
    """``plan:`` alone marks the experiment for `xp plan` with the default settings."""
    return PlanSettings() if value is None else mapping(_PLAN, PlanSettings)(at, value)


#: Every key is optional: an absent one keeps its default from defaults.py.
_ANALYSIS = Table(
    Key("multiple_testing", one_of(get_args(MultipleTesting))),
    Key("cuped", one_of(get_args(CupedMode))),
    Key("sequential", boolean),
    Key("bayesian", boolean),
    Key("sequential_tuning", _positive),
    Key("bayesian_prior_sd", _positive),
    Key("target_relative_effect", _positive),
    Key("power", number(0, 1)),
    Key("noninferiority_margin", optional(number(0, low_inclusive=True))),
)
_EXPERIMENT = Table(
    Key("id", _data_value, required=True),
    Key("variants", _variants, required=True),
    Key("control", _control, required=True),
    # Dates and phases (analysis_py/config/dates.py); traffic is the analysed phase's then.
    Key("phases", phases(_traffic)),
    Key("analysis_phase", text),
    Key("start_at", timestamp),
    Key("end_at", timestamp),
    Rule("", check_dates),
    Key("traffic", _traffic, default_from=analysed_traffic),
    Key("metrics", _metric_roles, required=True, spread=True),
    Key("lookback_days", whole_number(1), required=True),
    Key("confidence_level", number(0, 1, expected="a number between 0 and 1 (exclusive)")),
    Key("description", text),
    Key("analysis", mapping(_ANALYSIS, AnalysisSettings), default=AnalysisSettings()),
    Rule("analysis.noninferiority_margin", _margin_needs_guardrails),
    Rule("analysis.sequential", _sequential_needs_two_sided),
    Rule("analysis.sequential", _sequential_not_for_quantiles),
    Key("dimensions", _dimensions),
    Key("max_dimension_values", whole_number(1)),
    Key("plan", _plan),
)


# The document: lists of entries, each with an id of its own.


@dataclass(frozen=True)
class _Kind:
    """A kind of top-level entry.

    Attributes:
        table: The table for an entry, given its raw mapping.
        build: The entry's dataclass.
        duplicate: The error for an id already taken, with ``{}`` for the id.
        reserved: Ids taken from the start.
    """

    table: Callable[[Any], Table]
    build: Callable[..., Any]
    duplicate: str
    reserved: tuple[str, ...] = ()


def _entries(at: Location, items: list[Any], kind: _Kind) -> dict[str, Any]:
    """The entries of a top-level list, by id."""
    entries: dict[str, Any] = {}
    for index, raw in enumerate(items):
        at_entry = at.entry_item(index, raw)
        item = kind.build(**walk(kind.table(raw), at_entry, raw))
        if item.id in entries or item.id in kind.reserved:
            raise at_entry.sub("id").error(kind.duplicate.format(item.id))
        entries[item.id] = item
    return entries


def _event_sources(at: Location, value: Any) -> dict[str, EventSource]:
    sources = value or []  # none, also when the key is given empty
    if not isinstance(sources, list):
        raise at.error("must be a list of event sources")
    return _entries(at, sources, _EVENT_SOURCES)


def _metrics(at: Location, value: Any) -> dict[str, Metric]:
    metrics = _entries(at, non_empty_list(at, value), _METRICS)
    for index, metric in enumerate(metrics.values()):
        if metric.is_ratio:
            _check_ratio(at.entry_item(index, {"id": metric.id}), metric, metrics)
            _check_quantile_not_a_component(
                at.entry_item(index, {"id": metric.id}), metric, metrics
            )
    return metrics


def _experiments(at: Location, value: Any) -> tuple[Experiment, ...]:
    return tuple(_entries(at, non_empty_list(at, value), _EXPERIMENTS).values())


_EVENT_SOURCES = _Kind(
    lambda raw: _EVENT_SOURCE,
    EventSource,
    "'{}' is already an event source",
    reserved=(DEFAULT_EVENT_SOURCE,),
)
_METRICS = _Kind(_metric_table, Metric, "duplicate metric id '{}'")
_EXPERIMENTS = _Kind(lambda raw: _EXPERIMENT, Experiment, "duplicate experiment id '{}'")
#: Metrics refer to the event sources, experiments to the metrics: parsed in this order.
_DOCUMENT = Table(
    Key("event_sources", _event_sources),
    Key("metrics", _metrics, required=True),
    Key("experiments", _experiments, required=True),
)
