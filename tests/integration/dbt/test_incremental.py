"""Incremental nightly runs equal a full rebuild, late events included.

A host project (as in test_dbt_package) reads raw tables we control. Night 1 runs with the
analysis time 2026-03-20 while some events of 03-18 and 03-19 have not landed yet; they
land before night 2 (03-27), within the 2-day late-data window. Night 3 (04-03) comes after
the last exposure (03-26), so it reads only the late-data days; some events of 04-01 and
04-02 land after it, before night 4 (04-10), which ends the experiments. The tables after
the four incremental nights must equal a full refresh at 04-10, which reads everything at
once.

The results over time are snapshots (docs/decisions/0015): each night adds its own day, a
full refresh keeps them, and a backfill replays every day. A night's snapshot equals the
backfill's day when no late data arrived after it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis_py.cli import main
from tests.conftest import DemoRun
from tests.integration.package.test_dbt_package import OUR_SCHEMA, make_host_project, query
from tests.tables import TABLE_KEYS, assert_tables_agree

pytestmark = pytest.mark.slow

LATE = (
    "hash(subject_id || cast(event_at as varchar)) % 3 = 0 and ("
    "event_at >= '2026-03-18' and event_at < '2026-03-20' or "
    "event_at >= '2026-04-01' and event_at < '2026-04-03')"
)
NIGHTS = ("2026-03-20T00:00", "2026-03-27T00:00", "2026-04-03T00:00", "2026-04-10T00:00")
DAILY = "fct_variant_metric_daily_statistics"
SUMS = ["n", "sum_y", "sum_y_squares", "sum_x", "sum_x_squares", "sum_xy", "sum_d", "sum_yd"]


def snapshot_days(host: Path) -> list[str]:
    days = query(
        host, f"select distinct cast(as_of_date as varchar) as day from {OUR_SCHEMA}.{DAILY}"
    )
    return sorted(days.day)


def snapshots_beside_the_backfill(host: Path, night: str) -> pd.DataFrame:
    """The stored snapshots beside a backfill's rows as of the same days.

    Only the metrics whose caps do not move; the backfill runs at ``night`` and writes only
    the days that changed, so each snapshot meets the backfill's last day up to its own.
    """
    uncapped = query(
        host,
        f"""
        select metrics.experiment_id, metrics.metric_id
        from {OUR_SCHEMA}.stg_config__experiment_metrics as metrics
        left join {OUR_SCHEMA}.stg_config__experiment_metrics as numerators
            on metrics.experiment_id = numerators.experiment_id
            and metrics.numerator_metric_id = numerators.metric_id
        left join {OUR_SCHEMA}.stg_config__experiment_metrics as denominators
            on metrics.experiment_id = denominators.experiment_id
            and metrics.denominator_metric_id = denominators.metric_id
        where coalesce(metrics.winsorize_upper, numerators.winsorize_upper,
                       denominators.winsorize_upper) is null""",
    )
    snapshots = query(host, f"select * from {OUR_SCHEMA}.{DAILY}").merge(uncapped)
    assert main(["backfill", "--project-dir", str(host), "--analysis-at", night]) == 0
    replayed = query(host, f"select * from {OUR_SCHEMA}.{DAILY}")
    assert len(set(replayed.as_of_date)) > len(set(snapshots.as_of_date))
    for frame in (snapshots, replayed):
        frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    return pd.merge_asof(
        snapshots.sort_values("as_of_date"),
        replayed.sort_values("as_of_date"),
        on="as_of_date",
        by=["experiment_id", "variant_id", "metric_id"],
        suffixes=("", "_replayed"),
    )


def snapshot_days_of(beside: pd.DataFrame) -> list[str]:
    return sorted({day.strftime("%Y-%m-%d") for day in beside.as_of_date})


def differs_from_the_backfill(beside: pd.DataFrame, day: str) -> bool:
    """Whether any sum of the snapshot of ``day`` differs from the backfill's (rtol 1e-9)."""
    rows = beside[beside.as_of_date == pd.Timestamp(day)]
    assert len(rows) > 20, day
    snapshot = rows[SUMS].to_numpy(dtype=float)
    replayed = rows[[f"{column}_replayed" for column in SUMS]].to_numpy(dtype=float)
    return not np.allclose(snapshot, replayed, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_incremental_nights_equal_a_full_refresh(tmp_path: Path, demo_run: DemoRun) -> None:
    host = make_host_project(tmp_path)
    database = host / "warehouse.duckdb"
    connection = duckdb.connect(str(database))
    connection.execute(
        f"create table raw.late_events as select * from raw.product_events where {LATE}"
    )
    n_late = connection.execute("select count(*) from raw.late_events").fetchone()[0]
    connection.execute(f"delete from raw.product_events where {LATE}")
    connection.close()
    assert n_late > 100

    assert main(["run", "--project-dir", str(host), "--analysis-at", NIGHTS[0]]) == 0
    connection = duckdb.connect(str(database))
    connection.execute(
        "insert into raw.product_events select * from raw.late_events where event_at < '2026-04-01'"
    )
    connection.close()
    recomputed_new_exposures_only, continued_sums, read_from = [], [], []
    for night in NIGHTS[1:]:
        if night == NIGHTS[-1]:  # the late events of 04-01 and 04-02 land
            connection = duckdb.connect(str(database))
            connection.execute(
                "insert into raw.product_events select * from raw.late_events "
                "where event_at >= '2026-04-01'"
            )
            connection.close()
        assert main(["run", "--project-dir", str(host), "--analysis-at", night]) == 0
        compiled = {
            path.name: path.read_text()
            for path in (host / "target" / "compiled").rglob("int_*.sql")
        }
        read_from.append(
            compiled["int_subject_metric_recent_days.sql"].split("event_at >= cast('")[1][:10]
        )
        recomputed_new_exposures_only.append(
            "subjects_with_new_exposures" in compiled["int_exposures_deduplicated.sql"]
        )
        continued_sums.append("continued_sums" in compiled["int_subject_metric_values.sql"])
    # Every night recomputed only the subjects with new exposures, and continued the other
    # subjects' sums from the recent days' changes.
    assert all(recomputed_new_exposures_only), recomputed_new_exposures_only
    assert all(continued_sums), continued_sums
    # The events each night read again: from the day the night before kept, its analysis
    # date (03-20, 03-27, 04-03) less the 2 late-data days.
    assert read_from == ["2026-03-18", "2026-03-25", "2026-04-01"], read_from
    # The recent days kept, one row per key: from 04-08 on, and before it only the rows the
    # last night wrote (the late events' days, 04-01 and 04-02, changed).
    recent = query(
        host,
        f"""
        select
            count(*) as n_rows,
            count(distinct (experiment_id, subject_key, metric_id, period, event_on)) as n_keys,
            count(*) filter (where event_on < '2026-04-08' and loaded_at < last_night)
                as n_settled_rows,
            count(*) filter (where event_on in ('2026-04-01', '2026-04-02')) as n_late_rows
        from (select *, max(loaded_at) over () as last_night
              from {OUR_SCHEMA}.int_subject_metric_recent_days)""",
    ).iloc[0]
    assert recent.n_rows == recent.n_keys and recent.n_settled_rows == 0, recent
    assert recent.n_late_rows > 100, recent

    tables = {
        table: query(host, f"select * from {OUR_SCHEMA}.{table}")
        for table in (
            "int_exposures_deduplicated",
            "int_subject_metric_values",
            "fct_subject_metrics",
            *TABLE_KEYS,
        )
        if not table.endswith("_history")
    }
    assert (
        main(["run", "--project-dir", str(host), "--analysis-at", NIGHTS[-1], "--full-refresh"])
        == 0
    )
    keys = {
        "int_exposures_deduplicated": ["experiment_id", "subject_id"],
        "int_subject_metric_values": ["experiment_id", "subject_key", "metric_id"],
        "fct_subject_metrics": ["experiment_id", "subject_id", "metric_id"],
        **TABLE_KEYS,
    }
    for table, incremental in tables.items():
        full = query(host, f"select * from {OUR_SCHEMA}.{table}")
        if table == "int_subject_metric_values":
            # A subject who turned multi-variant keeps its earlier rows in the incremental
            # run, marked not analysed; a full refresh has none. Analysed subjects agree.
            assert not incremental[~incremental.is_analysed].empty
            assert full.is_analysed.all()
            incremental = incremental[incremental.is_analysed]
        assert_tables_agree(full, incremental, keys[table], table)
    # And both equal the demo's own full run at the same analysis time.
    assert_tables_agree(
        demo_run.query("select * from experiment_results"),
        tables["experiment_results"],
        TABLE_KEYS["experiment_results"],
        "experiment_results",
        ignore=frozenset({"config_hash"}),
    )

    # Each night added its snapshot; the full refresh kept them (replacing its own day's).
    assert snapshot_days(host) == ["2026-03-19", "2026-03-26", "2026-04-02", "2026-04-09"]
    # The snapshots are what each night saw: those taken before late events landed differ
    # from a replay of all the data, the others equal it.
    beside = snapshots_beside_the_backfill(host, NIGHTS[-1])
    assert [differs_from_the_backfill(beside, day) for day in snapshot_days_of(beside)] == [
        True,
        False,
        True,
        False,
    ]


def test_nights_during_enrollment_keep_the_earlier_days(tmp_path: Path) -> None:
    """Nights during enrollment equal full refreshes.

    Nights while subjects are still being exposed, and none turns multi-variant (the
    demo's multi-variant subjects are removed): each night adds its snapshot of the
    statistics, which counts the subjects first exposed since, with or without events, and
    equals a backfill's day.
    """
    host = make_host_project(tmp_path)
    connection = duckdb.connect(str(host / "warehouse.duckdb"))
    connection.execute("""
        delete from raw.exposures where (experiment_id, subject_id) in (
            select experiment_id, subject_id from raw.exposures
            group by experiment_id, subject_id having count(distinct variant_id) > 1)""")
    connection.close()
    nights = ("2026-03-12T00:00", "2026-03-15T00:00", "2026-03-18T00:00")
    for night in nights:
        assert main(["run", "--project-dir", str(host), "--analysis-at", night]) == 0
    assert snapshot_days(host) == ["2026-03-11", "2026-03-14", "2026-03-17"]
    newly_exposed = query(
        host,
        f"""
        select count(*) as n from {OUR_SCHEMA}.int_exposures_deduplicated
        where first_exposed_at >= '2026-03-13'""",
    )
    assert newly_exposed.n[0] > 100

    daily = "fct_variant_metric_daily_statistics"
    incremental = query(host, f"select * from {OUR_SCHEMA}.{daily}")
    assert (
        main(["run", "--project-dir", str(host), "--analysis-at", nights[-1], "--full-refresh"])
        == 0
    )
    assert_tables_agree(
        query(host, f"select * from {OUR_SCHEMA}.{daily}"), incremental, TABLE_KEYS[daily], daily
    )
    # No late data: every night's snapshot equals the backfill's day.
    beside = snapshots_beside_the_backfill(host, nights[-1])
    assert not any(differs_from_the_backfill(beside, day) for day in snapshot_days_of(beside))


def test_a_changed_config_rebuilds_in_full(tmp_path: Path) -> None:
    host = make_host_project(tmp_path)
    assert main(["run", "--project-dir", str(host), "--analysis-at", NIGHTS[0]]) == 0
    config = host / "experiments.yml"
    config.write_text(config.read_text().replace("lookback_days: 14", "lookback_days: 7"))
    assert main(["run", "--project-dir", str(host), "--analysis-at", NIGHTS[0]]) == 0
    recent_days = f"{OUR_SCHEMA}.int_subject_metric_recent_days"
    loaded = query(host, f"select count(distinct loaded_at) as n from {recent_days}")
    assert loaded.n[0] == 1  # rebuilt, not appended to
