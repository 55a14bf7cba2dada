"""On Spark, the event scan's literal time bounds prune a date-partitioned Parquet source.

Slow: starts a local Spark session. The events table is Parquet, partitioned by event_on,
one day a partition, from February to April; the experiment's phase runs 03-10 to 03-20
with a 2-day lookback and a 3-day window, so events count from 03-08 to 03-23 and the
partitions a day wider, 03-07 to 03-24. The compiled event scan (stg_experimentation__events)
must show that bound in the physical plan's PartitionFilters and read only those files.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from analysis_py.config import load_config
from tests.engines import require_spark
from tests.integration.dbt.test_phases import make_project

pytestmark = pytest.mark.slow

SCHEMA = "xp_pruning_test"
CONFIG = textwrap.dedent("""\
    metrics:
      - {id: revenue, event_name: purchase, aggregation: sum, window: {start_day: 0, end_day: 3}}
    experiments:
      - id: pruned
        variants: [control, treatment]
        control: control
        traffic: {control: 0.5, treatment: 0.5}
        start_at: 2026-03-10T00:00:00Z
        end_at: 2026-03-20T00:00:00Z
        metrics: [revenue]
        lookback_days: 2
    """)
FIRST_DAY, LAST_DAY = date(2026, 2, 1), date(2026, 4, 30)
IN_RANGE = {date(2026, 3, 7) + timedelta(days=i) for i in range(18)}  # 03-07 to 03-24


def test_spark_prunes_the_event_partitions_outside_the_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_spark()
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    project = make_project(tmp_path, CONFIG)
    # Session mode writes metastore_db/, derby.log and spark-warehouse/ into the working
    # directory: keep them in a temporary one.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XP_TARGET", "spark")
    monkeypatch.setenv("XP_SPARK_SCHEMA", SCHEMA)
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    spark = SparkSession.builder.enableHiveSupport().getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.sql(f"create schema if not exists {SCHEMA}")
    spark.sql(
        f"create table {SCHEMA}.events (subject_id string, event_name string, "
        "event_at timestamp, value double, event_on date) using parquet partitioned by (event_on)"
    )
    days = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
    values = ", ".join(
        f"('s{i}', 'purchase', timestamp'{day} 12:00:00', 1.0, date'{day}')"
        for i, day in enumerate(days)
    )
    spark.sql(f"insert into {SCHEMA}.events select * from (values {values})")
    every_file = spark.table(f"{SCHEMA}.events").inputFiles()
    assert len(_partition_days(every_file)) == len(days)

    variables = {**load_config(project / "experiments.yml").to_dbt_vars()}
    result = dbtRunner().invoke(
        [
            "compile",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--select",
            "stg_experimentation__events",
            "--vars",
            json.dumps(variables),
        ]
    )
    assert result.success, result.exception
    scan_sql = next(
        (project / "target" / "compiled").rglob("stg_experimentation__events.sql")
    ).read_text()

    plan = spark.sql(f"explain formatted {scan_sql}").collect()[0][0]
    partition_filters = [line for line in plan.splitlines() if "PartitionFilters" in line]
    assert partition_filters, plan
    assert re.search(r"event_on#\d+ >= 2026-03-07", partition_filters[0]), partition_filters
    assert re.search(r"event_on#\d+ <= 2026-03-24", partition_filters[0]), partition_filters

    scan = spark.sql(scan_sql)
    read = _partition_days(scan.inputFiles())
    assert read == IN_RANGE, sorted(read)
    # The bound on the event time itself keeps 03-08 to 03-22, one event a day.
    assert scan.count() == 15


def _partition_days(files: list[str]) -> set[date]:
    """The event_on partitions that the files belong to."""
    found = {re.search(r"event_on=(\d{4}-\d{2}-\d{2})", path) for path in files}
    assert None not in found, files
    return {date.fromisoformat(match.group(1)) for match in found if match}
