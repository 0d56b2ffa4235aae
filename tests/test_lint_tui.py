"""The TUI's Migrations screen shows the lock plan of a pending migration and the sessions
that hold conflicting locks on its relations now."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from gordon_migrate.core import bundle, dsn
from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.migrations import MigrationsScreen
from tests.support.sql import Sessions
from tests.support.tui import drive, loaded, make_app, text_of, wait_for


def test_pending_migration_shows_its_lock_plan_and_the_blocking_session(
    gordon_db: GordonDatabase,
    session_holder: Sessions,
) -> None:
    with gordon_db.connect() as conn:
        conn.execute("DELETE FROM public._sqlx_migrations WHERE version = 38")
    reader = session_holder(gordon_db.dsn)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM trading.runs")
    pid = reader.info.backend_pid

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("2")
        data = await loaded(pilot, MigrationsScreen)
        assert [m.file for m in data.plan.migrations] == ["0038_runs_strategy_code_revision.sql"]
        screen = app.screen
        assert isinstance(screen, MigrationsScreen)
        history = screen.query_one("#history", Static)
        await wait_for(pilot, lambda: "Lock plan" in text_of(history), "the lock plan")
        shown = text_of(history)
        assert "measured on PostgreSQL" in shown and "(pinned)" in shown
        assert "ACCESS EXCLUSIVE on trading.runs" in shown
        assert "reads and writes" in shown
        assert f"pid {pid} (test-holder, idle in transaction) holds AccessShareLock" in shown

    drive(make_app(gordon_db), scenario)
    reader.execute("ROLLBACK")


def test_pending_migration_that_apply_would_refuse_says_so(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    (root / "0039_drop_reason.sql").write_text(
        "ALTER TABLE trading.runs DROP COLUMN failure_reason;\n"
    )
    app = GordonApp(dsn.parse(gordon_db.dsn), bundle.load(root))

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("2")
        await loaded(pilot, MigrationsScreen)
        screen = app.screen
        assert isinstance(screen, MigrationsScreen)
        history = screen.query_one("#history", Static)
        await wait_for(pilot, lambda: "Lock plan" in text_of(history), "the lock plan")
        assert "apply would refuse: line 1 drop-column" in text_of(history)

    drive(app, scenario)
