"""The preflight: before `xp run` builds or `xp analyze` replaces anything, check that the
warehouse holds what the config asks for, and say what is wrong in one line per finding.

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

from analysis_py.config import DEFAULT_EVENT_SOURCE, ExperimentConfig
from analysis_py.warehouse.dbt import DbtBuildError, run_dbt
from analysis_py.warehouse.profiles import DbtTarget

#: Rows read from the start of each table to check that text parses as numbers or times.
SAMPLE_ROWS = 10_000
#: The marker of the macro's log line that carries the facts as JSON.
MARKER = "XP_PREFLIGHT "

Level = Literal["error", "warning"]
Kind = Literal["any", "number", "time"]


class PreflightError(RuntimeError):
    """The warehouse does not hold what the config needs; the message is the first finding
    (one line naming table, column, value or experiment).
    """


class PreflightUnavailable(PreflightError):
    """The preflight's queries could not run (no connection, memory, permissions); the
    message says why.
    """


@dataclass(frozen=True)
class Finding:
    level: Level
    message: str


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    purpose: str  # why the config needs it, for the message


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

    assignments = [
        ColumnSpec(name, kind, "input contract") for name, kind in ASSIGNMENT_COLUMNS.items()
    ]
    for experiment in config.experiments:
        for dimension in experiment.dimensions:
            if dimension not in {c.name for c in assignments}:
                assignments.append(
                    ColumnSpec(dimension, "any", f"dimension of experiment '{experiment.id}'")
                )

    def filter_columns(source_id: str, taken: set[str]) -> list[ColumnSpec]:
        columns = []
        for metric in metrics:
            for condition in metric.filters if metric.source == source_id else ():
                if condition.column not in taken:
                    taken.add(condition.column)
                    columns.append(
                        ColumnSpec(condition.column, "any", f"filter of metric '{metric.id}'")
                    )
        return columns

    events = [ColumnSpec(name, kind, "input contract") for name, kind in EVENT_COLUMNS.items()]
    events += filter_columns(DEFAULT_EVENT_SOURCE, set(EVENT_COLUMNS))
    specs = [
        TableSpec(
            "assignments",
            SOURCE_NAME,
            "assignments",
            tuple(assignments),
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
    for source in config.event_sources.values():
        if source.id not in sources_in_use:
            continue
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
        columns += filter_columns(source.id, {c.name for c in columns})
        specs.append(
            TableSpec(
                source.id,
                source.source_name,
                source.table_name,
                tuple(columns),
                must_have_rows=False,
            )
        )
    return specs


def gather(
    target: DbtTarget,
    config: ExperimentConfig,
    specs: list[TableSpec],
    sample_rows: int = SAMPLE_ROWS,
) -> dict[str, Any]:
    """Run the preflight macro through dbt and return its facts."""
    captured: list[str] = []

    def capture(event: Any) -> None:
        message = getattr(getattr(event, "data", None), "msg", None)
        if isinstance(message, str) and message.startswith(MARKER):
            captured.append(message[len(MARKER) :])

    arguments = {"tables": [spec.as_args() for spec in specs], "sample_rows": sample_rows}
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
    seeds_pending: bool = False,
) -> list[Finding]:
    """The findings, errors first. ``seeds_pending``: a `dbt build` is about to load the
    demo seeds, so missing demo tables are expected.
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
    target: DbtTarget, config: ExperimentConfig, seeds_pending: bool = False
) -> list[Finding]:
    specs = table_specs(config)
    return judge(gather(target, config, specs), config, specs, seeds_pending)


def raise_for_errors(findings: Iterable[Finding]) -> list[Finding]:
    """Raise :class:`PreflightError` with the first error (and how many more); return the
    warnings.
    """
    findings = list(findings)
    errors = [f.message for f in findings if f.level == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more: `xp validate` lists them)" if len(errors) > 1 else ""
        raise PreflightError(errors[0] + more)
    return [f for f in findings if f.level == "warning"]


def _where(spec: TableSpec, table: dict[str, Any]) -> str:
    if spec.source_name == SOURCE_NAME:
        return f"the {spec.role} table {table.get('relation', '')}".rstrip()
    return f"event source '{spec.role}' ({table.get('relation') or table['source']})"


