"""apply as a process of its own, for faults that need one (signals, sockets), and polling the
server for what it shows (a generous bound, never a timing)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psycopg

# apply names its session "gordon-migrate apply #<run tag>": a LIKE pattern for it.
RUNNER_APP = "gordon-migrate apply #%"


def spawn(*args: str) -> subprocess.Popen[str]:
    """``gordon-migrate ARGS --log-format json`` as a child process (no DATABASE_URL)."""
    return subprocess.Popen(
        [sys.executable, "-m", "gordon_migrate.cli", *args, "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
    )


def wait_until(dsn: str, query: str, params: tuple[object, ...] = (), timeout: float = 90) -> None:
    """Poll until ``query`` returns a true first column."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(query, params).fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"never true within {timeout}s: {query}")


def wait_running(dsn: str, fragment: str) -> None:
    """Until apply's session runs a statement containing ``fragment`` in this database."""
    wait_until(
        dsn,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s"
        " AND state = 'active' AND query LIKE %s AND datname = current_database())",
        (RUNNER_APP, f"%{fragment}%"),
    )
