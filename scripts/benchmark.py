"""Benchmark the pipeline against the engine's floor, on generated data at a chosen scale.

    python scripts/benchmark.py --events 10_000_000 --subjects 1_000_000 [--json FILE]

Prints, for one data set (5 experiments, 10 metrics = 5 event names × {sum, count},
14-day windows, 14-day pre-exposure covariates, ~10% duplicate exposure rows):

- the full pipeline: `xp run` in a fresh process on a throw-away host dbt project whose
  sources are the generated tables (dbt start-up with a warm parse cache, as on a night,
  models, tests and the analysis included);
- the floor, measured in the same run: one bare DuckDB query in a fresh process that reads
  the same events, joins them to first exposures and reduces them to per-variant sums; it
  runs three times (twice before the pipeline, once after) and every ratio uses the median,
  so that one noisy sample does not swing them all;
- their ratio, and each one's peak memory (max RSS of the process);
- the state floor: the floor's per-subject values (one row per subject, a column per metric
  and covariate) written to a table in a scratch file, then summed per variant: the least
  a pipeline that keeps per-subject state for its nights must do;
- incremental nights (NIGHTS): a fresh build at an analysis time, then `xp run` one day
  later, which reads only the recent events (macros/xp_incremental.sql); the night as a
  fraction of that full build, and the same ratio for dbt's own elapsed time (its models
  and tests, as dbt's "Finished running" line reports it: the part of a run that scales
  with the data);
- the node floors: dbt's elapsed time for the pipeline on 10,000 events of the same shape
  (a build, and the median of three nights after it), and for a project of as many models
  and data tests as the models' build, each `select 1`: what a build or a night costs
  before the data does, ours and dbt's own;
- the start-up floor: the least any run through dbt costs here. A fresh process imports
  what `xp run` imports, and dbt runs one view of the host project with its parse cache
  warm: no data is read, no test or analysis runs;
- peers on the same Parquet files, each in a fresh process (scripts/benchmark_peers.py): a
  pandas + statsmodels pipeline, and tea-tasting on a per-subject table built in DuckDB;
- the analysis step alone (reading the marts, the statistics, writing the result tables),
  in this process on the pipeline's warehouse;
- the Python step alone for 10,000 comparisons, from a synthetic mart: its first call in
  the process, as `xp run` makes it, and the median of five.

With --json FILE it also writes the figures as one JSON object (seconds and GB): floor_s,
startup_floor_s, pipeline_s, pipeline_dbt_s, analysis_s, night_after_s, night_after_dbt_s,
build_after_s, night_during_s, night_during_dbt_s, build_during_s, python_10k_s,
python_10k_first_s, floor_peak_gb, pipeline_peak_gb, events, subjects, floor_samples_s,
node_floor_build_dbt_s, node_floor_night_dbt_s, dbt_trivial_dag_s, dbt_nodes and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmark_peers import per_subject_aggregates  # noqa: E402
from generate_scale_data import EVENT_NAMES, generate  # noqa: E402

from analysis_py.config import parse_config  # noqa: E402
from analysis_py.marts import RATIO_SUM_COLUMNS
from analysis_py.pipeline.comparisons import analyze  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WINDOW_DAYS = 14
LOOKBACK_DAYS = 14
# The generated exposures run from day 30 to day 44 after 2026-01-01 (+3 days for duplicate
# rows); windows end by day 61. Two nights, each after a fresh full build the day before:
# one while subjects are still being exposed (it re-reads their 14-day lookback), one after
# the last exposure, in the middle of the windows (it re-reads only the late-data days).
NIGHTS = {
    "during enrollment": ("2026-02-10T00:00", "2026-02-11T00:00"),
    "after enrollment": ("2026-02-20T00:00", "2026-02-21T00:00"),
}


def benchmark_config(experiments: int) -> dict:
    metrics = [
        {
            "id": f"{name}_{aggregation}",
            "event_name": name,
            "aggregation": aggregation,
            "window": {"start_day": 0, "end_day": WINDOW_DAYS},
        }
        for name in EVENT_NAMES
        for aggregation in ("sum", "count")
    ]
    return {
        "metrics": metrics,
        "experiments": [
            {
                "id": f"exp_{i}",
                "variants": ["control", "treatment"],
                "control": "control",
                "traffic": {"control": 0.5, "treatment": 0.5},
                "metrics": [m["id"] for m in metrics],
                "lookback_days": LOOKBACK_DAYS,
            }
            for i in range(experiments)
        ],
    }


def make_host_project(work: Path, data: Path, experiments: int) -> Path:
    host = work / "host"
    (host / "models").mkdir(parents=True, exist_ok=True)
    (host / "dbt_project.yml").write_text(
        textwrap.dedent("""\
        name: benchmark_host
        version: "1.0.0"
        config-version: 2
        profile: benchmark_host
        vars:
          experiment_analysis:
            xp_source_schema: raw
            xp_assignments_table: assignments
            xp_events_table: events
            xp_demo_data: false
        """)
    )
    (host / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    database = work / "warehouse.duckdb"
    (host / "profiles.yml").write_text(
        textwrap.dedent(f"""\
        benchmark_host:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{database}", schema: analytics, threads: 2,
                  settings: {{preserve_insertion_order: false}}}}
        """)
    )
    (host / "experiments.yml").write_text(yaml.safe_dump(benchmark_config(experiments)))
    if database.exists():
        database.unlink()
    connection = duckdb.connect(str(database))
    connection.execute("create schema raw")
    connection.execute(
        "create table raw.assignments as select * from read_parquet(?)",
        [str(data / "assignments.parquet")],
    )
    connection.execute(
        "create table raw.events as select * from read_parquet(?)", [str(data / "events.parquet")]
    )
    connection.close()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "deps",
            "--project-dir",
            str(host),
            "--profiles-dir",
            str(host),
        ],
        check=True,
        capture_output=True,
    )
    return host


# A fresh process that runs dbt on the host project with the vars `xp run` passes.
HOST_DBT = """
import sys
from pathlib import Path
from analysis_py.config import load_config
from analysis_py.warehouse.dbt import run_dbt
from analysis_py.warehouse.bridge import load_target
host = Path(sys.argv[1])
target, config = load_target(host), load_config(host / "experiments.yml")
"""
# `dbt parse`, so that dbt's parse cache is warm.
WARM_PARSE = HOST_DBT + 'run_dbt("parse", target, config)\n'
# The start-up floor: what `xp run` imports, then dbt on one view, its parse cache warm (the
# analysis time of the night before it, argv[2]: dbt re-parses what reads a changed one).
STARTUP_FLOOR = (
    HOST_DBT
    + """