def _table_findings(spec: TableSpec, table: dict[str, Any]) -> list[Finding]:
    def error(message: str) -> Finding:
        return Finding("error", message)

    if not table["declared"]:
        return [
            error(
                f"event source '{spec.role}': dbt source {table['source']} is not "
                "declared in the dbt project (or is disabled)"
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
        return [error(f"{where} does not exist{hint}")]
    columns = table["columns"]
    findings = []
    names = ", ".join(c["name"] for c in columns.values())
    for column in spec.columns:
        found = columns.get(column.name.lower())
        if found is None:
            findings.append(
                error(
                    f"{where} has no column '{column.name}' ({column.purpose}); "
                    f"its columns: {names}"
                )
            )
        elif column.kind == "number" and not (found["is_number"] or found["is_string"]):
            findings.append(
                error(
                    f"{where}: column '{column.name}' is {found['dtype']}, not a "
                    f"number ({column.purpose})"
                )
            )
        elif column.kind == "time" and not (found["is_string"] or _is_time(found["dtype"])):
            findings.append(
                error(
                    f"{where}: column '{column.name}' is {found['dtype']}, not a timestamp "
                    f"({column.purpose}); convert it in a view over the table (e.g. epoch seconds "
                    "to a timestamp) and point the source at the view"
                )
            )
    for unreadable in table.get("unreadable", []):
        if unreadable["count"]:
            what = (
                "a number"
                if unreadable["kind"] == "number"
                else ("an ISO 8601 timestamp ('YYYY-MM-DD HH:MM:SS', optionally with Z or +HH:MM)")
            )
            n_read = table["n_sampled_rows"]
            read = (
                f"its {n_read:,} rows"
                if n_read < table["sample_rows"]
                else f"its first {n_read:,} rows"
            )
            # Worded as the staging model's own error, should a value slip past the sample.
            findings.append(
                error(
                    f"{table['relation']}.{unreadable['column']} is not {what}: "
                    f"'{unreadable['example']}' ({unreadable['count']:,} of {read})"
                )
            )
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


def _is_time(dtype: str) -> bool:
    dtype = dtype.lower()
    return "timestamp" in dtype or dtype in ("date", "datetime")


def _version_stem(experiment_id: str) -> str:
    """The id without version numbers: 'checkout_v2' and 'checkout_v1' share a stem, so one
    is not taken for a misspelling of the other.
    """
    return re.sub(r"[_.-]?v?\d+", "", experiment_id.lower())


def _experiment_findings(
    config: ExperimentConfig, relation: str, exposures: list[list[Any]]
) -> list[Finding]:
    rows: dict[str, dict[str, int]] = {}
    for experiment_id, variant_id, n_rows in exposures:
        rows.setdefault(str(experiment_id), {})[str(variant_id)] = int(n_rows)
    configured = {e.id for e in config.experiments}
    findings = []
    for experiment in config.experiments:
        variants = rows.get(experiment.id)
        if variants is None:
            candidates = sorted(
                other
                for other, its_variants in rows.items()
                if other not in configured
                and _version_stem(other) != _version_stem(experiment.id)
                and set(its_variants) & set(experiment.variants)
            )
            close = difflib.get_close_matches(experiment.id, candidates, n=1, cutoff=0.8)
            if close:
                findings.append(
                    Finding(
                        "error",
                        f"experiment '{experiment.id}' has no exposures in {relation}; "
                        f"did you mean '{close[0]}'?",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "warning",
                        f"experiment '{experiment.id}' has no exposures in {relation} "
                        "yet (not started)",
                    )
                )
            continue
        for variant, n_rows in sorted(variants.items()):
            if variant not in experiment.variants:
                findings.append(
                    Finding(
                        "warning",
                        f"experiment '{experiment.id}': variant '{variant}' has "
                        f"{n_rows:,} exposure row{'' if n_rows == 1 else 's'} in "
                        f"{relation} but is not in the config; its subjects are left "
                        "out",
                    )
                )
        for variant in experiment.variants:
            if variant not in variants:
                findings.append(
                    Finding(
                        "warning",
                        f"experiment '{experiment.id}': configured variant "
                        f"'{variant}' has no exposures in {relation}",
                    )
                )
    return findings
