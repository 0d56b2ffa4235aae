"""A bundled no-transaction migration interrupted anywhere is resumed by a plain re-run of
apply: no manual SQL after any single failure (issue 23).

For every bundled ``-- no-transaction`` migration and every statement in it, apply is stopped
there for real (SIGTERM, a statement cancelled by another session, the connection killed)
while the statement waits on a writer, which leaves the dirty row and the INVALID index a
failed ``CREATE INDEX CONCURRENTLY`` leaves. Then a plain ``apply`` must end with the history
complete, every index valid, drift-check clean, and an audit row saying what it undid.
"""

from __future__ import annotations

import signal

import psycopg
import pytest

from gordon_migrate.apply import leftovers
from gordon_migrate.core import bundle
from gordon_migrate.sql.split import split
from gordon_migrate.testing import GordonDatabase
from tests.support import recovery as rh
from tests.support.cli import Bundle, CliRunner, error_event
from tests.support.runner import RUNNER_APP, spawn, wait_until
from tests.support.sql import Sessions, versions

BUNDLE = bundle.load()
NO_TRANSACTION = [m for m in BUNDLE if m.no_transaction]
CASES = [
    (m.version, n, how)
    for m in NO_TRANSACTION
    for n in range(len(split(m.sql)))
    for how in ("sigterm", "cancel", "terminate")
]


_INVALID = "SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready"


def test_the_bundle_has_no_transaction_migrations_to_prove() -> None:
    assert [m.version for m in NO_TRANSACTION] == [13, 35]


@pytest.mark.parametrize(("version", "statement", "how"), CASES)
def test_an_interrupted_no_transaction_migration_is_resumed_by_a_plain_apply(
    cli: CliRunner,
    db_at: rh.DatabaseAt,
    session_holder: Sessions,
    version: int,
    statement: int,
    how: str,
) -> None:
    migration = next(m for m in BUNDLE if m.version == version)
    stmt = split(migration.sql)[statement]
    db = db_at(version - 1)
    table = stmt.text.split(" ON ")[1].split()[0]
    writer = session_holder(db.dsn)
    writer.execute("BEGIN")
    writer.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")  # as an open INSERT would
    runner = spawn("apply", "--database-url", db.dsn)
    # The index is in the catalog, INVALID, and its build waits for the writer.
    wait_until(
        db.dsn,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s"
        " AND wait_event_type = 'Lock' AND query LIKE '%%CONCURRENTLY%%'"
        " AND datname = current_database())"
        f" AND ({_INVALID}) = 1",
        (RUNNER_APP,),
    )
    if how == "sigterm":
        runner.send_signal(signal.SIGTERM)
    else:
        function = "pg_cancel_backend" if how == "cancel" else "pg_terminate_backend"
        with db.connect() as conn:
            conn.execute(
                f"SELECT {function}(pid) FROM pg_stat_activity WHERE application_name LIKE %s"
                " AND datname = current_database()",
                (RUNNER_APP,),
            )
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 1
    assert "dirty" in error_event(err) or "INVALID" in error_event(err), err
    writer.execute("ROLLBACK")
    with db.connect() as conn:
        assert conn.execute(_INVALID).fetchone() == (1,)
    status = cli("status", "--database-url", db.dsn)
    assert f"{version:04d}: apply resumes it by itself: drops the INVALID index" in status.out

    resumed = cli("apply", "--database-url", db.dsn)
    assert resumed.code == 0, resumed.err
    assert versions(db.dsn) == [m.version for m in BUNDLE]
    with db.connect() as conn:
        assert conn.execute(_INVALID).fetchone() == (0,)
        audit = conn.execute(
            "SELECT action, version, state_before->>'success' FROM public.gordon_migrate_audit"
        ).fetchall()
    assert audit == [("resume", version, "false")]
    drift = cli("drift-check", "--database-url", db.dsn_as("gordon_drift_reader"))
    assert drift.code == 0, drift.out


def _dirty(db: GordonDatabase, version: int) -> None:
    """A dirty row for ``version`` as an interrupted run leaves it (file unchanged)."""
    migration = next(m for m in BUNDLE if m.version == version)
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO public._sqlx_migrations (version, description, success, checksum,"
            " execution_time) VALUES (%s, %s, false, %s, -1)",
            (version, migration.description, migration.checksum),
        )


