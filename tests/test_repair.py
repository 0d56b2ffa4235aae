"""repair and unlock: guarded by confirmation, exact about what they run, under the lock,
audited, and refusing everything the runbook does not prescribe."""

from __future__ import annotations

import getpass
import io
import json
import socket
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gordon_migrate import __version__
from gordon_migrate.apply import locks
from gordon_migrate.core import dsn
from gordon_migrate.core.errors import RecoveryError, ServerStateError
from gordon_migrate.recovery import repair, unlock
from gordon_migrate.testing import GordonDatabase
from tests.support import recovery as rh
from tests.support.cli import CliRunner
from tests.support.sql import Conn, Sessions, db_state

_ROW_35 = "SELECT success, execution_time FROM _sqlx_migrations WHERE version = 35"


@pytest.fixture
def dirty_db(gordon_db: GordonDatabase) -> GordonDatabase:
    """0035 as an interrupted no-transaction run leaves it (see the FM-13 tests for the real
    thing): its history row success = false, execution_time = -1."""
    with gordon_db.connect() as conn:
        conn.execute(
            "UPDATE _sqlx_migrations SET success = FALSE, execution_time = -1 WHERE version = 35"
        )
    return gordon_db


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.delenv("CI", raising=False)


def _row_35(db: GordonDatabase) -> tuple[object, ...] | None:
    with db.connect() as conn:
        return conn.execute(_ROW_35).fetchone()


def _audit(db: GordonDatabase) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT to_jsonb(a) FROM public.gordon_migrate_audit a ORDER BY at"
        ).fetchall()
    return [dict(r[0]) for r in rows]


# --- repair -------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_terminal")
def test_repair_without_a_terminal_shows_the_plan_and_refuses(
    cli: CliRunner, dirty_db: GordonDatabase
) -> None:
    before = db_state(dirty_db.dsn)
    result = cli("repair", "35", "--database-url", dirty_db.dsn)
    assert result.code == 1
    assert result.error_line.startswith(
        "refusing to change the history without confirmation (stdin is not a terminal): "
        "re-run with --yes"
    )
    assert "history row of migration 0035 (0035_fills_filled_at_index.sql):" in result.out
    assert (
        "  UPDATE public._sqlx_migrations SET success = TRUE WHERE version = 35 AND NOT success;"
        in result.out
    )
    assert "no schema object is touched" in result.out
    assert db_state(dirty_db.dsn) == before


def test_repair_refuses_in_ci_even_on_a_terminal(dirty_db: GordonDatabase) -> None:
    run = rh.run_on_terminal(
        "repair", "35", "--database-url", dirty_db.dsn, typed="35", env={"CI": "true"}
    )
    assert run.code == 1
    assert "refusing to change the history without confirmation (CI is set)" in run.err
    assert _row_35(dirty_db) == (False, -1)


def test_repair_typed_confirmation_on_a_terminal(dirty_db: GordonDatabase) -> None:
    wrong = rh.run_on_terminal("repair", "35", "--database-url", dirty_db.dsn, typed="y")
    assert wrong.code == 1
    assert "Type the version (35) to confirm" in wrong.err
    assert "not confirmed ('y' is not 35). Nothing was changed" in wrong.err
    assert _row_35(dirty_db) == (False, -1)
    right = rh.run_on_terminal("repair", "35", "--database-url", dirty_db.dsn, typed="35")
    assert right.code == 0, right.err
    assert "migration 0035 (0035_fills_filled_at_index.sql): history row marked done" in right.out
    assert _row_35(dirty_db) == (True, -1)


def test_repair_is_audited_and_touches_only_the_history_row(
    cli: CliRunner, dirty_db: GordonDatabase
) -> None:
    before = db_state(dirty_db.dsn)
    result = cli("repair", "35", "--database-url", dirty_db.dsn, "--yes", "--reason", "INC-4711")
    assert result.code == 0, result.err
    after = db_state(dirty_db.dsn)
    assert [o for o in after.objects if "gordon_migrate_audit" not in o] == before.objects
    changed = [(b, a) for b, a in zip(before.history, after.history, strict=True) if a != b]
    assert len(changed) == 1
    assert changed[0][0][0] == 35
    assert changed[0][1][3] is True  # success
    [entry] = _audit(dirty_db)
    assert entry["action"] == "repair done"
    assert entry["version"] == 35
    assert entry["target_pid"] is None
    assert entry["db_user"] == entry["db_session_user"] == "postgres"
    assert entry["os_user"] == getpass.getuser()
    assert entry["client_host"] == socket.gethostname()
    assert entry["tool_version"] == __version__
    assert entry["reason"] == "INC-4711"
    assert entry["state_before"]["success"] is False
    assert entry["state_after"] == {**entry["state_before"], "success": True}
    checksum = rh.BUNDLE[34].checksum.hex()
    assert entry["state_before"]["checksum"] == checksum


