"""The operator TUI driven by Textual's Pilot against a real database (no mocks).

Tests wait for states (a screen holding data, a dialog reaching a phase), never for a fixed
time. pytest-asyncio is not needed: each test runs its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Static

from gordon_migrate.apply import locks
from gordon_migrate.core import bundle, dsn
from gordon_migrate.testing import GordonDatabase, TestServer
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.actions import (
    RepairChoiceModal,
    RepairModal,
    UnlockModal,
)
from gordon_migrate.tui.screens.apply import ApplyModal
from gordon_migrate.tui.screens.drift import DriftScreen
from gordon_migrate.tui.screens.grants import ColumnGrantsModal, GrantsScreen
from gordon_migrate.tui.screens.migrations import MigrationsScreen
from gordon_migrate.tui.screens.overview import OverviewScreen
from gordon_migrate.tui.screens.runbook import RunbookScreen, RunbookState
from gordon_migrate.tui.screens.sessions import SessionsModal
from tests.support.sql import versions
from tests.support.tui import (
    confirm_typed,
    drive,
    failed,
    loaded,
    make_app,
    make_app_with_fixtures,
    text_of,
    wait_for,
)


def test_textual_stays_out_of_the_cli_and_the_core() -> None:
    """``gordon-migrate apply`` must not pay for Textual: nothing outside tui/ imports it."""
    code = (
        "import pkgutil, importlib, sys, gordon_migrate\n"
        "import gordon_migrate.cli, gordon_migrate.cli.tui\n"
        "for m in pkgutil.walk_packages(gordon_migrate.__path__, 'gordon_migrate.'):\n"
        "    if not m.name.startswith(('gordon_migrate.tui', 'gordon_migrate.testing')):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'textual'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_overview_shows_where_we_are_and_the_counts(gordon_db: GordonDatabase) -> None:
    app = make_app(gordon_db)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        data = await loaded(pilot, OverviewScreen)
        assert data.status.database == gordon_db.name
        assert data.applied == len(bundle.load())
        assert (data.pending, data.failed, data.lock_holder) == (0, 0, None)
        assert "***" in data.target or "password" not in gordon_db.dsn

    drive(app, scenario)


def test_pending_migrations_are_listed(gordon_empty_db: GordonDatabase) -> None:
    app = make_app(gordon_empty_db)
    every = bundle.load()

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        data = await loaded(pilot, OverviewScreen)
        assert data.pending == len(every)
        await pilot.press("2")
        await loaded(pilot, MigrationsScreen)
        table = app.screen.query_one("#table", DataTable)
        assert table.row_count == len(every)
        first = table.get_row_at(0)
        assert (first[0], str(first[1])) == (f"{every[0].version:04d}", "pending")
        assert all(str(table.get_row_at(i)[1]) == "pending" for i in range(table.row_count))

    drive(app, scenario)


async def _open_apply(pilot: Pilot[int]) -> ApplyModal:
    await pilot.press("a")
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ApplyModal) and app.screen.phase != "planning",
        "the apply plan",
    )
    modal = app.screen
    assert isinstance(modal, ApplyModal)
    return modal


def test_apply_runs_only_after_confirmation_and_reports_each_migration(
    gordon_empty_db: GordonDatabase,
) -> None:
    app = make_app(gordon_empty_db)
    every = bundle.load()

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        # Cancel: nothing runs.
        modal = await _open_apply(pilot)
        assert modal.phase == "confirm"
        assert modal.plan is not None
        assert [m.version for m in modal.plan.planned] == [m.version for m in every]
        steps = modal.query_one("#steps", DataTable)
        assert steps.row_count == len(every)
        assert modal.query_one("#cancel", Button).has_focus  # Enter alone changes nothing
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "the dialog closed")
        with gordon_empty_db.connect() as conn:
            row = conn.execute("SELECT to_regclass('public._sqlx_migrations')").fetchone()
        assert row == (None,)
        # Confirm: everything runs, reported migration by migration.
        modal = await _open_apply(pilot)
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: modal.phase in {"done", "failed"}, "the apply to end")
        assert modal.phase == "done", modal.failure
        assert modal.result is not None
        assert [s.version for s in modal.result.applied] == [m.version for m in every]
        steps = modal.query_one("#steps", DataTable)
        cells = [str(steps.get_cell(str(m.version), "progress")) for m in every]
        assert all(cell.startswith("✓ ") and cell.endswith(" ms") for cell in cells), cells
        assert versions(gordon_empty_db.dsn) == [m.version for m in every]
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, OverviewScreen)
                and app.screen.data is not None
                and app.screen.data.pending == 0
            ),
            "the overview to reload after the apply",
        )
        data = await loaded(pilot, OverviewScreen)
        assert data.applied == len(every)

    drive(app, scenario)


def test_apply_with_nothing_pending_says_so(gordon_db: GordonDatabase) -> None:
    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        modal = await _open_apply(pilot)
        assert modal.phase == "nothing"
        assert not modal.query_one("#confirm").display
        await pilot.press("escape")

    drive(make_app(gordon_db), scenario)


def test_apply_refused_on_a_dirty_history_shows_the_engine_message(
    gordon_db: GordonDatabase,
) -> None:
    with gordon_db.connect() as conn:
        conn.execute("UPDATE public._sqlx_migrations SET success = false WHERE version = 12")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        data = await loaded(pilot, OverviewScreen)
        assert data.failed == 1
        modal = await _open_apply(pilot)
        assert modal.phase == "failed"
        assert modal.failure is not None
        assert "is dirty" in modal.failure
        assert "gordon-migrate repair 12" in modal.failure

    drive(make_app(gordon_db), scenario)


def test_a_dropped_database_shows_an_error_in_place_and_recovers_on_refresh(
    gordon_server: TestServer, gordon_template: str, gordon_db: GordonDatabase
) -> None:
    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        gordon_server.drop_database(gordon_db.name)
        await pilot.press("r")
        message = await failed(pilot, OverviewScreen)
        assert message.startswith("cannot connect to ")
        assert "does not exist" in message
        assert "Traceback" not in message
        gordon_server.create_database(gordon_db.name, gordon_template)
        await pilot.press("r")
        data = await loaded(pilot, OverviewScreen)
        assert data.applied == len(bundle.load())

    drive(make_app(gordon_db), scenario)


def test_a_terminated_backend_shows_connection_lost_and_recovers_on_refresh(
    gordon_db: GordonDatabase,
) -> None:
    """The TUI's own backend is killed mid-read (it waits on a table lock meanwhile)."""
    blocker = gordon_db.connect()
    app = make_app(gordon_db)

    def tui_backend() -> int | None:
        with gordon_db.connect() as conn:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'gordon-migrate tui overview' AND wait_event_type = 'Lock'"
            ).fetchone()
        return int(row[0]) if row else None

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        try:
            await loaded(pilot, OverviewScreen)
            blocker.execute("BEGIN")
            blocker.execute("LOCK TABLE public._sqlx_migrations IN ACCESS EXCLUSIVE MODE")
            await pilot.press("r")
            await wait_for(pilot, lambda: tui_backend() is not None, "the TUI to block")
            with gordon_db.connect() as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (tui_backend(),))
            message = await failed(pilot, OverviewScreen)
            assert message.startswith("lost the connection to "), message
            assert "while reading the overview" in message
        finally:
            blocker.execute("ROLLBACK")
        await pilot.press("r")
        data = await loaded(pilot, OverviewScreen)
        assert data.applied == len(bundle.load())

    try:
        drive(app, scenario)
    finally:
        blocker.close()


