"""Every way apply refuses or fails, provoked for real: exit 1, one clear line, nothing lost."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.apply import locks
from gordon_migrate.testing import GordonDatabase, TestServer
from tests.support.auth import MakeScramRole
from tests.support.cli import Bundle, CliRunner
from tests.support.sql import Sessions, db_state, versions

BASE = {
    "0001_create_accounts.sql": (
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(18,2));\n"
    ),
    "0002_seed_accounts.sql": "INSERT INTO accounts VALUES (1, 10.00), (2, 20.00);\n",
}


# A migration that fails on the target would fail on the scratch first, refused before the
# lock (tests/test_rehearse_on_the_fly.py): the tests of the engine's own failure handling
# (rollback, dirty marker, the server's detail) skip the rehearsal as an operator can.
STATIC = "--static-plan"


def _migrate(cli: CliRunner, db: GordonDatabase, root: Path, *extra: str) -> None:
    result = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root), *extra)
    assert result.code == 0, result.err


# --- configuration and connection ---------------------------------------------------------


def test_missing_dsn(cli: CliRunner) -> None:
    result = cli("apply")
    assert result.code == 1
    assert "no database given: pass --database-url URL or set DATABASE_URL" in result.error_line
    assert "--embedded" in result.error_line


def test_malformed_dsn_never_shows_the_password(cli: CliRunner) -> None:
    result = cli("apply", "--database-url", "postgresql://gordon:hunter22secret@[::1/gordon")
    assert result.code == 1
    assert "malformed database URL" in result.error_line
    assert "hunter22secret" not in result.out + result.err
    assert "***" in result.error_line


def test_unreachable_host(cli: CliRunner) -> None:
    result = cli("apply", "--database-url", "postgresql://gordon:hunter22secret@127.0.0.1:9/gordon")
    assert result.code == 1
    assert "cannot connect to postgresql://gordon:***@127.0.0.1:9/gordon" in result.error_line
    assert "Connection refused" in result.error_line
    assert "hunter22secret" not in result.out + result.err


def test_missing_database(cli: CliRunner, gordon_server: TestServer) -> None:
    result = cli("apply", "--database-url", gordon_server.dsn_for("no_such_gordon_db"))
    assert result.code == 1
    assert 'database "no_such_gordon_db" does not exist' in result.error_line
    assert "create the database first" in result.error_line


@pytest.mark.embedded_only("needs to edit pg_hba.conf of the embedded server")
def test_wrong_password(
    cli: CliRunner, gordon_empty_db: GordonDatabase, scram_role: MakeScramRole
) -> None:
    """A role that must authenticate with scram over the socket, given the wrong password."""
    role = scram_role("the-right-one")
    result = cli("apply", "--database-url", role.dsn(gordon_empty_db.dsn, "wrong-hunter22"))
    assert result.code == 1
    assert 'password authentication failed for user "gordon_test_pw"' in result.error_line
    assert "wrong-hunter22" not in result.out + result.err
    assert "password=***" in result.error_line


def test_role_without_privileges_is_refused_before_anything_runs(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN CREATE ROLE gordon_test_weak LOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    before = db_state(gordon_empty_db.dsn)
    weak = gordon_empty_db.dsn_as("gordon_test_weak")
    root = str(bundle_dir(BASE))
    result = cli("apply", "--database-url", weak, "--migrations-dir", root)
    assert result.code == 1
    assert "role gordon_test_weak cannot migrate database" in result.error_line
    assert "CREATE on database" in result.error_line
    assert db_state(gordon_empty_db.dsn) == before
    # The dry run refuses as apply would, with apply's line.
    dry = cli("apply", "--dry-run", "--database-url", weak, "--migrations-dir", root)
    assert dry.code == 1, dry.out
    assert dry.error_line == result.error_line
    assert db_state(gordon_empty_db.dsn) == before


def test_runtime_role_is_refused_with_a_clear_line(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    before = db_state(gordon_db.dsn)
    result = cli("apply", "--database-url", gordon_db.dsn_as("gordon_api"))
    assert result.code == 1
    assert "role gordon_api cannot migrate database" in result.error_line
    assert "it cannot read public._sqlx_migrations. Nothing was run" in result.error_line
    assert db_state(gordon_db.dsn) == before


@pytest.mark.embedded_only("builds a standby from the embedded server's binaries")
def test_standby_is_refused(cli: CliRunner, standby_dsn: str) -> None:
    result = cli("apply", "--database-url", standby_dsn)
    assert result.code == 1
    assert "is a standby (in recovery)" in result.error_line
    assert "Point DATABASE_URL at the primary" in result.error_line


# --- the advisory lock --------------------------------------------------------------------


def test_lock_wait_exceeded_names_the_holder(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    holder = session_holder(gordon_empty_db.dsn)
    holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_empty_db.name),))
    holder_pid = holder.info.backend_pid
    before = db_state(gordon_empty_db.dsn)
    started = time.monotonic()
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(bundle_dir(BASE)),
        "--lock-wait",
        "1",
    )
    assert time.monotonic() - started >= 1.0
    assert result.code == 1
    assert "waiting for the migration lock" in result.error_line
    assert f"held by pid {holder_pid} (test-holder" in result.error_line
    assert db_state(gordon_empty_db.dsn) == before
    status = cli("status", "--database-url", gordon_empty_db.dsn, "--format", "json")
    assert status.code == 0
    assert json.loads(status.out)["lock"]["holder"]["pid"] == holder_pid


def test_lock_released_while_waiting_lets_the_run_proceed(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    key = locks.lock_key(gordon_empty_db.name)
    holder = session_holder(gordon_empty_db.dsn)
    holder.execute("SELECT pg_advisory_lock(%s)", (key,))
    release = threading.Timer(0.5, lambda: holder.execute("SELECT pg_advisory_unlock(%s)", (key,)))
    release.start()
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(bundle_dir(BASE)),
        "--lock-wait",
        "10",
    )
    release.join()
    assert result.code == 0, result.err
    assert versions(gordon_empty_db.dsn) == [1, 2]


# --- failures inside migrations -----------------------------------------------------------


def test_lock_timeout_is_retried_then_fails_cleanly(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    root = bundle_dir(BASE)
    _migrate(cli, gordon_empty_db, root)
    (root / "0003_add_currency.sql").write_text("ALTER TABLE accounts ADD COLUMN currency text;\n")
    blocker = session_holder(gordon_empty_db.dsn)
    blocker_pid = blocker.info.backend_pid
    blocker.execute("BEGIN")
    blocker.execute("SELECT count(*) FROM accounts")  # ACCESS SHARE, held until the end
    before = db_state(gordon_empty_db.dsn)
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(root),
        "--lock-timeout",
        "100ms",
        "--lock-retry-window",
        "1s",
    )
    assert result.code == 1
    line = result.error_line
    assert "migration 0003 (0003_add_currency.sql) line 1 could not get its table lock" in line
    assert "attempt(s) of lock_timeout=100ms" in line
    assert "(lock retry window 1s)" in line
    assert f"blocked by pid {blocker_pid} (test-holder, user " in line
    assert "idle in transaction, in a transaction since" in line
    assert "holding AccessShareLock on public.accounts" in line
    assert "it was rolled back (nothing of it applied)" in line
    # Every retry names the blocker in the log, so a waiting deploy is never a mystery.
    retries = [
        json.loads(event)
        for event in result.err.splitlines()
        if "the migration could not get its lock; rolled back, retrying" in event
    ]
    assert len(retries) >= 3
    assert all(r["blockers"][0]["pid"] == blocker_pid for r in retries)
    assert all(r["blockers"][0]["mode"] == "AccessShareLock" for r in retries)
    blocker.execute("ROLLBACK")
    assert db_state(gordon_empty_db.dsn) == before


def test_lock_timeout_retry_succeeds_once_the_blocker_ends(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    root = bundle_dir(BASE)
    _migrate(cli, gordon_empty_db, root)
    (root / "0003_add_currency.sql").write_text("ALTER TABLE accounts ADD COLUMN currency text;\n")
    blocker = session_holder(gordon_empty_db.dsn)
    blocker.execute("BEGIN")
    blocker.execute("SELECT count(*) FROM accounts")
    end = threading.Timer(1.0, lambda: blocker.execute("ROLLBACK"))
    end.start()
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(root),
        "--format",
        "json",
    )
    end.join()
    assert result.code == 0, result.err
    (step,) = json.loads(result.out)["applied"]
    assert step["version"] == 3
    assert step["attempts"] > 1
    assert versions(gordon_empty_db.dsn) == [1, 2, 3]


def test_migration_header_overrides_the_lock_timeouts(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    root = bundle_dir(BASE)
    _migrate(cli, gordon_empty_db, root)
    (root / "0003_add_currency.sql").write_text(
        "-- a table nobody reads hot: no retries needed\n"
        "-- gordon:lock-timeout 300ms\n"
        "-- gordon:lock-retry-window 0\n"
        "ALTER TABLE accounts ADD COLUMN currency text;\n"
    )
    blocker = session_holder(gordon_empty_db.dsn)
    blocker.execute("BEGIN")
    blocker.execute("SELECT count(*) FROM accounts")
    result = cli("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    assert result.code == 1
    assert "1 attempt(s) of lock_timeout=300ms" in result.error_line
    assert "(lock retry window 0ms)" in result.error_line
    assert '"lock_timeout": "300ms"' in result.err  # the override is logged
    blocker.execute("ROLLBACK")
    assert versions(gordon_empty_db.dsn) == [1, 2]


def test_unreadable_header_directive_is_refused_before_any_lock(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(BASE)
    _migrate(cli, gordon_empty_db, root)
    (root / "0003_add_currency.sql").write_text(
        "-- gordon:lock-timout 2s\nALTER TABLE accounts ADD COLUMN currency text;\n"
    )
    before = db_state(gordon_empty_db.dsn)
    result = cli("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    assert result.code == 1
    assert "migration 0003 (0003_add_currency.sql): cannot read the header directive" in (
        result.error_line
    )
    assert "gordon:lock-timeout" in result.error_line
    assert db_state(gordon_empty_db.dsn) == before


def test_sql_error_names_version_file_sqlstate_and_line(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            **BASE,
            "0003_broken.sql": (
                "-- a patch with a typo in its second statement\n"
                "CREATE TABLE ledger (id bigint PRIMARY KEY);\n"
                "\n"
                "INSERT INTO ledger\n"
                "SELECT id FROM acounts;\n"
            ),
        }
    )
    result = cli(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
    )
    assert result.code == 1
    line = result.error_line
    assert "migration 0003 (0003_broken.sql) line 5 failed: SQLSTATE 42P01" in line
    assert 'relation "acounts" does not exist' in line
    assert "rolled back (nothing of it applied); earlier migrations stay applied" in line
    assert versions(gordon_empty_db.dsn) == [1, 2], "the run's earlier migrations stay applied"
    assert not any("ledger" in o for o in db_state(gordon_empty_db.dsn).objects)


def test_sql_error_carries_the_servers_detail_and_hint(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            "0001_guard.sql": "DO $$ BEGIN RAISE EXCEPTION 'role gordon_x is a member of admins'"
            " USING DETAIL = 'it would inherit their privileges',"
            " HINT = 'REVOKE admins FROM gordon_x'; END $$;\n"
        }
    )
    result = cli(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
    )
    assert result.code == 1
    assert (
        "SQLSTATE P0001: role gordon_x is a member of admins (it would inherit their privileges)"
        " (REVOKE admins FROM gordon_x)" in result.error_line
    )


def test_statement_timeout(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir({**BASE, "0003_slow_backfill.sql": "SELECT pg_sleep(5);\n"})
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(root),
        "--statement-timeout",
        "200ms",
    )
    assert result.code == 1
    assert (
        "migration 0003 (0003_slow_backfill.sql) line 1 was cancelled by statement_timeout=200ms"
        in result.error_line
    )
    assert "SQLSTATE 57014" in result.error_line
    assert versions(gordon_empty_db.dsn) == [1, 2]


def test_insufficient_privilege_inside_a_migration(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir({"0001_make_role.sql": "ALTER ROLE postgres NOSUPERUSER;\n"})
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN CREATE ROLE gordon_test_owner LOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(f'GRANT CREATE ON DATABASE "{gordon_empty_db.name}" TO gordon_test_owner')
        conn.execute("GRANT CREATE ON SCHEMA public TO gordon_test_owner")
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn_as("gordon_test_owner"),
        "--migrations-dir",
        str(root),
        STATIC,
    )
    assert result.code == 1
    assert "SQLSTATE 42501" in result.error_line
    assert "connect as the migration-privileged (bootstrap) role" in result.error_line
    assert versions(gordon_empty_db.dsn) == []


# --- an inconsistent history: refuse before running anything ------------------------------


def _pending_bundle(bundle_dir: Bundle) -> Path:
    return bundle_dir(
        {**BASE, "0003_add_index.sql": "CREATE INDEX accounts_balance ON accounts (balance);\n"}
    )


def _refused(cli: CliRunner, db: GordonDatabase, root: Path, expected: str) -> None:
    before = db_state(db.dsn)
    result = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root))
    assert result.code == 1
    assert expected in result.error_line
    assert "Nothing was run" in result.error_line
    assert db_state(db.dsn) == before
    status = cli("status", "--database-url", db.dsn, "--migrations-dir", str(root))
    assert status.code == 1
    assert "INCONSISTENT" in status.out


def test_dirty_row_refuses(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    _migrate(cli, gordon_empty_db, bundle_dir(BASE))
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        conn.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 2")
    _refused(
        cli,
        gordon_empty_db,
        _pending_bundle(bundle_dir),
        "migration 0002 (0002_seed_accounts.sql) is dirty",
    )


def test_checksum_mismatch_refuses(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    _migrate(cli, gordon_empty_db, bundle_dir(BASE))
    edited = _pending_bundle(bundle_dir)
    (edited / "0002_seed_accounts.sql").write_text("INSERT INTO accounts VALUES (1, 10.00);\n")
    _refused(
        cli,
        gordon_empty_db,
        edited,
        "migration 0002 (0002_seed_accounts.sql) was edited after it was applied",
    )


def test_crlf_checkout_is_a_checksum_mismatch(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    """Why .gitattributes keeps migrations byte-exact: line endings are part of the checksum."""
    _migrate(cli, gordon_empty_db, bundle_dir(BASE))
    crlf = bundle_dir({k: v.replace("\n", "\r\n") for k, v in BASE.items()})
    result = cli("status", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(crlf))
    assert result.code == 1
    assert "CHECKSUM MISMATCH" in result.out


def test_unknown_applied_version_refuses(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    newer = bundle_dir({**BASE, "0003_newer.sql": "CREATE TABLE newer (id int);\n"})
    _migrate(cli, gordon_empty_db, newer)
    older = _pending_bundle(bundle_dir)
    (older / "0003_add_index.sql").unlink()
    _refused(
        cli,
        gordon_empty_db,
        older,
        "has migration 0003 ('newer') applied, but this bundle does not contain it",
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"0001_ok.sql": "SELECT 1;", "create_things.sql": "SELECT 1;"},
            "malformed migration file name 'create_things.sql'",
        ),
        (
            {"0001_ok.sql": "SELECT 1;", "0001_again.sql": "SELECT 1;"},
            "duplicate migration version 1",
        ),
        ({"0001_ok.up.sql": "SELECT 1;"}, "malformed migration file name '0001_ok.up.sql'"),
    ],
)
def test_malformed_bundle_refuses(
    cli: CliRunner,
    gordon_empty_db: GordonDatabase,
    bundle_dir: Bundle,
    files: dict[str, str],
    expected: str,
) -> None:
    before = db_state(gordon_empty_db.dsn)
    result = cli(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(bundle_dir(files))
    )
    assert result.code == 1
    assert expected in result.error_line
    assert db_state(gordon_empty_db.dsn) == before


def test_bundle_that_is_not_utf8_refuses(
    cli: CliRunner, gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    (tmp_path / "0001_latin1.sql").write_bytes("SELECT 'caf\xe9';".encode("latin-1"))
    result = cli("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(tmp_path))
    assert result.code == 1
    assert "0001_latin1.sql is not valid UTF-8" in result.error_line


# --- no-transaction migrations ------------------------------------------------------------


def test_no_transaction_migration_runs_concurrent_index_builds(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            **BASE,
            "0003_concurrent_indexes.sql": (
                "-- no-transaction\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_balance ON accounts (balance);\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_id_balance\n"
                "    ON accounts (id, balance);\n"
            ),
        }
    )
    _migrate(cli, gordon_empty_db, root)
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        row = conn.execute(
            "SELECT success, execution_time FROM _sqlx_migrations WHERE version = 3"
        ).fetchone()
        indexes = conn.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname IN ('accounts_balance', 'accounts_id_balance') AND i.indisvalid"
        ).fetchone()
    assert row is not None
    assert row[0] is True
    assert int(str(row[1])) > 0
    assert indexes == (2,)


def test_failed_no_transaction_migration_leaves_a_dirty_marker(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            **BASE,
            "0003_concurrent_indexes.sql": (
                "-- no-transaction\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_balance ON accounts (balance);\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_missing ON accounts (nope);\n"
            ),
        }
    )
    result = cli(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
    )
    assert result.code == 1
    line = result.error_line
    assert "migration 0003 (0003_concurrent_indexes.sql) line 3 failed: SQLSTATE 42703" in line
    assert "its history row is dirty" in line
    assert "gordon-migrate repair 3" in line
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        row = conn.execute(
            "SELECT success, execution_time FROM _sqlx_migrations WHERE version = 3"
        ).fetchone()
    assert row == (False, -1)
    # Every step of it is one apply can redo: the next run resumes it (the valid first index is
    # kept by IF NOT EXISTS), and meets the same error, leaving the same dirty marker.
    again = cli(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
    )
    assert again.code == 1
    assert "resuming a dirty no-transaction migration" in again.err
    assert "line 3 failed: SQLSTATE 42703" in again.error_line
