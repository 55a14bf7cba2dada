"""The preflight: check that the warehouse holds what the config asks for.

It runs before `xp run` builds or `xp analyze` replaces anything, and says what is wrong in
one line per finding.

It checks that the source tables exist and are not empty; that the columns the config uses
(the input contract's, the dimensions, the filter columns, each event source's mapped
columns) exist, with numbers where values are summed and timestamps (or text the staging casts
read) where times are; that each configured experiment has exposures (else "not started", a
warning, or, when an id in the data is close to it, an error that asks "did you mean ...?");
and that the data holds no variants the config does not list.

The facts come from one dbt macro run through the adapter (macros/xp_preflight.sql), so the
same check works on every engine and finds the tables exactly where dbt's sources point. It
reads metadata, the first :data:`SAMPLE_ROWS` rows of each table, and one group-by over two
columns of the assignments: never the whole events table. The judgement is here, in Python.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from analysis_py.config import (
    DEFAULT_EVENT_SOURCE,
    EventSource,
    Experiment,
    ExperimentConfig,
    Metric,
)
from analysis_py.warehouse.bridge import DbtTarget
from analysis_py.warehouse.dbt import DbtBuildError, run_dbt

#: Rows read from the start of each table to check that text parses as numbers or times.
SAMPLE_ROWS = 10_000
#: The marker of the macro's log line that carries the facts as JSON.
MARKER = "XP_PREFLIGHT "

Level = Literal["error", "warning"]
Kind = Literal["any", "number", "time"]


class PreflightError(RuntimeError):
    """The warehouse does not hold what the config needs.

    The message is the first finding: one line naming table, column, value or experiment.
    """


class PreflightUnavailable(PreflightError):
    """The preflight's queries could not run; the message says why.

    No connection, memory or permissions, for example.
    """


@dataclass(frozen=True)
class Finding:
    """One thing the preflight found: an error stops the run, a warning is shown.

    Attributes:
        level: error or warning.
        message: One line naming the table, column, value or experiment.
    """

    level: Level
    message: str


@dataclass(frozen=True)
class ColumnSpec:
    """A column the config reads from a table.

    Attributes:
        name: The column's name.
        kind: What it must hold: anything, a number, or a time.
        purpose: Why the config needs it, for the message.
    """

    name: str
    kind: Kind
    purpose: str


@dataclass(frozen=True)
class TableSpec:
    """A source table the config reads, as dbt's source(source_name, table_name)."""

    role: str  # 'assignments', 'events' or an event source id
    source_name: str
    table_name: str
    columns: tuple[ColumnSpec, ...]
    must_have_rows: bool  # empty is an error (else a warning)
    has_exposures: bool = False

    def as_args(self) -> dict[str, Any]:
        """The table as the preflight macro's argument."""
        return {
            "role": self.role,
            "source_name": self.source_name,
            "table_name": self.table_name,
            "exposures": self.has_exposures,
            "columns": {c.name: c.kind for c in self.columns},
        }


#: The input contract (models/staging/_staging__sources.yml): column -> what it must hold.
ASSIGNMENT_COLUMNS: dict[str, Kind] = {
    "subject_id": "any",
    "experiment_id": "any",
    "variant_id": "any",
    "assigned_at": "time",
}
EVENT_COLUMNS: dict[str, Kind] = {
    "subject_id": "any",
    "event_name": "any",
    "event_at": "time",
    "value": "number",
}
SOURCE_NAME = "experimentation"


