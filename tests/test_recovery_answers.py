"""Answers an operator acts on must be right (issue 23): diagnose tells a long transaction in
nobody's way (a warning) from one in a migration's or a session's way (FM-17); `grants
--table` judges that table only; the lint gate's hint is a command that works anywhere."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from gordon_migrate.testing import GordonDatabase
from tests.support import recovery as rh
from tests.support.cli import Bundle, CliRunner
from tests.support.runner import wait_until
from tests.support.sql import Sessions


def _held_for(dsn: str, pid: int, seconds: float) -> None:
    wait_until(
        dsn,
        "SELECT clock_timestamp() - xact_start > make_interval(secs => %s)"
        " FROM pg_stat_activity WHERE pid = %s",
        (seconds, pid),
    )


def test_a_long_transaction_in_nobodys_way_is_a_warning(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Sessions
) -> None:
    reader = session_holder(gordon_db.dsn)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM trading.runs")  # a report, holding ACCESS SHARE
    _held_for(gordon_db.dsn, reader.info.backend_pid, 0.3)
    payload = rh.diagnose_json(cli, "--database-url", gordon_db.dsn, "--blocker-age", "200ms")
    step = rh.step(payload, "blocking_sessions")
    assert step["status"] == "warning", step
    assert "nothing waits behind them and no pending migration needs" in step["summary"]
    assert payload["ok"], "a warning is no reason to fail"
    result = cli("diagnose", "--database-url", gordon_db.dsn, "--blocker-age", "200ms")
    assert result.code == 0
    assert "warning" in result.out
    reader.execute("ROLLBACK")


def test_a_long_transaction_someone_waits_for_is_a_problem(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Sessions
) -> None:
    reader = session_holder(gordon_db.dsn)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM trading.runs")
    waiter = session_holder(gordon_db.dsn)
    waiter.execute("SET lock_timeout = '30s'")
    waiter.execute("BEGIN")
    # Queued behind the reader: the ALTER waits, and everything after it would too.
    waiter.pgconn.send_query(b"LOCK TABLE trading.runs IN ACCESS EXCLUSIVE MODE")
    wait_until(
        gordon_db.dsn,
        "SELECT %s = ANY(pg_blocking_pids(%s))",
        (reader.info.backend_pid, waiter.info.backend_pid),
    )
    _held_for(gordon_db.dsn, reader.info.backend_pid, 0.3)
    payload = rh.diagnose_json(cli, "--database-url", gordon_db.dsn, "--blocker-age", "200ms")
    step = rh.step(payload, "blocking_sessions")
    assert step["status"] == "problem", step
    assert [m["id"] for m in step["failure_modes"]] == ["FM-17"]
    assert step["commands"] == [f"gordon-migrate unlock --pid {reader.info.backend_pid}"]
    reader.execute("ROLLBACK")


def test_a_long_transaction_a_pending_migration_needs_is_a_problem(
    cli: CliRunner,
    db_at: rh.DatabaseAt,
    session_holder: Sessions,
) -> None:
    db = db_at(37)  # 0038 alters trading.runs
    reader = session_holder(db.dsn)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM trading.runs")
    _held_for(db.dsn, reader.info.backend_pid, 0.3)
    payload = rh.diagnose_json(cli, "--database-url", db.dsn, "--blocker-age", "200ms")
    step = rh.step(payload, "blocking_sessions")
    assert step["status"] == "problem", step
    assert "a pending migration needs" in step["summary"]
    reader.execute("ROLLBACK")


def test_grants_of_one_table_judge_that_table_only(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    with gordon_db.connect() as conn:  # drift on another table
        conn.execute("GRANT DELETE ON trading.fills TO gordon_api")
    whole = cli("grants", "--database-url", gordon_db.dsn)
    assert whole.code == 1
    runs = cli("grants", "--database-url", gordon_db.dsn, "--table", "trading.runs")
    assert runs.code == 0, runs.out
    assert "grants match the fixtures" in runs.out
    fills = cli("grants", "--database-url", gordon_db.dsn, "--table", "trading.fills")
    assert fills.code == 1
    unknown = cli("grants", "--database-url", gordon_db.dsn, "--table", "trading.nosuch")
    assert unknown.code == 1
    assert "no such table: trading.nosuch" in unknown.error_line


def test_the_lint_gates_hint_works_from_any_directory(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> None:
    root = bundle_dir(
        {
            "0001_two_tables.sql": (
                "-- no-transaction\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"
            )
        }
    )
    refused = cli("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    assert refused.code == 1
    found = re.search(r"`(gordon-migrate lint [^`]+)`", refused.error_line)
    assert found is not None, refused.error_line
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = shlex.split(found.group(1))[1:]
    hint = subprocess.run(
        [sys.executable, "-m", "gordon_migrate.cli", *args],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        check=False,
    )
    assert hint.returncode == 1
    assert "no-transaction-not-rerunnable" in hint.stdout, hint.stdout + hint.stderr
