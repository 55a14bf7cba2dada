"""Start the other engines for the tests: a throw-away Postgres server, and Spark's check.

The check says whether Spark can run here. CI (CI=true) fails when an engine is missing
instead of skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

DATABASE = "xp"


def missing_engine(reason: str) -> None:
    """Skip on a developer machine without the engine; fail in CI, where it must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run every engine; .ci/run installs them)")
    pytest.skip(reason)


def _postgres_bin() -> Path | None:
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    if not versions:
        return None
    return max(versions, key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def throwaway_postgres() -> Iterator[int]:
    """A fresh Postgres cluster on a free local port with an empty database 'xp'.

    Yields the port and deletes everything afterwards.
    """
    bin_dir = _postgres_bin()
    if bin_dir is None:
        missing_engine("Postgres server binaries not found under /usr/lib/postgresql")
    # Postgres refuses to run as root: run its commands as the 'postgres' user then.
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    directory = Path(tempfile.mkdtemp(prefix="xp-postgres-"))
    if as_postgres:
        shutil.chown(directory, "postgres", "postgres")
    port = _free_port()
    data = directory / "data"

    def run(*command: str) -> None:
        subprocess.run([*as_postgres, *command], check=True, capture_output=True, text=True)

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(directory / "log"),
            "-w",
            "-o",
            f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=port, user="postgres", dbname="postgres"
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"create database {DATABASE}")
        connection.close()
        yield port
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(directory, ignore_errors=True)


def require_spark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing_engine("pyspark is not installed (pip install -e '.[test]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing_engine("Spark needs Java, and none was found")


# --- Runs in another time zone ---------------------------------------------------------------
# A process's time zone is read once: Python's at start-up (or time.tzset()), DuckDB's ICU
# and the JVM's when they start. A run in another zone therefore gets a process of its own.


def run_in_time_zone(
    zone: str, steps: list[dict], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[list[dict], str]:
    """Run `xp` steps in a fresh Python process whose time zone is `zone`.

    The zone is set as TZ, and PGTZ for the Postgres session. Returns each step's outcome
    and the process's whole output.

    A step is a dict: ``argv`` (xp's arguments), optionally ``env`` (variables set for this
    step and the ones after it), and for Spark, where the tables live in the
    process's own session, optionally ``spark_sql`` (statements run before xp),
    ``spark_time_zone`` (the session's spark.sql.session.timeZone before xp) and
    ``spark_queries`` ({name: query} run after xp). An outcome has ``exit_code`` and
    ``rows`` ({name: list of row lists}).
    """
    import json
    import sys

    directory = Path(tempfile.mkdtemp(prefix="xp-tz-"))
    request, answer = directory / "request.json", directory / "answer.json"
    request.write_text(json.dumps({"steps": steps, "answer": str(answer)}))
    repo = Path(__file__).resolve().parent.parent
    child_env = {
        **os.environ,
        **(env or {}),
        "TZ": zone,
        "PGTZ": zone,
        "PYTHONPATH": str(repo),
        "DO_NOT_TRACK": "1",
    }
    try:
        process = subprocess.run(
            [sys.executable, "-m", "tests.engines", str(request)],
            env=child_env,
            cwd=cwd or directory,
            capture_output=True,
            text=True,
            timeout=900,
        )
        output = process.stdout + process.stderr
        assert answer.exists(), f"the run in {zone} stopped early:\n{output[-3000:]}"
        return json.loads(answer.read_text()), output
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _run_steps(request_path: str) -> None:
    """The child side of run_in_time_zone."""
    import json
    import time

    from analysis_py.cli import main

    time.tzset()
    request = json.loads(Path(request_path).read_text())
    spark = None
    outcomes = []
    for step in request["steps"]:
        os.environ.update(step.get("env", {}))
        if (
            any(key in step for key in ("spark_sql", "spark_time_zone", "spark_queries"))
            and spark is None
        ):
            from pyspark.sql import SparkSession

            # The builder dbt-spark's session mode uses, so that both share the session.
            spark = SparkSession.builder.enableHiveSupport().getOrCreate()
        for statement in step.get("spark_sql", []):
            spark.sql(statement)
        if "spark_time_zone" in step:
            spark.conf.set("spark.sql.session.timeZone", step["spark_time_zone"])
        exit_code = main(step["argv"])
        rows = (
            {
                name: [list(row) for row in spark.sql(query).collect()]
                for name, query in step.get("spark_queries", {}).items()
            }
            if exit_code == 0
            else {}
        )
        outcomes.append({"exit_code": exit_code, "rows": rows})
    Path(request["answer"]).write_text(json.dumps(outcomes, default=str))


if __name__ == "__main__":
    import sys

    _run_steps(sys.argv[1])