def table_specs(config: ExperimentConfig) -> list[TableSpec]:
    """The tables and columns ``config`` reads."""
    used_metrics = {
        c
        for e in config.experiments
        for m in config.computed_metrics(e)
        for c in config.metrics[m].components
    }
    metrics = [config.metrics[m] for m in config.metrics if m in used_metrics]
    sources_in_use = {m.source for m in metrics}
    events = [ColumnSpec(name, kind, "input contract") for name, kind in EVENT_COLUMNS.items()]
    events += _filter_columns(metrics, DEFAULT_EVENT_SOURCE, set(EVENT_COLUMNS))
    specs = [
        TableSpec(
            "assignments",
            SOURCE_NAME,
            "assignments",
            _assignment_columns(config),
            must_have_rows=True,
            has_exposures=True,
        ),
        # stg_experimentation__events reads the events table even when no metric does.
        TableSpec(
            "events",
            SOURCE_NAME,
            "events",
            tuple(events),
            must_have_rows=DEFAULT_EVENT_SOURCE in sources_in_use,
        ),
    ]
    specs += [
        _event_source_spec(source, metrics)
        for source in config.event_sources.values()
        if source.id in sources_in_use
    ]
    return specs


def _assignment_columns(config: ExperimentConfig) -> tuple[ColumnSpec, ...]:
    """The input contract's assignment columns, and every experiment's dimensions."""
    columns = [
        ColumnSpec(name, kind, "input contract") for name, kind in ASSIGNMENT_COLUMNS.items()
    ]
    for experiment in config.experiments:
        for dimension in experiment.dimensions:
            if dimension not in {c.name for c in columns}:
                columns.append(
                    ColumnSpec(dimension, "any", f"dimension of experiment '{experiment.id}'")
                )
    return tuple(columns)


def _filter_columns(metrics: list[Metric], source_id: str, taken: set[str]) -> list[ColumnSpec]:
    """The columns the filters of the metrics on this event source read, but those taken."""
    columns = []
    for metric in metrics:
        for condition in metric.filters if metric.source == source_id else ():
            if condition.column not in taken:
                taken.add(condition.column)
                columns.append(
                    ColumnSpec(condition.column, "any", f"filter of metric '{metric.id}'")
                )
    return columns


def _event_source_spec(source: EventSource, metrics: list[Metric]) -> TableSpec:
    """The table of a configured event source: its mapped columns and filter columns."""
    mapped: list[tuple[str | None, Kind, str]] = [
        (source.subject_id_column, "any", "subject_id_column"),
        (source.timestamp_column, "time", "timestamp_column"),
        (source.value_column, "number", "value_column"),
        (source.event_name_column, "any", "event_name_column"),
    ]
    columns = [
        ColumnSpec(name, kind, f"{key} of event source '{source.id}'")
        for name, kind, key in mapped
        if name
    ]
    columns += _filter_columns(metrics, source.id, {c.name for c in columns})
    return TableSpec(
        source.id, source.source_name, source.table_name, tuple(columns), must_have_rows=False
    )


def gather(target: DbtTarget, config: ExperimentConfig, specs: list[TableSpec]) -> dict[str, Any]:
    """Run the preflight macro through dbt and return its facts.

    Raises:
        PreflightUnavailable: dbt could not run the macro, or it reported nothing.
    """
    captured: list[str] = []

    def capture(event: Any) -> None:
        message = getattr(getattr(event, "data", None), "msg", None)
        if isinstance(message, str) and message.startswith(MARKER):
            captured.append(message[len(MARKER) :])

    arguments = {"tables": [spec.as_args() for spec in specs], "sample_rows": SAMPLE_ROWS}
    try:
        run_dbt(
            "run-operation",
            target,
            config,
            ["experiment_analysis.xp_preflight", "--quiet", "--args", json.dumps(arguments)],
            callbacks=[capture],
        )
    except DbtBuildError as error:
        raise PreflightUnavailable(
            str(error).replace("dbt run-operation failed", "the preflight's queries failed", 1)
        ) from None
    if not captured:
        raise PreflightUnavailable(
            "the preflight macro reported nothing: is "
            "macros/xp_preflight.sql of this release in the project?"
        )
    return json.loads(captured[-1])