def test_unreachable_server_is_one_line_in_place() -> None:
    app = make_app("postgresql://nobody:s3cretpass@127.0.0.1:9/gordon")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        message = await failed(pilot, OverviewScreen)
        assert message.startswith("cannot connect to postgresql://nobody:***@127.0.0.1:9/gordon")
        assert "s3cretpass" not in message
        assert "\n" not in message

    drive(app, scenario)


def test_palette_reaches_screens_and_actions(gordon_db: GordonDatabase) -> None:
    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        names = [c.name for c in app.palette_commands()]
        for wanted in ("Show Overview", "Show Migrations", "Refresh", "Apply pending", "Quit"):
            assert any(n.startswith(wanted) for n in names), (wanted, names)
        await pilot.press("ctrl+p")
        await pilot.press(*"show migrations")
        await pilot.pause()
        await pilot.press("enter")
        await loaded(pilot, MigrationsScreen)

    drive(make_app(gordon_db), scenario)


def test_q_quits_with_exit_code_0(gordon_db: GordonDatabase) -> None:
    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        await pilot.press("q")

    app = make_app(gordon_db)
    drive(app, scenario)
    assert app.return_code == 0


def test_migrations_screen_shows_sql_and_history_of_the_selected_one(
    gordon_db: GordonDatabase,
) -> None:
    with gordon_db.connect() as conn:
        conn.execute(
            "UPDATE public._sqlx_migrations SET checksum = '\\x00'::bytea WHERE version = 3"
        )

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("2")
        data = await loaded(pilot, MigrationsScreen)
        screen = app.screen
        assert isinstance(screen, MigrationsScreen)
        table = screen.query_one("#table", DataTable)
        # Opens on what needs attention: the edited migration.
        assert table.cursor_row == 2
        history = screen.query_one("#history", Static)
        assert "DIFFERS from the file" in text_of(history)
        assert data.records[2].checksum_matches is False
        sql = text_of(screen.query_one("#sql", Static))
        assert "CREATE TABLE" in sql
        await pilot.press("down")
        await wait_for(pilot, lambda: "0004 " in text_of(history), "0004 to be shown")
        assert "matches the file" in text_of(history)

    drive(make_app(gordon_db), scenario)