from datetime import datetime
from analysis_py import cli  # what xp run imports, and the analysis stack as it imports it
importing = cli.import_in_background(cli.ANALYSIS_STACK)
run_dbt("run", target, config, ["--select", "stg_experimentation__events"],
        datetime.fromisoformat(sys.argv[2]))
importing.join()
# Leave as `xp` does (analysis_py.cli.console): exit handlers, no interpreter teardown.
import atexit, os
atexit._run_exitfuncs()
os._exit(0)
"""
)


# dbt's last line of a command: "Finished running ... in 0 hours 0 minutes and 9.87 seconds
# (9.87s)." `xp run` runs two dbt builds (the models, then the result tables): the first
# line is the models' build.
DBT_FINISHED = re.compile(r"Finished running .* \((\d+(?:\.\d+)?)s\)")


def dbt_elapsed(output: str) -> float:
    """Dbt's own elapsed time (models and tests) of the first build in `xp run`'s output."""
    found = DBT_FINISHED.search(output)
    if found is None:
        raise SystemExit(f"no 'Finished running' line from dbt in:\n{output[-3000:]}")
    return float(found.group(1))


def measured(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in GB, stdout) of a command run in a fresh process."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        stdout.seek(0)
        stderr.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{stderr.read()[-3000:]}")
        return wall, usage.ru_maxrss / 1024 / 1024, stdout.read()


# The per-subject values: first exposures, and each subject's events in its window and
# lookback, one column per metric.
PER_SUBJECT_QUERY = """
with first_exposures as (
    select experiment_id, subject_id, min(assigned_at) as exposed_at,
           min(variant_id) as variant_id
    from raw.assignments group by experiment_id, subject_id
    having count(distinct variant_id) = 1
)
select f.experiment_id, f.variant_id, f.subject_id,
       {aggregates}
from first_exposures f
left join raw.events e
    on e.subject_id = f.subject_id
    and e.event_at >= f.exposed_at - interval {lookback} day
    and e.event_at < f.exposed_at + interval {window} day
