"""apply and status on the real bundle: sqlx-compatible history, adoption, idempotence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.apply import history, locks
from gordon_migrate.core import bundle
from gordon_migrate.core.errors import InternalError
from gordon_migrate.sql.split import split
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner
from tests.support.sql import db_state, versions

BUNDLE = bundle.load()


def test_lock_key_matches_published_sqlx_values() -> None:
    assert locks.lock_key("zone") == 2771974297191923538
    assert locks.lock_key("zone_test") == 1283835657316171598


def test_bundle_reads_names_and_checksums_as_sqlx_does() -> None:
    assert [m.version for m in BUNDLE] == list(range(1, 39))
    first = BUNDLE[1]
    assert first.filename == "0002_market_data_tables.sql"
    assert first.description == "market data tables"
    assert first.checksum == hashlib.sha384(first.path.read_bytes()).digest()
    assert len(first.checksum) == 48


def test_fresh_apply_writes_sqlx_history(cli: CliRunner, gordon_empty_db: GordonDatabase) -> None:
    result = cli("apply", "--database-url", gordon_empty_db.dsn)
    assert result.code == 0, result.err
    assert "applied 38 migration(s)" in result.out
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        rows = conn.execute(
            "SELECT version, description, success, checksum, execution_time"
            " FROM public._sqlx_migrations ORDER BY version"
        ).fetchall()
        columns = conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = '_sqlx_migrations'"
            " ORDER BY ordinal_position"
        ).fetchall()
    assert columns == [
        ("version", "bigint", "NO"),
        ("description", "text", "NO"),
        ("installed_on", "timestamp with time zone", "NO"),
        ("success", "boolean", "NO"),
        ("checksum", "bytea", "NO"),
        ("execution_time", "bigint", "NO"),
    ]
    assert [(r[0], r[1], r[2], bytes(r[3])) for r in rows] == [
        (m.version, m.description, True, m.checksum) for m in BUNDLE
    ]
    assert all(int(r[4]) > 0 for r in rows), "execution_time is nanoseconds, never the -1 marker"


def test_second_apply_is_a_noop(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    before = db_state(gordon_db.dsn)
    result = cli("apply", "--database-url", gordon_db.dsn)
    assert result.code == 0, result.err
    assert "up to date: 38 applied, nothing pending" in result.out
    assert db_state(gordon_db.dsn) == before


def test_apply_is_the_default_command_and_options_go_anywhere(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    assert cli("--database-url", gordon_db.dsn).code == 0
    assert cli("--database-url", gordon_db.dsn, "status").code == 0
    assert cli("status", "--database-url", gordon_db.dsn).code == 0
    assert "up to date" in cli("--database-url", gordon_db.dsn, "apply", "--dry-run").out


def test_adopts_a_database_migrated_by_the_rust_tool(
    cli: CliRunner, gordon_empty_db: GordonDatabase
) -> None:
    """Replay what sqlx did for 0001-0020 (schema + its rows), then let us finish the job."""
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        history.create(conn)
        for m in BUNDLE[:20]:
            if m.no_transaction:
                for statement in split(m.sql):
                    conn.execute(statement.text.encode())
            with conn.transaction():
                if not m.no_transaction:
                    conn.execute(m.sql.encode())
                conn.execute(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum,"
                    " execution_time, installed_on)"
                    " VALUES (%s, %s, TRUE, %s, 1234567, '2026-05-01T00:00:00Z')",
                    (m.version, m.description, m.checksum),
                )
    adopted = db_state(gordon_empty_db.dsn).history
    result = cli("apply", "--database-url", gordon_empty_db.dsn, "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["already_applied"] == 20
    assert [step["version"] for step in report["applied"]] == list(range(21, 39))
    assert db_state(gordon_empty_db.dsn).history[:20] == adopted, "the Rust tool's rows untouched"


def test_dry_run_prints_the_plan_and_changes_nothing(
    cli: CliRunner, gordon_empty_db: GordonDatabase
) -> None:
    before = db_state(gordon_empty_db.dsn)
    result = cli("apply", "--dry-run", "--database-url", gordon_empty_db.dsn)
    assert result.code == 0, result.err
    assert "would apply 38 migration(s)" in result.out
    assert "0001  0001_schemas.sql" in result.out
    assert db_state(gordon_empty_db.dsn) == before


def test_status_lists_every_state(
    cli: CliRunner, gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    for m in BUNDLE[:5]:
        (partial / m.filename).write_bytes(m.data)
    assert (
        cli("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(partial)).code
        == 0
    )
    result = cli("status", "--database-url", gordon_empty_db.dsn, "--format", "json")
    assert result.code == 0
    report = json.loads(result.out)
    assert report["counts"]["applied"] == 5
    assert report["counts"]["pending"] == 33
    assert report["ok"] is True
    text = cli("status", "--database-url", gordon_empty_db.dsn).out
    assert "0005    applied" in text
    assert "0006    pending" in text
    assert f"migration lock {locks.lock_key(gordon_empty_db.name)}: free" in text
    assert "last apply: 0005 (0005_trading_bots.sql) at " in text
    assert report["lock"]["holder"] is None
    assert report["last_apply"]["version"] == 5
    assert versions(gordon_empty_db.dsn) == [1, 2, 3, 4, 5]


def test_the_migration_lock_is_never_polled_inside_a_transaction(
    gordon_empty_db: GordonDatabase,
) -> None:
    # A poll inside a transaction would keep a snapshot open across the wait (a CREATE INDEX
    # CONCURRENTLY of the holder would then wait for us): refused as a bug, a Gordon error.
    with gordon_empty_db.connect() as conn:
        conn.autocommit = False
        conn.execute("SELECT 1")
        with pytest.raises(InternalError, match="no transaction open") as caught:
            locks.acquire(conn, locks.lock_key(gordon_empty_db.name), 1.0)
        assert caught.value.fields() == {"failure_mode": "FM-28"}
        held = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert held.fetchone() == (0,)
