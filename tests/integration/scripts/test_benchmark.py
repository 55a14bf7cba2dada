"""The benchmark compares like with like.

On data from the scale generator, its floor query (scripts/benchmark.py) gives the same
per-variant sums as our statistics mart, and its state floor the same as the floor.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis_py.cli import main
from tests.conftest import REPO, load_script

pytestmark = pytest.mark.slow


def _benchmark():
    return load_script(REPO / "scripts" / "benchmark.py")


def test_the_floor_sums_what_the_statistics_mart_holds(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    benchmark = _benchmark()
    data = tmp_path / "data"
    counts = benchmark.generate(data, 200_000, 20_000, 2)
    assert counts["events"] > 150_000
    host = benchmark.make_host_project(tmp_path, data, 2)
    database = tmp_path / "warehouse.duckdb"
    assert main(["run", "--project-dir", str(host)]) == 0
    # The benchmark reads dbt's elapsed time of the models' build from this output: the first
    # of the run's two "Finished running" lines (the second is the result tables' build).
    output = capfd.readouterr().out
    finished = benchmark.DBT_FINISHED.findall(output)
    assert len(finished) == 2
    assert benchmark.dbt_elapsed(output) == float(finished[0]) > 0
    # The node floor's trivial project takes its node counts from that line: the nodes the
    # models' build started, by kind.
    models_build = output.split("Finished running", 1)[0]
    started = {
        kind: models_build.count(f"START sql {kind} model")
        for kind in ("view", "table", "incremental")
    } | {"test": models_build.count("START test")}
    assert benchmark.node_counts(output) == started
    assert started["view"] > 0 and started["incremental"] > 0 and started["test"] > 0

    connection = duckdb.connect(str(database))
    try:
        floor = connection.execute(benchmark.floor_sql()).df()
        mart = connection.execute("select * from analytics.fct_variant_metric_statistics").df()
    finally:
        connection.close()
    floor = floor.set_index(["experiment_id", "variant_id"]).sort_index()
    mart = mart.set_index(["experiment_id", "variant_id", "metric_id"]).sort_index()
    metric_ids = mart.index.get_level_values("metric_id").unique()
    assert len(metric_ids) == 10 and len(floor) == 4

    n = mart.groupby(level=["experiment_id", "variant_id"])["n"].agg(["min", "max"])
    assert (n["min"] == n["max"]).all()
    np.testing.assert_array_equal(floor["n"].to_numpy(), n["min"].to_numpy())
    compared = []
    for metric_id in metric_ids:
        y, x = f"{metric_id}_y", f"{metric_id}_x"
        ours = mart.xs(metric_id, level="metric_id")
        theirs = pd.DataFrame(
            {
                "sum_y": floor[f"sum({y})"],
                "sum_y_squares": floor[f"sum(({y} * {y}))"],
                "sum_x": floor[f"sum({x})"],
                "sum_x_squares": floor[f"sum(({x} * {x}))"],
                "sum_xy": floor[f"sum(({x} * {y}))"],
            }
        )
        # Sums of counts and of generated values: equal up to float summation order.
        np.testing.assert_allclose(
            ours[theirs.columns].to_numpy(dtype=float),
            theirs.to_numpy(dtype=float),
            rtol=1e-9,
            err_msg=metric_id,
        )
        if (theirs["sum_y"] > 0).all() and (theirs["sum_xy"] > 0).all():
            compared.append(metric_id)
    # Not a comparison of zeros: the generator gives values to some event names only, so
    # their sum metrics are zero; every count metric has events in both periods.
    assert len(compared) >= 5, compared


def test_the_state_floor_writes_the_per_subject_values(tmp_path: Path) -> None:
    benchmark = _benchmark()
    data = tmp_path / "data"
    benchmark.generate(data, 50_000, 5_000, 2)
    benchmark.make_host_project(tmp_path, data, 2)
    warehouse, scratch = tmp_path / "warehouse.duckdb", tmp_path / "scratch.duckdb"
    benchmark.measured(
        [
            sys.executable,
            "-c",
            benchmark.STATE_FLOOR_SCRIPT,
            str(warehouse),
            str(scratch),
            benchmark.per_subject_sql(),
            benchmark.variant_sums_sql("scratch.main.per_subject"),
        ]
    )
    connection = duckdb.connect(str(scratch), read_only=True)
    try:
        per_subject = connection.execute("select * from per_subject").df()
    finally:
        connection.close()
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        floor = connection.execute(benchmark.floor_sql()).df()
        n_exposed = connection.execute(
            "select count(*) from (select experiment_id, subject_id from raw.assignments "
            "group by all having count(distinct variant_id) = 1)"
        ).fetchone()[0]
    finally:
        connection.close()
    assert len(per_subject) == n_exposed == floor["n"].sum()