group by f.experiment_id, f.variant_id, f.subject_id
"""
VARIANT_SUMS_QUERY = """
select experiment_id, variant_id, count(*) as n, {sums}
from {per_subject} group by experiment_id, variant_id
"""
FLOOR_SCRIPT = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
    "c.execute('set threads = 2'); c.execute(sys.argv[2]).fetchall()"
)
# The state floor: the floor's per-subject values written to a table (in a scratch file, so
# the warehouse stays as it was), then the per-variant sums read from it.
STATE_FLOOR_SCRIPT = """
import duckdb, sys
warehouse, scratch, per_subject, variant_sums = sys.argv[1:]
c = duckdb.connect()
c.execute("set threads = 2")
c.execute("set preserve_insertion_order = false")
c.execute("attach '" + scratch.replace("'", "''") + "' as scratch")
c.execute("attach '" + warehouse.replace("'", "''") + "' as warehouse (read_only)")
c.execute("use warehouse")
c.execute("create or replace table scratch.main.per_subject as " + per_subject)
c.execute(variant_sums).fetchall()
"""


def per_subject_sql() -> str:
    return PER_SUBJECT_QUERY.format(
        aggregates=",\n       ".join(per_subject_aggregates()),
        lookback=LOOKBACK_DAYS,
        window=WINDOW_DAYS,
    )


def variant_sums_sql(per_subject: str) -> str:
    sums = []
    for name in EVENT_NAMES:
        for aggregation in ("count", "sum"):
            y, x = f"{name}_{aggregation}_y", f"{name}_{aggregation}_x"
            sums.append(f"sum({y}), sum({y}*{y}), sum({x}), sum({x}*{x}), sum({x}*{y})")
    return VARIANT_SUMS_QUERY.format(sums=", ".join(sums), per_subject=per_subject)


def floor_sql() -> str:
    return f"with per_subject as ({per_subject_sql()})\n{variant_sums_sql('per_subject')}"


def python_step_seconds(comparisons: int = 10_000) -> tuple[float, float]:
    """Wall times of analyze() on a synthetic mart with this many comparisons.

    Returns its first call in this process (as `xp run` makes it) and the median of five.
    """
    experiments = comparisons // 10
    config = parse_config(benchmark_config(experiments), "benchmark")
    rng = np.random.default_rng(0)
    rows = []
    for experiment in config.experiments:
        for variant in experiment.variants:
            for metric_id in experiment.metrics:
                n = 100_000
                mean_y, mean_x = rng.uniform(1, 3), rng.uniform(1, 3)
                rows.append(
                    (
                        experiment.id,
                        variant,
                        metric_id,
                        variant == "control",
                        0.5,
                        n,
                        n * mean_y,
                        n * (mean_y**2 + 4),
                        n * mean_x,
                        n * (mean_x**2 + 4),
                        n * (mean_x * mean_y + 2),
                        n // 2,
                        0,
                        0,
                        config.hash,
                    )
                )
    mart = pd.DataFrame(
        rows,
        columns=[
            "experiment_id",
            "variant_id",
            "metric_id",
            "is_control",
            "expected_share",
            "n",
            "sum_y",
            "sum_y_squares",
            "sum_x",
            "sum_x_squares",
            "sum_xy",
            "n_with_pre_exposure_events",
            "n_multi_variant_subjects",
            "n_unknown_variant_subjects",
            "config_hash",
        ],
    )
    for column in RATIO_SUM_COLUMNS:  # no ratio metrics here
        mart[column] = np.nan
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        analyze(mart, config, "benchmark", datetime(2026, 1, 1))
        timings.append(time.perf_counter() - start)
    return timings[0], statistics.median(timings)


# The analysis step alone, in a fresh process on the warehouse the pipeline run left: one
# untimed call imports what the step needs (`xp run` has imported it before it reaches the
# step), then one timed call reads the marts, analyses them and writes the result tables.
ANALYSIS_STEP = (
    HOST_DBT
    + """
