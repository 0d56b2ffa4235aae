"""The TUI refreshes on its own: the Overview, the migration lock and the blocking sessions
are re-read on a timer (paused with p), each panel saying when it was read.

Against a real database; every wait is on a state (a holder shown, a count of timer ticks),
never a fixed delay.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from textual.pilot import Pilot
from textual.widgets import Static

from gordon_migrate.apply import locks
from gordon_migrate.core import bundle, dsn
from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.apply import ApplyModal
from gordon_migrate.tui.screens.overview import OverviewScreen
from gordon_migrate.tui.screens.sessions import SessionsModal
from tests.support.tui import drive, loaded, text_of, wait_for

#: Fast enough for tests to see several cycles quickly; the default is 2 s.
TICK_S = 0.1


def live_app(database: GordonDatabase, migrations: Path | None = None) -> GordonApp:
    return GordonApp(dsn.parse(database.dsn), bundle.load(migrations), refresh_s=TICK_S)


def overview(app: GordonApp) -> OverviewScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, OverviewScreen)
    return screen


def lock_text(app: GordonApp) -> str:
    return text_of(overview(app).query_one("#lock", Static))


def test_the_lock_panel_follows_a_holder_without_r(gordon_db: GordonDatabase) -> None:
    """A runner takes the migration lock and lets it go: the panel shows both, unasked."""
    app = live_app(gordon_db)
    key = locks.lock_key(gordon_db.name)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        data = await loaded(pilot, OverviewScreen)
        assert data.lock_holder is None
        subtitle = str(overview(app).query_one("#lock").border_subtitle)
        assert subtitle.startswith("as of ") and subtitle.endswith("Z"), subtitle
        with psycopg.connect(
            gordon_db.dsn, autocommit=True, application_name="another runner"
        ) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (key,))
            await wait_for(pilot, lambda: "another runner" in lock_text(app), "the holder shown")
            assert "HELD" in lock_text(app)
        await wait_for(pilot, lambda: "free" in lock_text(app), "the lock shown free again")
        assert overview(app).refreshes >= 2

    drive(app, scenario)


def test_pause_stops_the_refresh_and_says_so(gordon_db: GordonDatabase) -> None:
    app = live_app(gordon_db)
    key = locks.lock_key(gordon_db.name)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        screen = overview(app)
        await wait_for(pilot, lambda: screen.refreshes >= 1, "a first refresh")
        await pilot.press("p")
        assert "paused" in str(screen.query_one("#lock").border_subtitle)
        # A cycle already under way when p was pressed may still land.
        await wait_for(pilot, lambda: not screen._refreshing, "the running cycle to end")
        before = screen.refreshes
        with psycopg.connect(gordon_db.dsn, autocommit=True, application_name="held") as other:
            other.execute("SELECT pg_advisory_lock(%s)", (key,))
            ticks = app.ticks
            await wait_for(pilot, lambda: app.ticks >= ticks + 5, "five timer ticks")
            assert screen.refreshes == before
            assert "free" in lock_text(app)  # what was read before the pause, kept
            await pilot.press("p")
            assert "paused" not in str(screen.query_one("#lock").border_subtitle)
            await wait_for(pilot, lambda: "held" in lock_text(app), "the holder after resume")

    drive(app, scenario)


def test_blocking_sessions_dialog_drops_a_gone_blocker(gordon_db: GordonDatabase) -> None:
    """The observed bug: a blocker shown long after it had gone. The open dialog follows."""
    app = live_app(gordon_db)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        with psycopg.connect(gordon_db.dsn, application_name="blocker") as other:
            other.execute("LOCK TABLE trading.order_intents IN ACCESS SHARE MODE")
            pid = other.info.backend_pid
            modal = SessionsModal(app.ctx, blocker_age_ms=0)
            await app.push_screen(modal)
            await wait_for(
                pilot,
                lambda: modal.found is not None and pid in [s.pid for s in modal.found],
                "the blocker listed",
            )
            assert str(modal.query_one("#dialog").border_subtitle).startswith("as of ")
        await wait_for(
            pilot,
            lambda: modal.found is not None and pid not in [s.pid for s in modal.found],
            "the gone blocker dropped without r",
        )

    drive(app, scenario)


GATE = """\
DO $$
BEGIN
    WHILE NOT EXISTS (SELECT 1 FROM public.gate) LOOP
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;
"""


def test_own_apply_shows_as_the_lock_holder(
    gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    """The observed bug: while the TUI's own apply ran, its lock panel said "free"."""
    (tmp_path / "0001_wait_for_the_gate.sql").write_text(GATE, encoding="utf-8")
    with gordon_empty_db.connect() as conn:
        conn.execute("CREATE TABLE public.gate (open boolean)")
    app = live_app(gordon_empty_db, tmp_path)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ApplyModal) and app.screen.phase == "confirm",
            "the apply confirmation",
        )
        await pilot.press("y")
        await wait_for(
            pilot, lambda: "HELD by this TUI's apply" in lock_text(app), "own apply as holder"
        )
        assert "gordon-migrate apply #" in lock_text(app)
        assert "alert" not in overview(app).query_one("#lock").classes
        with gordon_empty_db.connect() as conn:
            conn.execute("INSERT INTO public.gate VALUES (true)")
        modal = app.screen
        assert isinstance(modal, ApplyModal)
        await wait_for(pilot, lambda: modal.phase == "done", "the apply to finish")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "free" in lock_text(app), "the lock free afterwards")

    drive(app, scenario)


