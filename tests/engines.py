"""Start the other engines for the tests: a throw-away Postgres server, and the check that
Spark can run here. CI (CI=true) fails when an engine is missing instead of skipping."""

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
    """A fresh Postgres cluster on a free local port with an empty database 'xp'; yields
    the port and deletes everything afterwards."""
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
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "log"), "-w",
            "-o", f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start")
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=port, user="postgres",
                                      dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"create database {DATABASE}")
        connection.close()
        yield port
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast",
                        "stop"], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def require_spark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing_engine("pyspark is not installed (pip install -e '.[test]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing_engine("Spark needs Java, and none was found")