def test_repair_undone_removes_the_row(cli: CliRunner, dirty_db: GordonDatabase) -> None:
    refused = cli("repair", "35", "--undone", "--database-url", dirty_db.dsn, "--yes")
    assert refused.code == 1
    assert (
        "migration 0035 (0035_fills_filled_at_index.sql) is not undone: still there: index "
        "trading.fills_filled_at_idx (VALID). Drop it first: "
        "`DROP INDEX CONCURRENTLY IF EXISTS trading.fills_filled_at_idx;`"
    ) in refused.error_line
    assert _row_35(dirty_db) == (False, -1)
    with dirty_db.connect() as conn:  # what the refusal says
        conn.execute("DROP INDEX CONCURRENTLY IF EXISTS trading.fills_filled_at_idx")
    result = cli("repair", "35", "--undone", "--database-url", dirty_db.dsn, "--yes")
    assert result.code == 0, result.err
    assert "  DELETE FROM public._sqlx_migrations WHERE version = 35 AND NOT success;" in (
        result.out
    )
    assert _row_35(dirty_db) is None
    [entry] = _audit(dirty_db)
    assert (entry["action"], entry["state_after"]) == ("repair undone", None)


def test_repair_json_reports_the_plan_and_the_outcome(
    cli: CliRunner, dirty_db: GordonDatabase
) -> None:
    result = cli("repair", "35", "--database-url", dirty_db.dsn, "--yes", "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["ok"] is True
    assert report["repaired"] is True
    assert (report["command"], report["version"], report["action"]) == ("repair", 35, "done")
    assert report["database"] == dirty_db.name
    assert report["statement"] == (
        "UPDATE public._sqlx_migrations SET success = TRUE WHERE version = 35 AND NOT success;"
    )
    assert report["before"]["success"] is False
    assert report["after"] == {**report["before"], "success": True}
    assert report["lock_key"] == locks.lock_key(dirty_db.name)
    # The plan the operator confirms is on stderr, so stdout stays one JSON document.
    assert "no schema object is touched" in result.err
    assert _row_35(dirty_db) == (True, -1)
    [entry] = _audit(dirty_db)
    assert entry["state_after"] == report["after"]


@pytest.mark.usefixtures("no_terminal")
def test_repair_json_refused_is_a_json_error(cli: CliRunner, dirty_db: GordonDatabase) -> None:
    result = cli("repair", "35", "--database-url", dirty_db.dsn, "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["ok"] is False
    assert report["error"]["message"].startswith(
        "refusing to change the history without confirmation (stdin is not a terminal)"
    )
    assert _row_35(dirty_db) == (False, -1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("1",), "migration 0001 (0001_schemas.sql) is not dirty (success = true)"),
        (("999",), "migration 0999 has no history row: there is nothing to repair"),
        (("999", "--undone"), "migration 0999 has no history row"),
    ],
)
def test_repair_refuses_what_the_runbook_does_not_prescribe(
    cli: CliRunner, dirty_db: GordonDatabase, args: tuple[str, ...], message: str
) -> None:
    before = db_state(dirty_db.dsn)
    result = cli("repair", *args, "--database-url", dirty_db.dsn, "--yes")
    assert result.code == 1
    assert message in result.error_line
    assert result.error_line.endswith("Nothing was changed")
    assert db_state(dirty_db.dsn) == before


def test_repair_done_needs_the_file_that_ran(
    cli: CliRunner, dirty_db: GordonDatabase, tmp_path: Path
) -> None:
    image = rh.copy_bundle(tmp_path / "other-image")
    edited = image / "0035_fills_filled_at_index.sql"
    edited.write_text(edited.read_text() + "-- reworded\n")
    args = ("--database-url", dirty_db.dsn, "--migrations-dir", str(image), "--yes")
    done = cli("repair", "35", *args)
    assert done.code == 1
    assert "the bundled 0035_fills_filled_at_index.sql is not the file that ran" in (
        done.error_line
    )
    older = rh.copy_bundle(tmp_path / "older-image", up_to=34)
    args = ("--database-url", dirty_db.dsn, "--migrations-dir", str(older), "--yes")
    assert "is not in this bundle (its file is missing)" in cli("repair", "35", *args).error_line
    undone = cli("repair", "35", "--undone", *args)  # nor can what it built be checked
    assert undone.code == 1
    assert "is not in this bundle (its file is missing)" in undone.error_line
    assert _row_35(dirty_db) == (False, -1)


