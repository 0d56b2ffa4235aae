"""diagnose, status and unlock run as a non-superuser migration role (issue 10, item 9):
pg_stat_activity hides other roles' sessions from it, pg_locks does not. The blocker is a
real login of a runtime role; the migration role is a real login with only what it needs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from gordon_migrate.apply import locks
from gordon_migrate.testing import GordonDatabase, unique_name
from tests.support.cli import run_process
from tests.support.sql import Sessions


@pytest.fixture
def migrator(gordon_db: GordonDatabase) -> Iterator[str]:
    """A login role that may migrate this database, not a superuser, without
    pg_read_all_stats."""
    name = unique_name("gordon_test_migrator")
    role = sql.Identifier(name)
    with gordon_db.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(role))
        conn.execute(
            sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(gordon_db.name), role
            )
        )
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE ON public._sqlx_migrations TO {}").format(role)
        )
    yield name
    with gordon_db.connect() as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        conn.execute(sql.SQL("DROP ROLE {}").format(role))


def _blocking_step(dsn: str) -> dict[str, Any]:
    done = run_process(
        "diagnose", "--lock-timeout", "1s", "--format", "json", "--database-url", dsn
    )
    step: dict[str, Any] = next(
        s for s in json.loads(done.stdout)["steps"] if s["probe"] == "blocking_sessions"
    )
    return step


def test_a_hidden_blocker_is_found_through_its_locks(
    gordon_db: GordonDatabase, migrator: str, session_holder: Sessions
) -> None:
    blocker = session_holder(gordon_db.dsn_as("gordon_trading"))
    blocker.execute("BEGIN")
    blocker.execute("SELECT count(*) FROM trading.order_intents")
    pid = blocker.info.backend_pid
    as_migrator = gordon_db.dsn_as(migrator)
    with psycopg.connect(as_migrator) as conn:  # what the role sees: no state, no statement
        row = conn.execute(
            "SELECT state, backend_start FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
    assert row == (None, None)

    step = _blocking_step(as_migrator)
    assert step["status"] == "warning", step  # in nobody's way: found, and not an incident
    details = "\n".join(map(str, step["details"]))
    assert f"pid {pid} (test-holder, user gordon_trading; client hidden)" in details
    assert "state, start and statement hidden (needs pg_read_all_stats)" in details
    assert "the same transaction held its locks for at least 1.0s" in details
    assert "holds trading.order_intents (AccessShareLock)" in details
    assert f"GRANT pg_read_all_stats TO {migrator}" in details
    assert step["commands"] == [f"gordon-migrate unlock --pid {pid}"]

    # unlock plans it too (ending it needs pg_signal_backend: not asked here)
    plan = run_process("unlock", "--pid", str(pid), "--database-url", as_migrator)
    assert f"pid {pid}" in plan.stdout, plan.stdout + plan.stderr
    assert "holds neither" not in plan.stderr
    assert "its open transaction is rolled back" in plan.stdout

    with gordon_db.connect() as conn:
        conn.execute(sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(migrator)))
    step = _blocking_step(as_migrator)
    details = "\n".join(map(str, step["details"]))
    assert "idle in transaction for" in details
    assert "last statement: SELECT count(*) FROM trading.order_intents" in details
    assert "pg_read_all_stats" not in details


def test_a_short_hidden_transaction_is_not_a_blocker(
    gordon_db: GordonDatabase, migrator: str, session_holder: Sessions
) -> None:
    """Watched twice: a transaction that ends in between is not reported."""
    other = session_holder(gordon_db.dsn_as("gordon_trading"))
    other.execute("SELECT count(*) FROM trading.order_intents")  # autocommit: no lock kept
    step = _blocking_step(gordon_db.dsn_as(migrator))
    assert step["status"] == "ok", step


def test_status_names_a_hidden_lock_holder_honestly(
    gordon_db: GordonDatabase, migrator: str, session_holder: Sessions
) -> None:
    holder = session_holder(gordon_db.dsn)  # the superuser: another role
    holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_db.name),))
    pid = holder.info.backend_pid
    done = run_process("status", "--database-url", gordon_db.dsn_as(migrator))
    assert done.returncode == 0, done.stderr
    assert (
        f"held by pid {pid} (test-holder, user postgres; its client, start and state are hidden "
        "from this role: membership in pg_read_all_stats shows them)"
    ) in done.stdout
    assert "connected since ?" not in done.stdout
    diagnosed = run_process(
        "diagnose", "--format", "json", "--database-url", gordon_db.dsn_as(migrator)
    )
    lock = next(s for s in json.loads(diagnosed.stdout)["steps"] if s["probe"] == "migration_lock")
    assert lock["status"] == "problem"
    assert any(f"GRANT pg_read_all_stats TO {migrator}" in d for d in lock["details"])


def test_tui_blocking_sessions_say_what_is_hidden(
    gordon_db: GordonDatabase, migrator: str, session_holder: Sessions
) -> None:
    from textual.pilot import Pilot
    from textual.widgets import Static

    from gordon_migrate.tui.app import GordonApp
    from gordon_migrate.tui.screens.overview import OverviewScreen
    from gordon_migrate.tui.screens.sessions import SessionsModal
    from tests.support.tui import drive, loaded, make_app, text_of, wait_for

    blocker = session_holder(gordon_db.dsn_as("gordon_trading"))
    blocker.execute("BEGIN")
    blocker.execute("SELECT count(*) FROM trading.order_intents")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        await pilot.press("b")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, SessionsModal) and app.screen.found is not None,
            "the blocking sessions",
            timeout=60,
        )
        modal = app.screen
        assert isinstance(modal, SessionsModal) and modal.found is not None
        assert [s.pid for s in modal.found] == [blocker.info.backend_pid]
        detail = " ".join(text_of(modal.query_one("#detail", Static)).split())
        assert "holds trading.order_intents (AccessShareLock)" in detail
        assert "membership in pg_read_all_stats shows them" in detail

    drive(make_app(gordon_db.dsn_as(migrator)), scenario)
