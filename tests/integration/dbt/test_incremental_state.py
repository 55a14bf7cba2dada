"""The incremental models know what built their stored rows (decision record 0009).

Each case is a way the state used to be continued with wrong rows, each run exiting 0:
a config change built by a plain `dbt build` (the scheduler's path), a run stopped after a
config change and the config then reverted, a rerun for a past analysis time after a later
night, and a change of code. After each, the marts and result tables must equal a fresh
full refresh of the same config and analysis time (rtol 1e-9), and the history keep the
right snapshot.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis_py.cli import main
from analysis_py.config import load_config
from analysis_py.warehouse.dbt import dbt_vars
from tests.conftest import REPO, parse_manifest
from tests.engines import DATABASE, throwaway_postgres
from tests.integration.package.test_dbt_package import OUR_SCHEMA, make_host_project, query
from tests.tables import TABLE_KEYS, assert_tables_agree

INCREMENTAL_MODELS = (
    "int_exposures_deduplicated",
    "int_subject_metric_recent_days",
    "int_subject_metric_values",
)
#: Macro files that run around the models but do not shape their rows.
NOT_SHAPING_ROWS = {
    "macros/xp_incremental_state.sql",
    "macros/xp_settled_rows.sql",
    "macros/xp_analyze_table.sql",
}
PAST, NIGHT = "2026-03-17T00:00", "2026-04-10T00:00"
#: Two nights while the demo's subjects are still being exposed.
ENROLLING = ("2026-03-20T00:00", "2026-03-27T00:00")
STATE = f"{OUR_SCHEMA}.xp_incremental_state"


def macros_version(manifest: dict) -> str:
    """The expected value of xp_incremental_macros_version().

    The hash xp_incremental_macros_version() must return: of the text, without Jinja
    comments, of every macro file that the incremental models, or the models between them,
    call (directly or through other macros). Files, not macros, so that every engine's
    dispatched version counts.
    """
    nodes, macros = manifest["nodes"], manifest["macros"]
    ours = {
        node_id: node
        for node_id, node in nodes.items()
        if node["resource_type"] == "model" and node["package_name"] == "experiment_analysis"
    }
    stack = [
        node_id for node_id, node in ours.items() if node["config"]["materialized"] == "incremental"
    ]
    models = set()
    while stack:
        node_id = stack.pop()
        if node_id in models:
            continue
        models.add(node_id)
        stack.extend(parent for parent in ours[node_id]["depends_on"]["nodes"] if parent in ours)
    stack = [macro for node_id in models for macro in ours[node_id]["depends_on"]["macros"]]
    reached = set()
    while stack:
        macro = stack.pop()
        if macro in reached or macro not in macros:
            continue
        reached.add(macro)
        stack.extend(macros[macro]["depends_on"]["macros"])
    files = sorted(
        {
            macros[macro]["original_file_path"]
            for macro in reached
            if macros[macro]["package_name"] == "experiment_analysis"
        }
        - NOT_SHAPING_ROWS
    )
    digest = hashlib.sha256()
    for path in files:
        # Jinja comments left out: editing a comment should not rebuild a team's tables.
        code = re.sub(r"\{#.*?#\}", "", (REPO / path).read_text(), flags=re.DOTALL)
        digest.update(path.encode() + b"\0" + code.encode() + b"\0")
    return digest.hexdigest()[:16]


def test_the_macros_version_is_the_hash_of_the_macros_that_shape_rows(tmp_path: Path) -> None:
    expected = macros_version(parse_manifest(tmp_path / "target"))
    source = (REPO / "macros" / "xp_incremental_state.sql").read_text()
    assert f"return('{expected}')" in source, (
        "macros/xp_incremental_state.sql: a macro that shapes the incremental models' rows "
        f"changed; set xp_incremental_macros_version() to return('{expected}'), so that "
        "stored rows built by the previous code are rebuilt"
    )


def revenue_window(host: Path, days: int) -> None:
    """Set the window of the metric revenue (only that one) in the host's config."""
    config = host / "experiments.yml"
    text = config.read_text()
    start = text.index("- id: revenue\n")
    end = text.index("window:", start)
    line_end = text.index("\n", end)
    config.write_text(text[:end] + f"window: {{start_day: 0, end_day: {days}}}" + text[line_end:])


