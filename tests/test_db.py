"""The core's one connection path (``db.connection``) and its server facts, on a real server:
no psycopg error gets out, a lost session names what was being done, no password is printed."""

from __future__ import annotations

import threading
import time

import pytest
from psycopg import conninfo

from gordon_migrate.core import db, dsn
from gordon_migrate.core.errors import ConnectionLostError, GordonError, QueryError
from gordon_migrate.testing import GordonDatabase
from tests.support.runner import wait_until

SECRET = "Db9Pa55word"


def _target(database: GordonDatabase) -> dsn.Dsn:
    # The embedded server trusts its socket: the password is carried, never checked.
    return dsn.parse(conninfo.make_conninfo(database.dsn, password=SECRET))


def _blocked_backend(database: GordonDatabase, application_name: str) -> int | None:
    with database.connect() as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s AND wait_event_type = 'Lock'",
            (application_name,),
        ).fetchone()
    return int(row[0]) if row else None


def test_a_backend_killed_mid_read_is_a_lost_connection_naming_the_work(
    gordon_db: GordonDatabase,
) -> None:
    target = _target(gordon_db)
    failures: list[GordonError] = []
    results: list[object] = []

    def read() -> None:
        try:
            with db.connection(
                target, purpose="test read", doing="reading the test rows", read_only=True
            ) as conn:
                results.append(conn.execute("SELECT count(*) FROM public._sqlx_migrations"))
        except GordonError as exc:  # anything else: the thread dies, failures stays empty
            failures.append(exc)

    with gordon_db.connect() as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE public._sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 30
        pid = _blocked_backend(gordon_db, "gordon-migrate test read")
        while pid is None and time.monotonic() < deadline and reader.is_alive():
            time.sleep(0.05)
            pid = _blocked_backend(gordon_db, "gordon-migrate test read")
        assert pid is not None, "the read never queued behind the lock"
        with gordon_db.connect() as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        reader.join(timeout=30)
        blocker.execute("ROLLBACK")
    assert not reader.is_alive()
    assert results == []
    assert len(failures) == 1
    error = failures[0]
    assert isinstance(error, ConnectionLostError), repr(error)
    message = str(error)
    assert message.startswith(
        f"lost the connection to {target.redacted} while reading the test rows: "
    )
    assert "terminating connection due to administrator command" in message
    assert SECRET not in message
    assert "password=***" in message
    # Nothing of it is left behind: the killed session is gone (its backend exits
    # asynchronously, so this waits for it, and fails if it stays).
    wait_until(
        gordon_db.dsn, "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", (pid,)
    )


def test_a_failed_statement_is_a_query_error_or_the_callers_own(
    gordon_db: GordonDatabase,
) -> None:
    target = _target(gordon_db)
    with (
        pytest.raises(QueryError) as failed,
        db.connection(target, purpose="test", doing="writing", read_only=True) as conn,
    ):
        conn.execute("CREATE TABLE public.not_here (id int)")
    assert str(failed.value) == (
        "query failed: SQLSTATE 25006: cannot execute CREATE TABLE in a read-only transaction"
    )
    assert failed.value.fields() == {"sqlstate": "25006", "failure_mode": "FM-28"}
    with (
        pytest.raises(QueryError) as denied,
        db.connection(target, purpose="test", doing="reading") as conn,
    ):
        conn.execute("SET ROLE gordon_drift_reader")
        conn.execute("SELECT count(*) FROM trading.fills")
    assert denied.value.fields() == {"sqlstate": "42501", "failure_mode": "FM-12"}

    class Mine(GordonError):
        pass

    with (
        pytest.raises(Mine) as mine,
        db.connection(
            target,
            purpose="test",
            doing="reading",
            failed=lambda exc: Mine(f"mine: {exc.sqlstate}: {db.error_text(target, exc)}"),
        ) as conn,
    ):
        conn.execute(f"SELECT '{SECRET}'::int")
    assert str(mine.value) == 'mine: 22P02: invalid input syntax for type integer: "***" ' + (
        "LINE 1: SELECT '***'::int ^"
    )

    # A GordonError of the enclosed work passes as it is.
    with (
        pytest.raises(Mine, match=r"^as raised$"),
        db.connection(target, purpose="test", doing="reading"),
    ):
        raise Mine("as raised")
    with gordon_db.connect() as conn:
        row = conn.execute("SELECT to_regclass('public.not_here')").fetchone()
    assert row == (None,)


def test_server_facts(gordon_db: GordonDatabase, gordon_empty_db: GordonDatabase) -> None:
    with db.connect(dsn.parse(gordon_db.dsn), purpose="test") as conn:
        facts = db.server_facts(conn)
        user = conn.execute("SELECT current_user::text").fetchone()
    assert facts == db.ServerFacts(
        database=gordon_db.name,
        user=user[0] if user else "",
        server_version=facts.server_version,
        in_recovery=False,
        history_exists=True,
    )
    assert facts.server_version.split(".")[0].isdigit()
    with db.connect(dsn.parse(gordon_empty_db.dsn), purpose="test") as conn:
        assert db.server_facts(conn).history_exists is False