def test_a_valid_index_someone_else_made_under_that_name_is_refused_and_nothing_changes(
    cli: CliRunner, db_at: rh.DatabaseAt
) -> None:
    db = db_at(34)
    with db.connect() as conn:  # not what 0035 builds: another column
        conn.execute("CREATE INDEX fills_filled_at_idx ON trading.fills (intent_id)")
    _dirty(db, 35)
    failed = cli("apply", "--database-url", db.dsn)
    assert failed.code == 1
    line = error_event(failed.err)
    assert "is dirty" in line
    assert "apply does not resume it by itself" in line
    assert "a valid index trading.fills_filled_at_idx exists with another definition" in line
    with db.connect() as conn:
        kept = conn.execute(
            "SELECT indisvalid FROM pg_index"
            " WHERE indexrelid = 'trading.fills_filled_at_idx'::regclass"
        ).fetchone()
        audit = conn.execute("SELECT to_regclass('public.gordon_migrate_audit')").fetchone()
    assert kept == (True,), "someone else's index is left alone"
    assert audit == (None,), "nothing was done, so nothing was audited"
    assert versions(db.dsn)[-1] == 35


def test_a_valid_index_the_migration_itself_built_counts_as_done(
    cli: CliRunner, db_at: rh.DatabaseAt
) -> None:
    db = db_at(34)
    with db.connect() as conn:  # the build finished; the row was never marked done
        conn.execute("CREATE INDEX CONCURRENTLY fills_filled_at_idx ON trading.fills (filled_at)")
    _dirty(db, 35)
    resumed = cli("apply", "--database-url", db.dsn)
    assert resumed.code == 0, resumed.err
    assert versions(db.dsn) == [m.version for m in BUNDLE]


def test_leftovers_of_a_migration_apply_cannot_redo_stay_a_refusal(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            "0001_t.sql": "CREATE TABLE t (id int, v int);\n",
            "0002_backfill.sql": (
                "-- no-transaction\nCOMMENT ON TABLE t IS 'v is indexed';\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_v_idx ON t (v);\n"
            ),
        }
    )
    db = gordon_empty_db
    assert cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root)).code == 0
    with db.connect() as conn:
        conn.execute("UPDATE public._sqlx_migrations SET success = false WHERE version = 2")
    failed = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root))
    assert failed.code == 1
    line = error_event(failed.err)
    assert "`COMMENT ON TABLE t IS 'v is indexed'` is not a step apply can undo and" in line
    with db.connect() as conn:
        found = leftovers.inspect(conn, bundle.load(root)[1])
    assert found.refusal is not None
    assert [s.state for s in found.steps] == ["unknown", "valid"]


def test_an_interrupted_reindex_concurrently_leaves_copies_the_resume_drops(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    db = gordon_empty_db
    base = {"0001_t.sql": "CREATE TABLE t (id int);\nCREATE INDEX t_id_idx ON t (id);\n"}
    root = bundle_dir(
        {**base, "0002_reindex.sql": "-- no-transaction\nREINDEX INDEX CONCURRENTLY t_id_idx;\n"}
    )
    assert (
        cli("apply", "--database-url", db.dsn, "--migrations-dir", str(bundle_dir(base))).code == 0
    )
    writer = session_holder(db.dsn)
    writer.execute("BEGIN")
    writer.execute("LOCK TABLE t IN ROW EXCLUSIVE MODE")
    runner = spawn("apply", "--database-url", db.dsn, "--migrations-dir", str(root))
    wait_until(
        db.dsn,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s"
        " AND wait_event_type = 'Lock' AND datname = current_database())"
        " AND EXISTS (SELECT 1 FROM pg_class WHERE relname LIKE 't_id_idx_ccnew%%')",
        (RUNNER_APP,),
    )
    runner.send_signal(signal.SIGTERM)
    runner.communicate(timeout=60)
    writer.execute("ROLLBACK")
    resumed = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root))
    assert resumed.code == 0, resumed.err
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        left = conn.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE 't_id_idx%' ORDER BY 1"
        ).fetchall()
        invalid = conn.execute(_INVALID).fetchone()
    assert left == [("t_id_idx",)]
    assert invalid == (0,)