def xp(host: Path, *args: str) -> None:
    assert main([args[0], "--project-dir", str(host), *args[1:]]) == 0, args


def dbt(host: Path, capsys: pytest.CaptureFixture, analysis_at: str, *args: str):
    """`dbt build --vars "$(xp dbt-vars --analysis-at ...)" <args>`, as a scheduler runs it."""
    from dbt.cli.main import dbtRunner

    capsys.readouterr()
    xp(host, "dbt-vars", "--analysis-at", analysis_at)
    variables = capsys.readouterr().out.strip()
    assert variables == json.dumps(
        dbt_vars(load_config(host / "experiments.yml"), pd.Timestamp(analysis_at).to_pydatetime())
    )
    return dbtRunner().invoke(
        [
            "build",
            "--project-dir",
            str(host),
            "--profiles-dir",
            str(host),
            "--vars",
            variables,
            *args,
        ]
    )


def tables(host: Path, analysis_at: str) -> dict[str, pd.DataFrame]:
    """The marts, the latest result tables and the history's snapshot of the analysis date.

    The daily statistics up to the analysis time: a rerun of a past date keeps the later
    nights' snapshots (docs/decisions/0015).
    """
    day = pd.Timestamp(analysis_at).date().isoformat()
    time = pd.Timestamp(analysis_at).isoformat(sep=" ")
    conditions = {
        "fct_variant_metric_daily_statistics": f" where as_of_date < cast('{time}' as timestamp)"
    }
    return {
        table: query(
            host,
            f"select * from {OUR_SCHEMA}.{table}"
            + (f" where analysis_date = '{day}'" if table.endswith("_history") else "")
            + conditions.get(table, ""),
        )
        for table in (*TABLE_KEYS, "int_exposures_deduplicated")
    }


def assert_same_tables(reference: dict[str, pd.DataFrame], other: dict[str, pd.DataFrame]) -> None:
    keys = {**TABLE_KEYS, "int_exposures_deduplicated": ["experiment_id", "subject_id"]}
    for table, frame in reference.items():
        assert not frame.empty, table
        assert_tables_agree(frame, other[table], keys[table], table)


def assert_equals_a_full_refresh(host: Path, analysis_at: str) -> None:
    """The tables now equal those of a fresh full refresh of the same config and time."""
    incremental = tables(host, analysis_at)
    xp(host, "run", "--full-refresh", "--analysis-at", analysis_at)
    assert_same_tables(tables(host, analysis_at), incremental)


def revenue_means(host: Path) -> tuple[float, float]:
    row = query(
        host,
        f"select control_mean, treatment_mean from {OUR_SCHEMA}.experiment_results "
        "where metric_id = 'revenue'",
    )
    return row.control_mean[0], row.treatment_mean[0]


def state(host: Path) -> pd.DataFrame:
    return query(host, f"select * from {STATE}").set_index("model_name")