import time
from datetime import datetime
from analysis_py.run import run_analysis
run_analysis(target, config, warn=lambda _: None)  # at the time the marts were built for
start = time.perf_counter()
run_analysis(target, config, warn=lambda _: None)
print(time.perf_counter() - start)
"""
)


def analysis_step_seconds(host: Path, env: dict) -> float:
    """Wall time of the analysis step alone (read the marts, analyse, write the results)."""
    return float(measured([sys.executable, "-c", ANALYSIS_STEP, str(host)], env)[2].split()[-1])


# The node floors: what dbt's elapsed time costs before the data does. The pipeline itself
# on a tiny data set of the same shape (NODE_FLOOR_EVENTS events, the same experiments,
# metrics and days): a build, then nights. And dbt alone on a project of as many models and
# data tests as the models' build, each model `select 1` and each test a not_null: dbt's
# own cost per node, whatever the SQL.
NODE_FLOOR_EVENTS, NODE_FLOOR_SUBJECTS = 10_000, 1_000
NODE_FLOOR_NIGHTS = ("2026-02-21T00:00", "2026-02-22T00:00", "2026-02-23T00:00")
# dbt's count of the nodes it ran: "Finished running 3 incremental models, 3 table models,
# 24 data tests, 8 view models in ...".
DBT_NODE_COUNT = re.compile(r"(\d+) (incremental|table|view) models?|(\d+) data tests?")


def node_floors(work: Path, experiments: int, env: dict) -> dict:
    """The dbt elapsed times of the pipeline on a tiny data set, and of a trivial project.

    Returns node_floor_build_dbt_s (a build at 02-20 on a fresh warehouse),
    node_floor_night_dbt_s (median of the three nights after it), dbt_trivial_dag_s (median
    of three builds of a project with the models build's node counts; the first creates its
    incremental tables) and dbt_nodes (those counts).
    """
    data = work / f"data-{NODE_FLOOR_EVENTS}-{NODE_FLOOR_SUBJECTS}"
    if not (data / "counts.json").exists():
        (data / "counts.json").write_text(
            json.dumps(generate(data, NODE_FLOOR_EVENTS, NODE_FLOOR_SUBJECTS, experiments))
        )
    host = make_host_project(work / "node-floor", data, experiments)
    subprocess.run(
        [sys.executable, "-c", WARM_PARSE, str(host)], env=env, check=True, capture_output=True
    )
    xp = str(Path(sys.executable).parent / "xp")
    _, _, output = measured(
        [xp, "run", "--project-dir", str(host), "--analysis-at", NIGHTS["after enrollment"][0]],
        env,
    )
    build_dbt = dbt_elapsed(output)
    counts = node_counts(output)
    nights = [
        dbt_elapsed(measured([xp, "run", "--project-dir", str(host), "--analysis-at", at], env)[2])
        for at in NODE_FLOOR_NIGHTS
    ]
    return {
        "node_floor_build_dbt_s": build_dbt,
        "node_floor_night_dbt_s": statistics.median(nights),
        "dbt_trivial_dag_s": trivial_dag_seconds(counts, env),
        "dbt_nodes": counts,
    }


def node_counts(output: str) -> dict[str, int]:
    """The models (by materialization) and data tests of the first build in `xp run`'s output."""
    line = DBT_FINISHED.search(output)
    assert line is not None, "no dbt build in the output"
    counts = {"incremental": 0, "table": 0, "view": 0, "test": 0}
    for models, kind, tests in DBT_NODE_COUNT.findall(line.group(0)):
        if tests:
            counts["test"] = int(tests)
        else:
            counts[kind] = int(models)
    return counts