def test_repair_done_refuses_while_the_index_is_invalid_or_missing(
    cli: CliRunner, dirty_db: GordonDatabase
) -> None:
    with dirty_db.connect() as conn:  # as a failed CREATE INDEX CONCURRENTLY leaves it
        conn.execute(
            "UPDATE pg_index SET indisvalid = false"
            " WHERE indexrelid = 'trading.fills_filled_at_idx'::regclass"
        )
    invalid = cli("repair", "35", "--database-url", dirty_db.dsn, "--yes")
    assert invalid.code == 1
    assert (
        "is not finished: index trading.fills_filled_at_idx (INVALID). Finish it first "
        "(`DROP INDEX CONCURRENTLY IF EXISTS trading.fills_filled_at_idx;`, then run its "
        "statement again) or let a plain `gordon-migrate apply` resume it"
    ) in invalid.error_line
    with dirty_db.connect() as conn:
        conn.execute("DROP INDEX trading.fills_filled_at_idx")
    missing = cli("repair", "35", "--database-url", dirty_db.dsn, "--yes")
    assert missing.code == 1
    assert "is not finished: index trading.fills_filled_at_idx (absent)" in missing.error_line
    assert _row_35(dirty_db) == (False, -1)
    assert cli("apply", "--database-url", dirty_db.dsn).code == 0  # resumed by itself
    row = _row_35(dirty_db)
    assert row is not None
    assert row[0] is True


def test_repair_without_a_history_table(cli: CliRunner, gordon_empty_db: GordonDatabase) -> None:
    result = cli("repair", "35", "--database-url", gordon_empty_db.dsn, "--yes")
    assert result.code == 1
    assert "has no history table: there is nothing to repair" in result.error_line


def test_repair_waits_for_the_migration_lock(
    cli: CliRunner, dirty_db: GordonDatabase, session_holder: Sessions
) -> None:
    runner = session_holder(dirty_db.dsn)
    runner.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(dirty_db.name),))
    result = cli("repair", "35", "--database-url", dirty_db.dsn, "--yes", "--lock-wait", "0.5")
    assert result.code == 1
    assert "waiting for the migration lock" in result.error_line
    assert f"held by pid {runner.info.backend_pid} (test-holder" in result.error_line
    assert _row_35(dirty_db) == (False, -1)


def test_repair_rechecks_the_row_under_the_lock(dirty_db: GordonDatabase) -> None:
    target = dsn.parse(dirty_db.dsn)
    plan = repair.plan_repair(target, rh.BUNDLE, 35, "done")
    with dirty_db.connect() as conn:  # someone repaired it meanwhile
        conn.execute("UPDATE _sqlx_migrations SET success = TRUE WHERE version = 35")
    with pytest.raises(RecoveryError, match="changed since it was shown"):
        repair.run_repair(target, plan)
    assert _audit(dirty_db) == []


@pytest.mark.embedded_only("builds a standby from the embedded server's binaries")
def test_repair_refuses_a_standby(standby_dsn: str) -> None:
    with pytest.raises(ServerStateError, match="is a standby"):
        repair.plan_repair(dsn.parse(standby_dsn), rh.BUNDLE, 35, "done")


# --- unlock -------------------------------------------------------------------------------


