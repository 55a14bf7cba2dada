"""Prototype for issue 20's next step: the per-subject sums in one aggregation of the events.

    python scripts/prototype_one_aggregation.py /tmp/xp-benchmark/warehouse.duckdb

Times, back to back in one process on a copy of the benchmark's warehouse (after
scripts/benchmark.py has built it), today's two aggregations (the events to day rows as in
int_subject_metric_days, then the day rows to subject rows as in int_subject_metric_values)
against one aggregation of the events straight to subject rows, and checks that the two
agree on the sum and count metrics' sums. Plain DuckDB SQL over the project's own views;
nothing here is used by the pipeline.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

DAY_VALUE = """case when m.aggregation = 'sum'
                      or (m.aggregation = 'threshold' and m.threshold_of = 'sum')
                  then coalesce({s}, 0)
                  when m.aggregation in ('count', 'threshold') then {n} else 1 end"""
EVENTS = "analytics.int_metric_events_joined_to_exposures"
METRICS = "analytics.stg_config__experiment_metrics"
EXPOSURES = "analytics.int_exposures_deduplicated"

TWO_AGGREGATIONS = [
    f"""
    create or replace table p_days as
    with d as (
        select experiment_id, subject_key, metric_id,
               case when is_in_window then 'window' else 'lookback' end as period,
               cast(event_at as date) as event_on, sum(value) as s, count(*) as n
        from {EVENTS} where is_in_window or is_in_lookback
        group by all)
    select d.experiment_id, d.subject_key, d.metric_id, d.period, d.event_on,
           {DAY_VALUE.format(s="d.s", n="d.n")} as day_value, d.n as n_events
    from d join {METRICS} as m using (experiment_id, metric_id)""",
    f"""
    create or replace table p_values_two as
    with s as (
        select experiment_id, subject_key, metric_id,
               coalesce(sum(case when period = 'window' then day_value end), 0) as window_sum,
               coalesce(sum(case when period = 'lookback' then day_value end), 0)
                   as lookback_sum,
               sum(case when period = 'lookback' then n_events else 0 end) as n_pre
        from p_days group by all)
    select e.experiment_id, e.subject_key, s.metric_id, e.variant_id, s.window_sum,
           s.lookback_sum, s.n_pre
    from {EXPOSURES} as e join s using (experiment_id, subject_key)""",
]
ONE_AGGREGATION = [
    f"""
    create or replace table p_values_one as
    with d as (
        select experiment_id, subject_key, metric_id,
               sum(case when is_in_window then value end) as ws,
               count(case when is_in_window then 1 end) as wn,
               sum(case when is_in_lookback then value end) as ls,
               count(case when is_in_lookback then 1 end) as ln
        from {EVENTS} where is_in_window or is_in_lookback
        group by all)
    select e.experiment_id, e.subject_key, d.metric_id, e.variant_id,
           case when d.wn = 0 then 0 else {DAY_VALUE.format(s="d.ws", n="d.wn")} end
               as window_sum,
           case when d.ln = 0 then 0 else {DAY_VALUE.format(s="d.ls", n="d.ln")} end
               as lookback_sum,
           d.ln as n_pre
    from d join {METRICS} as m using (experiment_id, metric_id)
    join {EXPOSURES} as e using (experiment_id, subject_key)""",
]
AGREEMENT = f"""
    select count(*),
           count(*) filter (where abs(a.window_sum - b.window_sum)
                                  > 1e-9 * greatest(1, abs(a.window_sum))
                               or abs(a.lookback_sum - b.lookback_sum)
                                  > 1e-9 * greatest(1, abs(a.lookback_sum)))
    from p_values_two as a join p_values_one as b using (experiment_id, subject_key, metric_id)
    join {METRICS} as m using (experiment_id, metric_id)
    where m.aggregation in ('sum', 'count')"""


def seconds(path: Path, statements: list[str]) -> float:
    connection = duckdb.connect(str(path))
    connection.execute("set threads = 2")
    connection.execute("set preserve_insertion_order = false")
    start = time.perf_counter()
    for statement in statements:
        connection.execute(statement)
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "warehouse.duckdb"
        shutil.copy(sys.argv[1], path)
        two, one = [], []
        for _ in range(3):
            two.append(seconds(path, TWO_AGGREGATIONS))
            one.append(seconds(path, ONE_AGGREGATION))
        connection = duckdb.connect(str(path))
        compared, differing = connection.execute(AGREEMENT).fetchone()
        connection.close()
    print(f"two aggregations: {[round(s, 2) for s in two]} s, median {statistics.median(two):.2f}")
    print(f"one aggregation:  {[round(s, 2) for s in one]} s, median {statistics.median(one):.2f}")
    print(f"sum and count metrics: {compared:,} subject rows compared, {differing} differ")


if __name__ == "__main__":
    main()