def judge(
    facts: dict[str, Any],
    config: ExperimentConfig,
    specs: list[TableSpec],
    *,
    seeds_pending: bool = False,
) -> list[Finding]:
    """Judge the macro's facts about the tables of ``specs``.

    Args:
        facts: What the preflight macro reported, one entry per spec.
        config: The experiment config.
        specs: The tables the config reads (:func:`table_specs`).
        seeds_pending: A `dbt build` is about to load the demo seeds, so missing demo
            tables are expected.

    Returns:
        The findings, errors first.
    """
    findings: list[Finding] = []
    demo = bool(facts.get("demo_data"))
    for spec, table in zip(specs, facts["tables"], strict=True):
        if seeds_pending and demo and spec.source_name == SOURCE_NAME and not table["exists"]:
            continue
        findings += _table_findings(spec, table)
        if spec.has_exposures and "exposures" in table:
            findings += _experiment_findings(config, table["relation"], table["exposures"])
    return sorted(findings, key=lambda f: f.level != "error")


def preflight(
    target: DbtTarget, config: ExperimentConfig, *, seeds_pending: bool = False
) -> list[Finding]:
    """Check that the warehouse of ``target`` holds what ``config`` reads.

    Args:
        target: The dbt target whose sources are checked.
        config: The experiment config.
        seeds_pending: A `dbt build` is about to load the demo seeds (see :func:`judge`).

    Returns:
        The findings, errors first.

    Raises:
        PreflightUnavailable: The preflight's queries could not run.
    """
    specs = table_specs(config)
    return judge(gather(target, config, specs), config, specs, seeds_pending=seeds_pending)


def raise_for_errors(findings: Iterable[Finding]) -> list[Finding]:
    """Raise :class:`PreflightError` for the first error, or return the warnings.

    The error's message says how many more errors there are.
    """
    findings = list(findings)
    errors = [f.message for f in findings if f.level == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more: `xp validate` lists them)" if len(errors) > 1 else ""
        raise PreflightError(errors[0] + more)
    return [f for f in findings if f.level == "warning"]


def _where(spec: TableSpec, table: dict[str, Any]) -> str:
    """The table as a message names it."""
    if spec.source_name == SOURCE_NAME:
        return f"the {spec.role} table {table.get('relation', '')}".rstrip()
    return f"event source '{spec.role}' ({table.get('relation') or table['source']})"


def _table_findings(spec: TableSpec, table: dict[str, Any]) -> list[Finding]:
    """The findings about one table.

    Undeclared or missing, else its columns, its unreadable values and its emptiness.
    """
    if not table["declared"]:
        return [
            Finding(
                "error",
                f"event source '{spec.role}': dbt source {table['source']} is not "
                "declared in the dbt project (or is disabled)",
            )
        ]
    where = _where(spec, table)
    if not table["exists"]:
        hint = (
            f": set the vars xp_source_schema and xp_{spec.role}_table to your table "
            "(README, Use your own data)"
            if spec.source_name == SOURCE_NAME
            else ""
        )
        return [Finding("error", f"{where} does not exist{hint}")]
    findings = [
        Finding("error", message)
        for column in spec.columns
        if (message := _column_problem(column, table["columns"], where))
    ]
    findings += [
        Finding("error", _unreadable_message(table, unreadable))
        for unreadable in table.get("unreadable", [])
        if unreadable["count"]
    ]
    if table.get("n_sampled_rows") == 0:
        findings.append(
            Finding(
                "error" if spec.must_have_rows else "warning",
                f"{where} is empty"
                + (
                    ": a run now would replace the results with empty ones"
                    if spec.must_have_rows
                    else ""
                ),
            )
        )
    return findings


def _column_problem(column: ColumnSpec, columns: dict[str, Any], where: str) -> str:
    """Why the table's column cannot serve as ``column`` ('' when it can)."""
    found = columns.get(column.name.lower())
    if found is None:
        names = ", ".join(c["name"] for c in columns.values())
        return f"{where} has no column '{column.name}' ({column.purpose}); its columns: {names}"
    if column.kind == "number" and not (found["is_number"] or found["is_string"]):
        return (
            f"{where}: column '{column.name}' is {found['dtype']}, not a number ({column.purpose})"
        )
    if column.kind == "time" and not (found["is_string"] or _is_time(found["dtype"])):
        return (
            f"{where}: column '{column.name}' is {found['dtype']}, not a timestamp "
            f"({column.purpose}); convert it in a view over the table (e.g. epoch seconds "
            "to a timestamp) and point the source at the view"
        )
    return ""