def trivial_dag_seconds(counts: dict[str, int], env: dict) -> float:
    """The dbt elapsed time of a chain of `select 1` models and not_null tests, ``counts``."""
    kinds = [kind for kind in ("view", "incremental", "table") for _ in range(counts[kind])]
    with tempfile.TemporaryDirectory() as directory:
        project = Path(directory)
        (project / "models").mkdir()
        (project / "dbt_project.yml").write_text(
            'name: trivial\nversion: "1.0.0"\nconfig-version: 2\nprofile: trivial\n'
        )
        (project / "profiles.yml").write_text(
            "trivial:\n  target: dev\n  outputs:\n    dev: {type: duckdb, threads: 2, "
            f"path: '{project / 'warehouse.duckdb'}'}}\n"
        )
        schema = ["version: 2", "models:"]
        for index, kind in enumerate(kinds):
            parent = f"{{{{ ref('m{index - 1}') }}}}"
            source = "select 1 as a" if index == 0 else f"select a from {parent}"
            (project / "models" / f"m{index}.sql").write_text(
                f"{{{{ config(materialized='{kind}') }}}}\n{source}\n"
            )
            tests = [t for t in range(counts["test"]) if t % len(kinds) == index]
            schema.append(f"  - name: m{index}")
            if tests:
                schema.append("    columns:\n      - name: a\n        data_tests:")
                schema.extend(f"          - not_null:\n              name: t{t}" for t in tests)
        (project / "models" / "schema.yml").write_text("\n".join(schema) + "\n")
        dbt = str(Path(sys.executable).parent / "dbt")
        build = [dbt, "build", "--project-dir", str(project), "--profiles-dir", str(project)]
        return statistics.median(dbt_elapsed(measured(build, env)[2]) for _ in range(3))


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GB, DuckDB {duckdb.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--experiments", type=int, default=5)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/xp-benchmark"))
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--scale-only",
        action="store_true",
        help="only the floor, the state floor and the pipeline (no nights, start-up floor or "
        "peers): for sizes where pandas runs out of memory and nights double the hours",
    )
    args = parser.parse_args()

    data = args.work_dir / f"data-{args.events}-{args.subjects}"
    counts = (
        json.loads((data / "counts.json").read_text())
        if (data / "counts.json").exists()
        else generate(data, args.events, args.subjects, args.experiments)
    )
    (data / "counts.json").write_text(json.dumps(counts))
    host = make_host_project(args.work_dir, data, args.experiments)
    database = args.work_dir / "warehouse.duckdb"

    env = {**os.environ, "DO_NOT_TRACK": "1"}
    floor_command = [sys.executable, "-c", FLOOR_SCRIPT, str(database), floor_sql()]
    floor_samples = [measured(floor_command, env)[:2] for _ in range(2)]
    scratch = args.work_dir / "state-floor.duckdb"
    state_floor_wall, _, _ = measured(
        [
            sys.executable,
            "-c",
            STATE_FLOOR_SCRIPT,
            str(database),
            str(scratch),
            per_subject_sql(),
            variant_sums_sql("scratch.main.per_subject"),
        ],
        env,
    )
    scratch.unlink()
    xp = str(Path(sys.executable).parent / "xp")
    # A nightly run finds dbt's parse cache warm (same code, config and profile); a run after
    # any change parses the whole project first. Measure the steady state.
    subprocess.run(
        [sys.executable, "-c", WARM_PARSE, str(host)], env=env, check=True, capture_output=True
    )
    pipeline_wall, pipeline_memory, output = measured([xp, "run", "--project-dir", str(host)], env)
    pipeline_dbt = dbt_elapsed(output)
    analysis_wall = analysis_step_seconds(host, env)
    floor_samples.append(measured(floor_command, env)[:2])
    nights = {}
    for name, (before, night) in {} if args.scale_only else NIGHTS.items():
        make_host_project(args.work_dir, data, args.experiments)  # a fresh warehouse
        before_wall, _, output = measured(
            [xp, "run", "--project-dir", str(host), "--analysis-at", before], env
        )
        before_dbt = dbt_elapsed(output)
        night_wall, night_memory, output = measured(
            [xp, "run", "--project-dir", str(host), "--analysis-at", night], env
        )
        nights[name] = (before_wall, before_dbt, night_wall, dbt_elapsed(output), night_memory)
    figures = {
        "floor_s": statistics.median(wall for wall, _ in floor_samples),
        "pipeline_s": pipeline_wall,
        "pipeline_dbt_s": pipeline_dbt,
        "analysis_s": analysis_wall,
        "floor_peak_gb": max(memory for _, memory in floor_samples),
        "pipeline_peak_gb": pipeline_memory,
        "state_floor_s": state_floor_wall,
        "events": counts["events"],
        "subjects": counts["subjects"],
        "floor_samples_s": [wall for wall, _ in floor_samples],
        "machine": machine(),
    }
    if args.scale_only:
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures, indent=2))
        return
    # Before the peers, whose memory (pandas: 11 GB at 50M) evicts dbt's files from the cache.
    figures.update(node_floors(args.work_dir, args.experiments, env))
    # After the last night, with its analysis time: dbt's parse cache is as that night left it.
    startup_wall, _, _ = measured(
        [sys.executable, "-c", STARTUP_FLOOR, str(host), list(NIGHTS.values())[-1][1]], env
    )
    peers = {
        path: measured(
            [sys.executable, str(REPO / "scripts" / "benchmark_peers.py"), path, str(data)], env
        )[:2]
        for path in ("tea-tasting", "pandas")
    }
    python_seconds = python_step_seconds()
    after, during = nights["after enrollment"], nights["during enrollment"]
    figures.update(
        {
            "startup_floor_s": startup_wall,
            "night_after_s": after[2],
            "night_after_dbt_s": after[3],
            "build_after_s": after[0],
            "build_after_dbt_s": after[1],
            "night_during_s": during[2],
            "night_during_dbt_s": during[3],
            "build_during_s": during[0],
            "build_during_dbt_s": during[1],
            "python_10k_s": python_seconds[1],
            "python_10k_first_s": python_seconds[0],
        }
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print_table(figures, counts, nights, peers)


def print_table(figures: dict, counts: dict, nights: dict, peers: dict) -> None:
    """The figures as a Markdown table, ratios against the floor of the same run."""
    floor_wall = figures["floor_s"]
    print(f"machine: {figures['machine']}")
    print(
        f"data: {counts['events']:,} events, {counts['subjects']:,} subjects, "
        f"{counts['assignment_rows']:,} assignment rows, {counts['experiments']} experiments, "
        f"10 metrics\n"
    )
    print("| path | wall time | peak memory |\n|---|---|---|")
    print(
        f"| floor: one DuckDB query (first exposures, join, per-variant sums), median of "
        f"{len(figures['floor_samples_s'])} | {floor_wall:.1f} s | "
        f"{figures['floor_peak_gb']:.2f} GB |"
    )
    print(
        f"| pipeline: `xp run` (dbt build with tests, analysis, write-back) | "
        f"{figures['pipeline_s']:.1f} s | {figures['pipeline_peak_gb']:.2f} GB |"
    )
    print(f"| ratio pipeline / floor | {figures['pipeline_s'] / floor_wall:.2f}× | |")
    print(
        f"| pipeline: dbt's elapsed (models and tests) + the analysis step, against the floor | "
        f"{figures['pipeline_dbt_s']:.1f} s + {figures['analysis_s']:.2f} s "
        f"({(figures['pipeline_dbt_s'] + figures['analysis_s']) / floor_wall:.2f}× floor) | |"
    )
    print(
        f"| state floor: the floor's per-subject values written to a table, then summed | "
        f"{figures['state_floor_s']:.1f} s ({figures['state_floor_s'] / floor_wall:.2f}× floor) | |"
    )
    print(
        f"| start-up floor: `xp run`'s imports and dbt on one view, no data read | "
        f"{figures['startup_floor_s']:.1f} s "
        f"({figures['startup_floor_s'] / floor_wall:.2f}× floor) | |"
    )
    for name, (before, night) in NIGHTS.items():
        before_wall, before_dbt, night_wall, night_dbt, night_memory = nights[name]
        print(
            f"| {name}: full build at {before} (fresh warehouse) | {before_wall:.1f} s "
            f"(dbt {before_dbt:.1f} s) | |"
        )
        print(
            f"| {name}: incremental night at {night} | {night_wall:.1f} s "
            f"(dbt {night_dbt:.1f} s) | {night_memory:.2f} GB |"
        )
        print(
            f"| {name}: ratio night / full build | {night_wall / before_wall:.0%} "
            f"(dbt's elapsed: {night_dbt / before_dbt:.0%}) | |"
        )
        print(
            f"| {name}: night against the floor | {night_wall / floor_wall:.2f}× "
            f"(dbt's elapsed: {night_dbt / floor_wall:.2f}×) | |"
        )
    print(
        f"| node floor: `xp run` on {NODE_FLOOR_EVENTS:,} events, dbt's elapsed: build / "
        f"median of 3 nights | {figures['node_floor_build_dbt_s']:.2f} s "
        f"({figures['node_floor_build_dbt_s'] / floor_wall:.2f}× floor) / "
        f"{figures['node_floor_night_dbt_s']:.2f} s "
        f"({figures['node_floor_night_dbt_s'] / floor_wall:.2f}× floor) | |"
    )
    nodes = figures["dbt_nodes"]
    print(
        f"| dbt alone: {nodes['view']} views, {nodes['table']} tables, "
        f"{nodes['incremental']} incremental models and {nodes['test']} not_null tests of "
        f"`select 1`, dbt's elapsed (median of 3) | {figures['dbt_trivial_dag_s']:.2f} s "
        f"({figures['dbt_trivial_dag_s'] / floor_wall:.2f}× floor) | |"
    )
    for path, label in (
        ("tea-tasting", "tea-tasting on a per-subject table built in DuckDB"),
        ("pandas", "pandas merge/groupby + statsmodels OLS"),
    ):
        wall, memory = peers[path]
        print(
            f"| peer: {label} | {wall:.1f} s ({wall / floor_wall:.2f}× floor) | {memory:.2f} GB |"
        )
    print(
        f"| Python step alone, 10,000 comparisons: first call / median of 5 | "
        f"{figures['python_10k_first_s']:.3f} s / {figures['python_10k_s']:.3f} s | |"
    )


if __name__ == "__main__":
    main()