@pytest.mark.slow
def test_a_config_changed_under_a_plain_dbt_build_rebuilds(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Case 1: the scheduler's path after a metric window changed.

    Case 1 of issue 18: the scheduler's path, `dbt build --vars "$(xp dbt-vars)" && xp
    analyze`, after the revenue window went from 14 to 3 days.
    """
    host = make_host_project(tmp_path)
    xp(host, "run", "--analysis-at", NIGHT)
    fourteen_days = revenue_means(host)
    revenue_window(host, 3)
    result = dbt(host, capsys, NIGHT)
    assert result.success, result.exception
    xp(host, "analyze", "--analysis-at", NIGHT)
    three_days = revenue_means(host)
    assert three_days[0] < fourteen_days[0] / 2, (three_days, fourteen_days)
    config_hash = load_config(host / "experiments.yml").hash
    assert set(state(host).config_hash) == {config_hash}
    assert set(
        query(host, f"select config_hash from {OUR_SCHEMA}.experiment_results").config_hash
    ) == {config_hash}
    assert_equals_a_full_refresh(host, NIGHT)
    np.testing.assert_allclose(revenue_means(host), three_days, rtol=1e-9)


@pytest.mark.slow
def test_a_metric_edited_between_nights_restarts_only_its_results_over_time(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The scheduler's path on two nights, the revenue window edited in between.

    The second night drops the snapshots of revenue and of the ratio that divides it
    (their definitions changed) and keeps the other metrics' (docs/decisions/0015): the
    results over time hold those metrics on the second day only, the others on both, and
    the last day equals the latest results.
    """
    host = make_host_project(tmp_path)
    first, second = ENROLLING[1], "2026-03-28T00:00"
    xp(host, "run", "--analysis-at", first)
    revenue_window(host, 3)
    result = dbt(host, capsys, second)
    assert result.success, result.exception
    xp(host, "analyze", "--analysis-at", second)
    over_time = query(
        host,
        f"""
        select metric_id, count(distinct as_of_date) as n_days
        from {OUR_SCHEMA}.experiment_results_over_time
        where experiment_id = 'checkout_redesign' group by metric_id""",
    ).set_index("metric_id")["n_days"]
    assert over_time["revenue"] == over_time["average_order_value"] == 1
    assert over_time["purchases"] == over_time["sessions"] == 2
    last_day = query(
        host,
        f"""
        select treatment_mean from {OUR_SCHEMA}.experiment_results_over_time
        where experiment_id = 'checkout_redesign' and metric_id = 'revenue'""",
    )
    np.testing.assert_allclose(last_day.treatment_mean[0], revenue_means(host)[1], rtol=1e-12)


@pytest.mark.slow
def test_a_run_stopped_after_a_config_change_then_reverted_rebuilds(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Case 2: a run stopped half-way through a config change, then the config reverted.

    Case 2: a run with a changed config stopped after the first incremental models
    (simulated by a full refresh of only them and what they read, as `xp run` used to pass
    --full-refresh on a config change), then the config reverted: the statistics mart still
    holds the reverted config's hash, the models in between do not. The nights fall while
    subjects are exposed and buy, so the night after recomputes some subjects.
    """
    host = make_host_project(tmp_path)
    xp(host, "run", "--analysis-at", ENROLLING[0])
    revenue_window(host, 3)
    result = dbt(
        host, capsys, ENROLLING[1], "--full-refresh", "--select", "+int_subject_metric_recent_days"
    )
    assert result.success, result.exception
    assert (
        state(host).config_hash["int_subject_metric_recent_days"]
        != state(host).config_hash["int_subject_metric_values"]
    )
    revenue_window(host, 14)
    xp(host, "run", "--analysis-at", ENROLLING[1])
    assert_equals_a_full_refresh(host, ENROLLING[1])


@pytest.mark.slow
def test_a_rerun_for_a_past_time_rebuilds_and_the_next_night_continues(tmp_path: Path) -> None:
    """Case 3: a rerun of a past analysis time between nights.

    Case 3: a full refresh for a past analysis time, a later night, then a rerun for the
    past time: the rerun gives the past time's figures (and history snapshot), and the night
    after it continues from them incrementally and equals a full refresh.
    """
    host = make_host_project(tmp_path)
    xp(host, "run", "--full-refresh", "--analysis-at", PAST)
    past = tables(host, PAST)
    xp(host, "run", "--analysis-at", NIGHT)
    assert not np.allclose(
        revenue_means(host),
        past["experiment_results"][past["experiment_results"].metric_id == "revenue"][
            ["control_mean", "treatment_mean"]
        ].to_numpy()[0],
        rtol=1e-3,
    )
    xp(host, "run", "--analysis-at", PAST)
    assert_same_tables(past, tables(host, PAST))
    rebuilt = state(host)
    assert (rebuilt.analysis_at == pd.Timestamp(PAST)).all()

    xp(host, "run", "--analysis-at", NIGHT)
    night = state(host)
    # Continued, not rebuilt: same rebuilt_at, a new loaded_at.
    assert (night.rebuilt_at == rebuilt.rebuilt_at).all()
    assert (night.loaded_at > rebuilt.loaded_at).all()
    assert_equals_a_full_refresh(host, NIGHT)
    # The past snapshot of the history survived the nights after it.
    assert_tables_agree(
        past["experiment_results_history"],
        tables(host, PAST)["experiment_results_history"],
        TABLE_KEYS["experiment_results_history"],
        "experiment_results_history",
    )


@pytest.mark.slow
def test_changed_code_or_no_record_rebuilds_from_that_model_down(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Code changes rebuild exactly the models they touch.

    A record of another code version rebuilds that model and the incremental models that
    read it, and no others; a project without records (built before them) rebuilds all; an
    upstream model rebuilt by one dbt invocation makes the next rebuild its readers; and a
    run that would read a stale model it does not build stops with one line.
    """
    host = make_host_project(tmp_path)
    xp(host, "run", "--analysis-at", PAST)
    first = state(host)
    connection = duckdb.connect(str(host / "warehouse.duckdb"))
    connection.execute(
        f"update {STATE} set code_hash = 'older' where model_name = 'int_subject_metric_values'"
    )
    connection.close()
    xp(host, "run", "--analysis-at", NIGHT)
    second = state(host)
    rebuilt = second.rebuilt_at > first.rebuilt_at
    assert rebuilt.to_dict() == {
        "int_exposures_deduplicated": False,
        "int_subject_metric_recent_days": False,
        "int_subject_metric_values": True,
    }
    assert (second.code_hash != "older").all()

    connection = duckdb.connect(str(host / "warehouse.duckdb"))
    connection.execute(f"drop table {STATE}")
    connection.close()
    xp(host, "run", "--analysis-at", NIGHT)
    third = state(host)
    assert (third.rebuilt_at > second.rebuilt_at).all()
    assert len(third) == len(INCREMENTAL_MODELS)

    result = dbt(
        host, capsys, NIGHT, "--full-refresh", "--select", "int_subject_metric_recent_days"
    )
    assert result.success, result.exception
    result = dbt(host, capsys, NIGHT, "--select", "int_subject_metric_values+")
    assert result.success, result.exception
    fourth = state(host)
    assert (
        fourth.rebuilt_at.drop("int_exposures_deduplicated")
        > third.rebuilt_at.drop("int_exposures_deduplicated")
    ).all()
    assert_equals_a_full_refresh(host, NIGHT)

    revenue_window(host, 3)
    result = dbt(host, capsys, NIGHT, "--select", "int_subject_metric_values")
    assert not result.success
    messages = [str(node.message) for node in result.result if str(node.status) == "error"]
    assert (
        len(messages) == 1
        and "is stale (built from experiment config" in messages[0]
        and "not part of this run" in messages[0]
        and "run `xp run`" in messages[0]
    ), messages


@pytest.mark.slow
def test_changes_the_subject_values_did_not_read_rebuild_them(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A night stopped after the recent days were written, before the subject values read them.

    The subject values add the recent days' changes of their own run to the stored sums
    (docs/decisions/0016); changes written by a run whose subject values then failed, were
    stopped or were not selected would be lost. `dbt build --select
    +int_subject_metric_recent_days` stands in for such a run. The next run rebuilds both
    and ends equal to a full refresh; so does a run of the subject values alone.
    """
    host = make_host_project(tmp_path)
    xp(host, "run", "--analysis-at", ENROLLING[0])
    first = state(host)
    result = dbt(host, capsys, ENROLLING[1], "--select", "+int_subject_metric_recent_days")
    assert result.success, result.exception
    unread = query(
        host,
        f"""
        select count(*) as n from {OUR_SCHEMA}.int_subject_metric_recent_days
        where loaded_at > (
            select loaded_at from {STATE} where model_name = 'int_subject_metric_values')""",
    )
    assert unread.n[0] > 100
    xp(host, "run", "--analysis-at", ENROLLING[1])
    rebuilt = state(host).rebuilt_at > first.rebuilt_at
    assert rebuilt.to_dict() == {
        "int_exposures_deduplicated": False,
        "int_subject_metric_recent_days": True,
        "int_subject_metric_values": True,
    }
    assert_equals_a_full_refresh(host, ENROLLING[1])

    # The subject values alone, then a night: each rebuilds what it cannot continue.
    result = dbt(host, capsys, NIGHT, "--select", "int_subject_metric_values")
    assert result.success, result.exception
    xp(host, "run", "--analysis-at", NIGHT)
    assert_equals_a_full_refresh(host, NIGHT)


@pytest.mark.slow
def test_a_longer_late_data_window_rebuilds(tmp_path: Path) -> None:
    """xp_late_data_days raised between nights: the stored recent days are too few.

    A night reads the events again from the previous analysis date less the late-data
    window; with a longer window it would read days whose rows were forgotten and count
    them twice. The window is part of what built the stored rows, so they are rebuilt.
    """
    host = make_host_project(tmp_path)
    xp(host, "run", "--analysis-at", ENROLLING[0])
    first = state(host)
    project = host / "dbt_project.yml"
    project.write_text(
        project.read_text().replace(
            "    xp_demo_data: false\n", "    xp_demo_data: false\n    xp_late_data_days: 5\n"
        )
    )
    assert "xp_late_data_days: 5" in project.read_text()
    xp(host, "run", "--analysis-at", ENROLLING[1])
    assert (state(host).rebuilt_at > first.rebuilt_at).all()
    assert_equals_a_full_refresh(host, ENROLLING[1])


@pytest.mark.slow
def test_postgres_rebuilds_for_a_past_time_and_continues(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Postgres the state records move with the models' transactions.

    On Postgres the record table, the drop (which cascades to the views that read the
    table) and the record's rewrite run inside the models' transactions: a night, a rerun
    for a past time (rebuilt: equal to a full refresh) and the next night (continued).
    """
    import psycopg2

    with throwaway_postgres() as port:
        for name, value in {
            "XP_TARGET": "postgres",
            "XP_POSTGRES_PORT": str(port),
            "XP_POSTGRES_DATABASE": DATABASE,
            "XP_POSTGRES_SCHEMA": "xp_state_test",
        }.items():
            monkeypatch.setenv(name, value)

        def read(table: str) -> pd.DataFrame:
            connection = psycopg2.connect(
                host="127.0.0.1", port=port, user="postgres", dbname=DATABASE
            )
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"select * from xp_state_test.{table}")
                    return pd.DataFrame(
                        cursor.fetchall(), columns=[d.name for d in cursor.description]
                    )
            finally:
                connection.close()

        xp(REPO, "run", "--analysis-at", NIGHT)
        night = read("xp_incremental_state").set_index("model_name")
        # The settled events' fingerprint (dbt.datediff in seconds) against Postgres's epoch.
        settled = json.loads(night.settled_rows["int_subject_metric_recent_days"])
        epochs = (
            read(
                "stg_experimentation__events where event_at < "
                f"cast('{settled['before']}' as timestamp)"
            )
            .event_at.astype("datetime64[s]")
            .astype("int64")
        )
        assert settled["rows"]["events"] == [len(epochs), int(epochs.sum())] and len(epochs) > 1000
        xp(REPO, "run", "--analysis-at", PAST)
        past = read("xp_incremental_state").set_index("model_name")
        assert len(past) == len(INCREMENTAL_MODELS)
        assert (past.rebuilt_at > night.rebuilt_at).all()
        assert (past.analysis_at == pd.Timestamp(PAST)).all()
        rerun = {
            table: read(table)
            for table in (
                "fct_variant_metric_statistics",
                "fct_variant_metric_daily_statistics",
                "experiment_results",
            )
        }
        xp(REPO, "run", "--full-refresh", "--analysis-at", PAST)
        for table, frame in rerun.items():
            assert_tables_agree(read(table), frame, TABLE_KEYS[table], table)
        refreshed = read("xp_incremental_state").set_index("model_name")

        xp(REPO, "run", "--analysis-at", NIGHT)
        continued = read("xp_incremental_state").set_index("model_name")
        assert (continued.rebuilt_at == refreshed.rebuilt_at).all()
        assert (continued.loaded_at > refreshed.loaded_at).all()


@pytest.mark.slow
def test_rows_landing_later_than_the_late_data_window_rebuild(
    tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    """Events or assignments landing, or deleted, before the rows a night reads again.

    A night reads the events again only from the previous analysis date less
    xp_late_data_days, and the assignments only of the subjects exposed since the latest
    exposure less that window (docs/decisions/0018). Rows landing later than that were
    missed by a green night. Each run records a fingerprint of those settled rows; a night
    that finds them changed rebuilds in full, says why in one line, and equals a full
    refresh. A record table from before the fingerprints gains the column and rebuilds once.
    """
    host = make_host_project(tmp_path)
    database = host / "warehouse.duckdb"
    held_events = (
        "event_at >= '2026-03-10' and event_at < '2026-03-12' and hash(subject_id) % 4 = 0"
    )
    held_assignments = (
        "assigned_at >= '2026-03-05' and assigned_at < '2026-03-08' and hash(subject_id) % 4 = 0"
    )
    with duckdb.connect(str(database)) as connection:
        for table, held in (("product_events", held_events), ("exposures", held_assignments)):
            connection.execute(f"create table raw.held_{table} as from raw.{table} where {held}")
            connection.execute(f"delete from raw.{table} where {held}")
            assert connection.execute(f"select count(*) from raw.held_{table}").fetchone()[0] > 20

    def night(analysis_at: str, landed: str) -> tuple[str, pd.Series]:
        """A night after `landed` (SQL) ran: its output and which models it rebuilt."""
        before = state(host).rebuilt_at
        with duckdb.connect(str(database)) as connection:
            connection.execute(landed)
        capfd.readouterr()
        xp(host, "run", "--analysis-at", analysis_at)
        output = capfd.readouterr()
        return output.out + output.err, state(host).rebuilt_at > before

    xp(host, "run", "--analysis-at", ENROLLING[0])
    # The events of 03-10 and 03-11 land a week late, before 03-18 = 03-20 less 2 days.
    output, rebuilt = night(
        ENROLLING[1], "insert into raw.product_events from raw.held_product_events"
    )
    assert (
        "xp: rebuilding int_subject_metric_recent_days in full: the events of source 'events'"
        " before 2026-03-18 00:00:00 changed since its last run" in output
    ), output
    assert rebuilt.to_dict() == {
        "int_exposures_deduplicated": False,
        "int_subject_metric_recent_days": True,
        "int_subject_metric_values": True,
    }
    assert_equals_a_full_refresh(host, ENROLLING[1])

    # Assignments of early March land after the last exposure less 2 days: all rebuild.
    output, rebuilt = night(NIGHT, "insert into raw.exposures from raw.held_exposures")
    assert "xp: rebuilding int_exposures_deduplicated in full: the assignments" in output, output
    assert rebuilt.all()
    assert_equals_a_full_refresh(host, NIGHT)

    # Old events deleted: fewer rows than the record's.
    output, rebuilt = night(
        "2026-04-11T00:00", f"delete from raw.product_events where {held_events}"
    )
    assert re.search(
        r"before 2026-04-08 00:00:00 changed since its last run \(\d+ rows then", output
    )
    assert rebuilt.to_dict()["int_subject_metric_recent_days"]
    assert_equals_a_full_refresh(host, "2026-04-11T00:00")

    # Nothing landed: continued. A record table from before settled_rows: rebuilt once.
    output, rebuilt = night("2026-04-12T00:00", "select 1")
    assert not rebuilt.any() and "rebuilding" not in output
    output, rebuilt = night("2026-04-13T00:00", f"alter table {STATE} drop column settled_rows")
    assert "xp: rebuilding int_exposures_deduplicated in full: no record of its settled" in output
    assert rebuilt.all()
    assert state(host).settled_rows.notna().sum() == 2
    assert_equals_a_full_refresh(host, "2026-04-13T00:00")


@pytest.mark.slow
def test_nights_without_distinct_days_metrics_equal_a_full_refresh(tmp_path: Path) -> None:
    """A config without distinct_days metrics sums the subjects without the day grain.

    The subject sums then take another branch (no per-day aggregation); a night appends the
    continued sums to the new subjects' by position, so both must keep one column order.
    """
    host = make_host_project(tmp_path)
    config = host / "experiments.yml"
    text = config.read_text()
    start = text.index("  - id: active_days\n")
    end = text.index("  - id: ", start + 1)
    text = (text[:start] + text[end:]).replace("sessions_week_2, active_days,", "sessions_week_2,")
    assert "active_days" not in text and "distinct_days\n" not in text
    config.write_text(text)
    xp(host, "run", "--analysis-at", ENROLLING[0])
    xp(host, "run", "--analysis-at", ENROLLING[1])
    assert_equals_a_full_refresh(host, ENROLLING[1])
