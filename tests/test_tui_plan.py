"""The lock plan the TUI shows, with where it comes from (issue 21 item 7): a pending migration
the pinned plan has is "measured (pinned)"; one it lacks is GUESSED on the live screens (a
refresh never starts a rehearsal) and rehearsed by the apply confirmation, as apply does."""

from __future__ import annotations

import os
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from gordon_migrate.apply.resolve import OnTheFly
from gordon_migrate.core import bundle, dsn
from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.apply import ApplyModal
from gordon_migrate.tui.screens.migrations import MigrationsScreen
from gordon_migrate.tui.screens.overview import OverviewScreen
from tests.support import recovery as rh
from tests.support.sql import versions
from tests.support.tui import drive, loaded, text_of, wait_for

NEW = "0039_runs_note.sql"


def _app(db: GordonDatabase, root: Path) -> GordonApp:
    image = rh.copy_bundle(root)
    (image / NEW).write_text("ALTER TABLE trading.runs ADD COLUMN note text;\n")
    scratch = os.environ["GORDON_SCRATCH_URL"]  # the plugin's: the test server itself
    target = dsn.parse(db.dsn)
    rehearse = OnTheFly(target=target, scratch_server=dsn.parse(scratch))
    return GordonApp(target, bundle.load(image), rehearse=rehearse)


def test_an_unpinned_migration_is_guessed_live_and_rehearsed_by_the_confirmation(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    app = _app(gordon_db, tmp_path / "image")
    before = versions(gordon_db.dsn)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        overview = text_of(app.screen.query_one("#migrations", Static))
        assert "0039 runs note (lock plan GUESSED)" in overview, overview
        await pilot.press("2")
        await loaded(pilot, MigrationsScreen)
        detail = text_of(app.screen.query_one("#history", Static))
        assert "Lock plan" in detail
        assert "GUESSED: static plan, not rehearsed" in detail, detail
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ApplyModal) and app.screen.phase != "planning",
            "the apply plan",
            timeout=60,
        )
        modal = app.screen
        assert isinstance(modal, ApplyModal)
        assert modal.phase == "confirm", modal.failure
        shown = text_of(modal.query_one("#message", Static))
        assert f"{NEW}: rehearsed just now on PostgreSQL" in shown, shown
        # What the server did, measured: the new column's lock on the table.
        assert "line 1: ACCESS EXCLUSIVE on trading.runs, blocks reads and writes" in shown
        assert modal.plan is not None
        assert [p.provenance.kind for p in modal.plan.plans] == ["rehearsed"]
        # A new column of a table the runtime roles read: their table grants cover it.
        assert "access ERROR" not in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ApplyModal), "the dialog closed")

    drive(app, scenario)
    assert versions(gordon_db.dsn) == before  # cancelled: nothing ran