def test_diagnose_runs_again_only_when_the_schema_changes(gordon_db: GordonDatabase) -> None:
    """Drift is checked on load and when the catalog fingerprint changes, not every cycle."""
    app = live_app(gordon_db)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        screen = overview(app)
        await wait_for(pilot, lambda: screen.diagnosis is not None, "the first diagnose")
        start = screen.refreshes
        await wait_for(pilot, lambda: screen.refreshes >= start + 3, "three refresh cycles")
        assert screen.diagnoses == 1
        with gordon_db.connect() as conn:
            conn.execute("ALTER TABLE trading.order_intents ADD COLUMN surprise integer")
        await wait_for(pilot, lambda: screen.diagnoses == 2, "a diagnose after the change")
        await wait_for(pilot, lambda: screen.diagnosis is not None, "its verdict")
        health = text_of(screen.query_one("#health", Static))
        assert "DIFFERS" in health, health

    drive(app, scenario)


def test_the_pending_hint_offers_apply(gordon_db: GordonDatabase) -> None:
    """Diagnose names FM-17 (a blocker) first for pending migrations; the key is still a."""
    with gordon_db.connect() as conn:
        conn.execute(
            "DELETE FROM public._sqlx_migrations "
            "WHERE version = (SELECT max(version) FROM public._sqlx_migrations)"
        )
    app = live_app(gordon_db)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        data = await loaded(pilot, OverviewScreen)
        assert data.pending == 1
        screen = overview(app)
        await wait_for(pilot, lambda: screen.diagnosis is not None, "the diagnose verdict")
        health = text_of(screen.query_one("#health", Static))
        assert " a  apply the pending migrations" in health, health
        assert " b " not in health, health

    drive(app, scenario)


def test_the_overview_drops_a_gone_blocker(gordon_db: GordonDatabase) -> None:
    """The observed bug: a blocker shown "open 49s" long after it had gone."""
    with gordon_db.connect() as conn:
        conn.execute("DELETE FROM public._sqlx_migrations WHERE version = 38")  # ALTERs runs
    app = live_app(gordon_db)

    def migrations_text() -> str:
        return text_of(overview(app).query_one("#migrations", Static))

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        with psycopg.connect(gordon_db.dsn, application_name="report") as blocker:
            blocker.execute("LOCK TABLE trading.runs IN ACCESS SHARE MODE")
            pid = blocker.info.backend_pid
            await wait_for(pilot, lambda: f"pid {pid}" in migrations_text(), "the blocker")
        await wait_for(
            pilot, lambda: f"pid {pid}" not in migrations_text(), "the gone blocker dropped"
        )
        assert "nothing now" in migrations_text(), migrations_text()

    drive(app, scenario)