def test_connection_failure_is_described_like_the_cli(gordon_db: GordonDatabase) -> None:
    from gordon_migrate.core.db import connection
    from gordon_migrate.core.errors import GordonError
    from gordon_migrate.tui.context import describe_failure

    # A failed query reaches the TUI as the core's GordonError (db.connection maps it).
    with (
        pytest.raises(GordonError) as failed,
        connection(dsn.parse(gordon_db.dsn), purpose="test", doing="reading x") as conn,
    ):
        conn.execute("SELECT * FROM x")
    assert describe_failure(failed.value) == (
        'query failed: SQLSTATE 42P01: relation "x" does not exist LINE 1: SELECT * FROM x ^'
    )
    assert describe_failure(ValueError("boom")).startswith("internal error (ValueError): boom")


def _run_in_terminal(args: list[str], env: dict[str, str], keys: bytes, seen: bytes) -> int:
    """Run ``gordon-migrate tui ARGS`` on a real pseudo-terminal (80x24): wait until the
    screen shows ``seen``, type ``keys``, return the exit code."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env, TERM="xterm-256color")
    from gordon_migrate.cli import COMMANDS

    if "tui" in COMMANDS:  # registered: the real entry point
        command = [sys.executable, "-m", "gordon_migrate.cli", "tui", *args]
    else:
        code = "from gordon_migrate.cli.tui import tui; tui(prog_name='gordon-migrate tui')"
        command = [sys.executable, "-c", code, *args]
    proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=full_env)
    os.close(slave)
    screen = b""

    def read(until: Callable[[], bool], timeout: float) -> None:
        nonlocal screen
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    screen += os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    return

    try:
        read(lambda: seen in screen, 20)
        assert seen in screen, screen[-2000:]
        os.write(master, keys)
        read(lambda: proc.poll() is not None, 20)
        return proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_the_command_runs_on_a_terminal_and_q_exits_0(gordon_db: GordonDatabase) -> None:
    """The real command, on a pty: DATABASE_URL (and --database-url) like every command."""
    assert _run_in_terminal([], {"DATABASE_URL": gordon_db.dsn}, b"q", b"applied") == 0
    assert _run_in_terminal(["--database-url", gordon_db.dsn], {}, b"q", b"applied") == 0


# --- Drift, Grants, Runbook -------------------------------------------------------------------


def test_an_out_of_band_change_shows_in_drift_with_its_diff(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)
    with gordon_db.connect() as conn:
        conn.execute("ALTER TABLE trading.fills ADD COLUMN hotfix_note text")
        conn.execute("ALTER TABLE trading.fills ALTER COLUMN fee SET DEFAULT 1")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("3")
        report = await loaded(pilot, DriftScreen)
        assert not report.check("schema").ok
        screen = app.screen
        assert isinstance(screen, DriftScreen)
        table = screen.query_one("#table", DataTable)
        objects = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert objects == ["column trading.fills.fee", "column trading.fills.hotfix_note"]
        assert "✗" in text_of(screen.query_one("#checks", Static))
        diff = screen.query_one("#difference", Static)
        assert "-default: 0" in text_of(diff)
        assert "+default: 1" in text_of(diff)
        await pilot.press("down")
        await wait_for(pilot, lambda: "hotfix_note" in text_of(diff), "the added column's diff")
        shown = text_of(diff)
        assert "unexpected" in shown
        assert "- (absent)" in shown
        assert "+type: text" in shown

    drive(app, scenario)


def test_a_grant_change_is_marked_in_grants(gordon_db: GordonDatabase, tmp_path: Path) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)
    with gordon_db.connect() as conn:
        conn.execute("GRANT INSERT ON trading.fills TO gordon_api")
        conn.execute("REVOKE SELECT ON trading.fills FROM gordon_risk")
        conn.execute("GRANT UPDATE (fee) ON trading.fills TO gordon_api")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("4")
        data = await loaded(pilot, GrantsScreen)
        assert [(o, r) for o, r, _ in data.objects.mismatches] == [
            ("table trading.fills", "gordon_api"),
            ("table trading.fills", "gordon_risk"),
        ]
        screen = app.screen
        assert isinstance(screen, GrantsScreen)
        table = screen.query_one("#table", DataTable)
        row = table.get_row("table trading.fills")
        api = row[1 + data.objects.roles.index("gordon_api")]
        risk = row[1 + data.objects.roles.index("gordon_risk")]
        assert isinstance(api, Text)
        assert isinstance(risk, Text)
        # The CLI's cell (``grants``): actual, then ``!expected`` on a mismatch.
        assert (api.plain, risk.plain) == ("ar!r", "-!r")
        assert "red" in str(api.style)
        assert str(row[0]).startswith("! ")
        # The cursor opens on the first mismatching cell; it says both sides in words.
        cell = text_of(screen.query_one("#cell", Static))
        assert "DIFFERS from the fixtures" in cell
        assert "expected  SELECT" in cell
        assert "actual    INSERT, SELECT" in cell
        # Column grants on demand.
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ColumnGrantsModal), "column grants")
        modal = app.screen
        assert isinstance(modal, ColumnGrantsModal)
        columns = modal.query_one("#columns", DataTable)
        assert columns.row_count > 0
        fee = columns.get_row("column trading.fills.fee")
        assert str(fee[0]).startswith("! ")
        await pilot.press("escape")
        # Only the rows that differ.
        await pilot.press("m")
        assert table.row_count == 1

    drive(app, scenario)


async def _on_step(pilot: Pilot[int], number: int) -> RunbookState:
    """Open the Runbook; wait for its probes; check it opened on step ``number``."""
    await pilot.press("5")
    state = await loaded(pilot, RunbookScreen)
    screen = pilot.app.screen
    assert isinstance(screen, RunbookScreen)
    assert screen.query_one("#table", DataTable).cursor_row == number - 1
    return state


def test_runbook_finds_a_held_lock_and_walks_to_ending_its_holder(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)
    holder = gordon_db.connect()
    holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_db.name),))
    pid = holder.info.backend_pid

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        state = await _on_step(pilot, 7)
        assert state.diagnosis.failure_modes == ("FM-16",)
        step = text_of(app.screen.query_one("#step", Static))
        assert f"held by pid {pid}" in step
        assert "FM-16 migration lock held" in step
        assert "end the session holding the migration lock" in step
        await pilot.press("u")
        plan = await confirm_typed(pilot, UnlockModal)
        assert f"SELECT pg_terminate_backend({pid});" in plan
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RunbookScreen)
                and app.screen.data is not None
                and app.screen.data.diagnosis.healthy
            ),
            "the runbook to re-run and pass every step",
        )

    try:
        drive(app, scenario)
        with pytest.raises(psycopg.OperationalError):
            holder.execute("SELECT 1")
    finally:
        holder.close()


def test_runbook_finds_a_dirty_migration_and_walks_to_its_repair(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)
    with gordon_db.connect() as conn:
        conn.execute("UPDATE public._sqlx_migrations SET success = false WHERE version = 13")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        state = await _on_step(pilot, 6)
        assert "FM-13" in state.diagnosis.failure_modes
        step = text_of(app.screen.query_one("#step", Static))
        assert "is dirty" in step
        assert "FM-13 dirty migration" in step
        assert "repair the dirty migration" in step
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RepairChoiceModal) and app.screen.dirty is not None,
            "the dirty migration",
        )
        await pilot.press("d")
        plan = await confirm_typed(pilot, RepairModal)
        assert "UPDATE public._sqlx_migrations SET success = TRUE WHERE version = 13" in plan
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RunbookScreen)
                and app.screen.data is not None
                and app.screen.data.diagnosis.healthy
            ),
            "the runbook to re-run and pass every step",
        )

    drive(app, scenario)
    with gordon_db.connect() as conn:
        row = conn.execute("SELECT success FROM public._sqlx_migrations WHERE version = 13")
        assert row.fetchone() == (True,)


def test_blocking_sessions_are_shown_and_one_can_be_ended(gordon_db: GordonDatabase) -> None:
    blocker = gordon_db.connect()
    waiter = gordon_db.connect()
    blocker.execute("BEGIN")
    blocker.execute("LOCK TABLE trading.fills IN ACCESS EXCLUSIVE MODE")
    waiter.execute("SET statement_timeout = '60s'")
    waiting = threading.Thread(
        target=lambda: waiter.execute("SELECT count(*) FROM trading.fills"), daemon=True
    )
    waiting.start()

    def blocked() -> bool:
        with gordon_db.connect() as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                (waiter.info.backend_pid,),
            ).fetchone()
        return row == (1,)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await wait_for(pilot, blocked, "the waiter to block")
        await loaded(pilot, OverviewScreen)
        await pilot.press("b")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, SessionsModal) and app.screen.found is not None,
            "the blocking sessions",
        )
        modal = app.screen
        assert isinstance(modal, SessionsModal)
        assert modal.found is not None
        assert [s.pid for s in modal.found] == [blocker.info.backend_pid]
        detail = text_of(modal.query_one("#detail", Static))
        assert f"blocks pid {waiter.info.backend_pid} now" in detail
        assert "trading.fills (AccessExclusiveLock)" in detail
        await pilot.press("e")
        plan = await confirm_typed(pilot, UnlockModal)
        assert f"SELECT pg_terminate_backend({blocker.info.backend_pid});" in plan
        await wait_for(pilot, lambda: modal.found == [], "the list to empty")

    try:
        drive(make_app(gordon_db), scenario)
        waiting.join(timeout=30)
        assert not waiting.is_alive()
    finally:
        blocker.close()
        waiting.join(timeout=30)
        waiter.close()


def test_refresh_option_on_a_terminal(gordon_db: GordonDatabase) -> None:
    """--refresh SECONDS reaches the app (the panels say when they were read); below 0 the
    option is refused before anything starts."""
    env = {"DATABASE_URL": gordon_db.dsn}
    assert _run_in_terminal(["--refresh", "0.5"], env, b"q", b"as of") == 0
    refused = subprocess.run(
        [sys.executable, "-m", "gordon_migrate.cli", "tui", "--refresh", "-1"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert refused.returncode == 1
    assert "--refresh" in refused.stderr
