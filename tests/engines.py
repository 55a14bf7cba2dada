"""Start the other engines for the tests: throw-away Postgres and Spark Thrift servers.

A check says whether Spark can run here. CI (CI=true) fails when an engine is missing
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


# --- A Spark Thrift server, the way a cluster is reached ------------------------------------

#: The server's own default time zone: not UTC, so that the agreement over Thrift shows the
#: profile's session parameter (profiles.yml, spark_thrift) is what makes the session UTC.
SPARK_THRIFT_SERVER_TIME_ZONE = "America/New_York"
THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


def _spark_home() -> Path:
    """Pyspark's own directory: the pip package is a Spark distribution with spark-submit."""
    require_spark()
    try:
        import pyhive  # noqa: F401
        import thrift_sasl  # noqa: F401
    except ImportError as error:
        missing_engine(
            f"dbt-spark's thrift method needs PyHive and thrift_sasl ({error}); "
            "pip install -e '.[test]'"
        )
    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    if not any((home / "jars").glob("spark-hive-thriftserver_*.jar")):
        missing_engine(f"pyspark at {home} ships no spark-hive-thriftserver jar")
    return home


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Return once the server accepts connections; fail with its log if it stops or stalls."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the Spark Thrift server stopped (exit {process.returncode}):\n"
                + log.read_text(errors="replace")[-3000:]
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(
        f"the Spark Thrift server did not accept connections within {timeout:.0f} s:\n"
        + log.read_text(errors="replace")[-3000:]
    )


def _stop(process: subprocess.Popen) -> None:
    """Stop the server by its own PID: SIGTERM lets Spark shut down, SIGKILL if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def throwaway_spark_thrift(startup_timeout: float = 300) -> Iterator[int]:
    """A local Spark Thrift server (HiveServer2 protocol) on a free port, with no login.

    Its warehouse and Derby metastore live in a temporary directory, deleted afterwards with
    the server. Yields the port once the server accepts connections.
    """
    home = _spark_home()
    directory = Path(tempfile.mkdtemp(prefix="xp-spark-thrift-"))
    port = _free_port()
    log = directory / "server.log"
    java_options = (
        f"-Dderby.system.home={directory / 'derby'} -Duser.timezone={SPARK_THRIFT_SERVER_TIME_ZONE}"
    )
    command = [
        str(home / "bin" / "spark-submit"),
        "--class",
        THRIFT_SERVER_CLASS,
        "--master",
        "local[2]",
        "--conf",
        f"spark.sql.warehouse.dir={directory / 'warehouse'}",
        "--conf",
        f"spark.driver.extraJavaOptions={java_options}",
        "--conf",
        "spark.ui.enabled=false",
        "--hiveconf",
        f"hive.server2.thrift.port={port}",
        "--hiveconf",
        "hive.server2.thrift.bind.host=127.0.0.1",
        "spark-internal",
    ]
    with log.open("w") as output:
        # spark-submit execs the JVM, so this PID is the server's own.
        process = subprocess.Popen(
            command,
            cwd=directory,
            env={**os.environ, "SPARK_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log, startup_timeout)
        yield port
    finally:
        _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_thrift_server() -> Iterator[int]:
    """The port of a throw-away Spark Thrift server shared by the session's tests."""
    with throwaway_spark_thrift() as port:
        yield port


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