def _unreadable_message(table: dict[str, Any], unreadable: dict[str, Any]) -> str:
    """A text column's values that the staging casts cannot read, as one line.

    Worded as the staging model's own error, should a value slip past the sample.
    """
    what = (
        "a number"
        if unreadable["kind"] == "number"
        else "an ISO 8601 timestamp ('YYYY-MM-DD HH:MM:SS', optionally with Z or +HH:MM)"
    )
    n_read = table["n_sampled_rows"]
    read = f"its {n_read:,} rows" if n_read < table["sample_rows"] else f"its first {n_read:,} rows"
    return (
        f"{table['relation']}.{unreadable['column']} is not {what}: "
        f"'{unreadable['example']}' ({unreadable['count']:,} of {read})"
    )


def _is_time(dtype: str) -> bool:
    """Whether an engine's type name is a date or time type."""
    dtype = dtype.lower()
    return "timestamp" in dtype or dtype in ("date", "datetime")


def _version_stem(experiment_id: str) -> str:
    """The id without version numbers.

    'checkout_v2' and 'checkout_v1' share a stem, so one is not taken for a misspelling of
    the other.
    """
    return re.sub(r"[_.-]?v?\d+", "", experiment_id.lower())


def _experiment_findings(
    config: ExperimentConfig, relation: str, exposures: list[list[Any]]
) -> list[Finding]:
    """The findings about each configured experiment's exposures in the assignments table.

    ``exposures`` holds rows of experiment_id, variant_id and their number of rows.
    """
    rows: dict[str, dict[str, int]] = {}
    for experiment_id, variant_id, n_rows in exposures:
        rows.setdefault(str(experiment_id), {})[str(variant_id)] = int(n_rows)
    findings = []
    for experiment in config.experiments:
        variants = rows.get(experiment.id)
        if variants is None:
            findings.append(_not_started(config, experiment, relation, rows))
        else:
            findings += _variant_findings(experiment, relation, variants)
    return findings


def _not_started(
    config: ExperimentConfig, experiment: Experiment, relation: str, rows: dict[str, dict[str, int]]
) -> Finding:
    """The finding about an experiment without exposures.

    An error when an id in the data that the config does not list is close to its id and
    shares a variant (a typo), else a warning that it has not started yet.
    """
    configured = {e.id for e in config.experiments}
    candidates = sorted(
        other
        for other, its_variants in rows.items()
        if other not in configured
        and _version_stem(other) != _version_stem(experiment.id)
        and set(its_variants) & set(experiment.variants)
    )
    close = difflib.get_close_matches(experiment.id, candidates, n=1, cutoff=0.8)
    if close:
        return Finding(
            "error",
            f"experiment '{experiment.id}' has no exposures in {relation}; "
            f"did you mean '{close[0]}'?",
        )
    return Finding(
        "warning", f"experiment '{experiment.id}' has no exposures in {relation} yet (not started)"
    )


def _variant_findings(
    experiment: Experiment, relation: str, variants: dict[str, int]
) -> list[Finding]:
    """Warnings for variants in the data but not in the config, and the other way round."""
    findings = [
        Finding(
            "warning",
            f"experiment '{experiment.id}': variant '{variant}' has "
            f"{n_rows:,} exposure row{'' if n_rows == 1 else 's'} in "
            f"{relation} but is not in the config; its subjects are left out",
        )
        for variant, n_rows in sorted(variants.items())
        if variant not in experiment.variants
    ]
    findings += [
        Finding(
            "warning",
            f"experiment '{experiment.id}': configured variant "
            f"'{variant}' has no exposures in {relation}",
        )
        for variant in experiment.variants
        if variant not in variants
    ]
    return findings