def _alive(conn: Conn) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def test_unlock_with_nobody_holding_the_lock(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    result = cli("unlock", "--database-url", gordon_db.dsn)
    assert result.code == 0
    assert "nobody holds the migration lock" in result.out


def test_unlock_json_with_nobody_holding_the_lock(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    result = cli("unlock", "--database-url", gordon_db.dsn, "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["ok"], report["session"], report["ended"]) == (True, None, False)


def test_unlock_json_reports_the_session_and_the_outcome(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Sessions
) -> None:
    holder = session_holder(gordon_db.dsn)
    holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_db.name),))
    pid = holder.info.backend_pid
    result = cli("unlock", "--database-url", gordon_db.dsn, "--yes", "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["ended"], report["gone"], report["holds_migration_lock"]) == (True, True, True)
    assert report["session"]["pid"] == pid
    assert report["session"]["application_name"] == "test-holder"
    assert report["statement"] == f"SELECT pg_terminate_backend({pid});"
    assert report["database"] == gordon_db.name
    assert f"SELECT pg_terminate_backend({pid});" in result.err
    assert not _alive(holder)


@pytest.mark.usefixtures("no_terminal")
def test_unlock_shows_the_holder_and_ends_it_only_when_confirmed(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Sessions
) -> None:
    holder = session_holder(gordon_db.dsn)
    holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_db.name),))
    pid = holder.info.backend_pid
    refused = cli("unlock", "--database-url", gordon_db.dsn)
    assert refused.code == 1
    assert f"refusing to end pid {pid} without confirmation" in refused.error_line
    assert f"session pid {pid} (test-holder, user postgres, from local socket" in refused.out
    assert "  holds the migration lock (advisory lock " in refused.out
    assert f"  SELECT pg_terminate_backend({pid});" in refused.out
    assert _alive(holder)
    ended = cli("unlock", "--database-url", gordon_db.dsn, "--yes", "--reason", "stuck deploy")
    assert ended.code == 0, ended.err
    assert f"ended pid {pid} (it is gone)" in ended.out
    assert not _alive(holder)
    [entry] = _audit(gordon_db)
    assert (entry["action"], entry["target_pid"], entry["reason"]) == (
        "end session",
        pid,
        "stuck deploy",
    )
    assert entry["state_before"]["application_name"] == "test-holder"
    assert entry["state_after"] == {
        "terminated": True,
        "statement": f"SELECT pg_terminate_backend({pid});",
    }


def test_unlock_typed_confirmation_on_a_terminal(
    gordon_db: GordonDatabase, session_holder: Sessions
) -> None:
    holder = session_holder(gordon_db.dsn)
    holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_db.name),))
    pid = str(holder.info.backend_pid)
    run = rh.run_on_terminal("unlock", "--database-url", gordon_db.dsn, typed=pid)
    assert run.code == 0, run.err
    assert f"Type the pid ({pid}) to confirm" in run.err
    assert not _alive(holder)


def test_unlock_pid_only_for_sessions_that_block_migrations(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Sessions
) -> None:
    idle = session_holder(gordon_db.dsn)
    idle.execute("SELECT count(*) FROM trading.runs")  # no open transaction: holds nothing
    args = ("--database-url", gordon_db.dsn, "--yes")
    refused = cli("unlock", "--pid", str(idle.info.backend_pid), *args)
    assert "holds neither the migration lock nor a lock on a Gordon table" in refused.error_line
    missing = cli("unlock", "--pid", "999999", *args)
    assert "no session with pid 999999 in database" in missing.error_line
    assert _alive(idle)
    idle.execute("BEGIN")
    idle.execute("SELECT count(*) FROM trading.runs")
    ended = cli("unlock", "--pid", str(idle.info.backend_pid), *args)
    assert ended.code == 0, ended.err
    assert "  holds locks on trading.runs (AccessShareLock)" in ended.out
    assert "warning: its open transaction is rolled back" in ended.out
    assert not _alive(idle)


def test_unlock_never_ends_another_session_than_the_one_shown(
    gordon_db: GordonDatabase, session_holder: Sessions
) -> None:
    target = dsn.parse(gordon_db.dsn)
    key = locks.lock_key(gordon_db.name)
    first = session_holder(gordon_db.dsn)
    first.execute("SELECT pg_advisory_lock(%s)", (key,))
    plan = unlock.plan_unlock(target)
    assert plan is not None
    first.execute("SELECT pg_advisory_unlock(%s)", (key,))  # it finished on its own
    with pytest.raises(RecoveryError, match="no longer holds the migration lock"):
        unlock.end_session(target, plan)
    pid = first.info.backend_pid
    first.close()
    # A closed connection's backend exits asynchronously: until it is gone the session is
    # still the one shown (and holds no lock), which the first refusal above covers.
    deadline = time.monotonic() + 30
    with gordon_db.connect() as conn:
        while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, f"pid {pid} never exited"
            time.sleep(0.02)
    with pytest.raises(RecoveryError, match="is no longer the session that was shown"):
        unlock.end_session(target, plan)
    with gordon_db.connect() as conn:
        exists = conn.execute("SELECT to_regclass('public.gordon_migrate_audit')").fetchone()
    assert exists == (None,), "nothing recorded: nothing was done"
