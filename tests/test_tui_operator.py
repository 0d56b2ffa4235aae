"""The TUI at 3 a.m. (issue 10): it warns of blockers before an apply, cancels a running apply
or a waiting repair, names what is pending and what is wrong on the first screen, cuts no
identifier, and after a fix puts the operator on the next problem. Pilot, real database."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from gordon_migrate.apply import locks
from gordon_migrate.core import bundle, dsn
from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.actions import RepairChoiceModal, RepairModal
from gordon_migrate.tui.screens.apply import ApplyModal
from gordon_migrate.tui.screens.base import ActionModal, ConfirmCancelModal
from gordon_migrate.tui.screens.overview import OverviewScreen
from gordon_migrate.tui.screens.runbook import RunbookScreen
from gordon_migrate.tui.widgets.table import RevealTable
from tests.support.cli import Bundle
from tests.support.sql import Conn, versions
from tests.support.tui import (
    confirm_typed,
    drive,
    loaded,
    make_app_with_fixtures,
    text_of,
    wait_for,
)

BASE = {
    "0001_create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric);\n",
    "0002_seed_accounts.sql": "INSERT INTO accounts VALUES (1, 10.00), (2, 20.00);\n",
}
SLOW = {
    **BASE,
    "0003_slow_patch.sql": "ALTER TABLE accounts ADD COLUMN currency text;\nSELECT pg_sleep(60);\n",
}


def _one(dsn_: str, query: str, *args: object) -> object:
    with psycopg.connect(dsn_, autocommit=True) as conn:
        row = conn.execute(query.encode(), args).fetchone()
    assert row is not None
    return row[0]


def _sleeping(dsn_: str) -> bool:
    return bool(
        _one(
            dsn_,
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE "
            "'gordon-migrate apply #%%' AND state = 'active' AND query LIKE '%%pg_sleep%%')",
        )
    )


def _runner_sessions(dsn_: str) -> int:
    return int(
        str(
            _one(
                dsn_,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                "'gordon-migrate%%' AND pid <> pg_backend_pid() "
                "AND application_name NOT LIKE 'gordon-migrate tui%%'",
            )
        )
    )


def test_a_running_apply_is_cancelled_after_confirmation_and_the_outcome_shown(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    app = GordonApp(dsn.parse(gordon_empty_db.dsn), bundle.load(bundle_dir(SLOW)))

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ApplyModal) and app.screen.phase == "confirm",
            "the confirmation",
        )
        modal = app.screen
        assert isinstance(modal, ApplyModal)
        await pilot.press("y")
        await wait_for(pilot, lambda: _sleeping(gordon_empty_db.dsn), "0003 to be running")
        # q asks first; "n" keeps it running.
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCancelModal), "the question")
        question = text_of(app.screen.query_one("#message", Static))
        assert "rolled back whole" in question
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is modal, "the question to close")
        assert modal.phase == "running"
        assert _sleeping(gordon_empty_db.dsn)
        # ctrl+c asks too; "y" cancels the statement on the server.
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCancelModal), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: modal.phase in {"cancelled", "failed", "done"}, "the end")
        assert modal.phase == "cancelled", modal.failure
        shown = text_of(modal.query_one("#message", Static))
        assert "interrupted by the operator's cancel while applying migration 0003" in shown
        assert "rolled back" in shown
        assert str(modal.query_one("#cancel", Button).label) == "Close"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "the dialog closed")

    drive(app, scenario)
    assert versions(gordon_empty_db.dsn) == [1, 2]
    # The cancelled apply's session is closed; its backend exits asynchronously.
    deadline = time.monotonic() + 30
    while _runner_sessions(gordon_empty_db.dsn) != 0:
        assert time.monotonic() < deadline, "the apply's session stayed"
        time.sleep(0.05)


async def _cancel_once_the_holder_is_named(
    app: GordonApp,
    pilot: Pilot[int],
    modal: ActionModal,
    holder: Conn,
) -> None:
    """The modal waits for the migration lock: it names the holder, q asks, y cancels."""
    await wait_for(
        pilot,
        lambda: "stuck-runner" in text_of(modal.query_one("#message", Static)),
        "the holder to be named",
    )
    shown = text_of(modal.query_one("#message", Static))
    assert f"held by pid {holder.info.backend_pid}" in shown
    await pilot.press("q")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCancelModal), "the question")
    await pilot.press("y")
    await wait_for(pilot, lambda: modal.phase not in {"running", "cancelling"}, "the end")
    assert modal.phase == "cancelled", modal.failure


def test_a_repair_waiting_for_the_lock_names_the_holder_and_can_be_cancelled(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)
    with gordon_db.connect() as conn:
        conn.execute("UPDATE public._sqlx_migrations SET success = false WHERE version = 13")
    holder = psycopg.connect(gordon_db.dsn, autocommit=True, application_name="stuck-runner")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RepairChoiceModal) and app.screen.dirty is not None,
            "the dirty migration",
        )
        await pilot.press("d")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RepairModal) and app.screen.phase == "confirm",
            "the repair plan",
        )
        modal = app.screen
        assert isinstance(modal, RepairModal)
        # Taken after the plan was read, so the plan holds and the run must wait.
        holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_db.name),))
        # q typed into the reason is text, not a cancel or a close.
        modal.query_one("#reason", Input).focus()
        await pilot.press(*"quick fix")
        assert modal.query_one("#reason", Input).value == "quick fix"
        assert modal.phase == "confirm"
        assert isinstance(app.screen, RepairModal)
        modal.query_one("#token", Input).value = "13"
        await pilot.pause()
        await pilot.click("#confirm")
        await _cancel_once_the_holder_is_named(app, pilot, modal, holder)
        shown = text_of(modal.query_one("#message", Static))
        assert "cancelled while waiting for the migration lock" in shown
        assert "Nothing was changed" in shown

    try:
        drive(app, scenario)
    finally:
        holder.close()
    with gordon_db.connect() as conn:
        row = conn.execute("SELECT success FROM public._sqlx_migrations WHERE version = 13")
        assert row.fetchone() == (False,)


def test_after_a_fix_the_runbook_goes_to_the_next_problem_and_shows_it(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    """Step 6 (a dirty row) hides step 10 (drift) until it is repaired; then the Runbook must
    move to step 10, off-screen at 80x24, with its detail, not stay on the fixed step 6."""
    app = make_app_with_fixtures(gordon_db, tmp_path)
    with gordon_db.connect() as conn:
        conn.execute("UPDATE public._sqlx_migrations SET success = false WHERE version = 13")
        conn.execute("ALTER TABLE trading.fills ADD COLUMN hotfix_note text")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("5")
        state = await loaded(pilot, RunbookScreen)
        assert [p.step for p in state.diagnosis.problems] == [6]
        screen = app.screen
        assert isinstance(screen, RunbookScreen)
        table = screen.query_one("#table", RevealTable)
        assert table.cursor_row == 5
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RepairChoiceModal) and app.screen.dirty is not None,
            "the dirty migration",
        )
        await pilot.press("d")
        await confirm_typed(pilot, RepairModal)

        def moved_on() -> bool:
            data = screen.data
            return (
                app.screen is screen
                and data is not None
                and [p.step for p in data.diagnosis.problems] == [10]
                and table.settled
            )

        await wait_for(pilot, moved_on, "the runbook to re-run with step 10 failing")
        assert table.cursor_row == 9
        assert table.has_focus
        assert text_of(screen.query_one("#step", Static)).startswith("Step 10: no drift")
        visible = table.scrollable_content_region.height - table.header_height
        assert table.scroll_y <= 9 < table.scroll_y + visible, (table.scroll_y, visible)

    drive(app, scenario)


def _overview_text(app: GordonApp) -> str:
    screen = app.screen
    assert isinstance(screen, OverviewScreen)
    return "\n".join(
        text_of(screen.query_one(f"#{panel}", Static))
        for panel in ("migrations", "health", "lock", "connection")
    )


def test_overview_and_apply_dialog_name_the_pending_and_what_blocks_them(
    gordon_db: GordonDatabase,
) -> None:
    """A session reading trading.runs blocks 0038's ALTER TABLE: the Overview and the apply
    confirmation say so, by pid and relation, before anything runs."""
    with gordon_db.connect() as conn:
        conn.execute("DELETE FROM public._sqlx_migrations WHERE version >= 36")
    reader = psycopg.connect(gordon_db.dsn, application_name="stuck-report")
    reader.execute("SELECT count(*) FROM trading.runs")  # its transaction stays open
    pid = reader.info.backend_pid
    app = GordonApp(dsn.parse(gordon_db.dsn), bundle.load())

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        data = await loaded(pilot, OverviewScreen)
        assert data.pending == 3
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        await wait_for(pilot, lambda: screen.diagnosis is not None, "the diagnosis")
        shown = _overview_text(app)
        for name in (
            "0036 daily notional caps",
            "0037 audit event flatten crashed during",
            "0038 runs strategy code revision",
        ):
            assert name in shown
        assert "Blocked by" in shown
        assert f"pid {pid} (stuck-report, idle in transaction" in shown
        assert "AccessShareLock on trading.runs" in shown
        assert "press a to apply" not in shown
        assert "UNHEALTHY" in shown
        assert "Drift" in shown and "not checked yet" in shown
        # The apply confirmation shows the same blocker before anything runs.
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ApplyModal) and app.screen.phase == "confirm",
            "the confirmation",
        )
        modal = app.screen
        assert isinstance(modal, ApplyModal)
        message = text_of(modal.query_one("#message", Static))
        assert "Would wait or be refused now" in message
        assert f"pid {pid} (stuck-report" in message
        assert "trading.runs" in message
        assert str(modal.query_one("#confirm", Button).label) == "Apply 3 anyway (y)"
        await pilot.press("n")

    try:
        drive(app, scenario)
    finally:
        reader.close()
    assert versions(gordon_db.dsn)[-1] == 35


def test_overview_gives_the_diagnose_and_drift_verdicts(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        await wait_for(pilot, lambda: screen.diagnosis is not None, "the diagnosis")
        shown = _overview_text(app)
        assert "healthy: every runbook step passes" in shown
        assert "none: the database matches the fixtures" in shown
        with gordon_db.connect() as conn:
            conn.execute("ALTER TABLE trading.fills ADD COLUMN hotfix_note text")
            conn.execute("UPDATE public._sqlx_migrations SET success = false WHERE version = 13")
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.diagnosis is not None, "the diagnosis again")
        shown = _overview_text(app)
        assert "UNHEALTHY (1 problem(s)); first, step 6 the history is consistent" in shown
        assert "0013" in shown
        assert "x  repair the dirty migration" in shown
        # drift is not judged on an inconsistent history: it says so rather than "none".
        assert "not checked yet" in shown
        with gordon_db.connect() as conn:
            conn.execute("UPDATE public._sqlx_migrations SET success = true WHERE version = 13")
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.diagnosis is not None, "the diagnosis again")
        shown = _overview_text(app)
        assert "(1 problem(s)); first, step 10 no drift: drift: schema checksum (1)" in shown
        assert "Drift     DIFFERS: schema checksum (1)  (Drift, 3)" in shown

    drive(app, scenario)


def test_a_blocked_apply_shows_its_retries_whole_at_80_columns_and_cancels_in_the_pause(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    """The progress cell said "retry i…" at 80 columns: the whole retry line now goes to the
    message (which wraps) and the table fits; a cancel in the retry pause rolls back."""
    base = GordonApp(dsn.parse(gordon_empty_db.dsn), bundle.load(bundle_dir(BASE)))
    blocked = {
        **BASE,
        "0003_accounts_currency_with_a_long_descriptive_name.sql": (
            "ALTER TABLE accounts ADD COLUMN currency text;\n"
        ),
    }
    app = GordonApp(dsn.parse(gordon_empty_db.dsn), bundle.load(bundle_dir(blocked)))

    async def apply_base(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        await pilot.press("a")
        await wait_for(pilot, lambda: getattr(app.screen, "phase", "") == "confirm", "plan")
        await pilot.press("y")
        await wait_for(pilot, lambda: getattr(app.screen, "phase", "") == "done", "the apply")

    drive(base, apply_base)
    reader = psycopg.connect(gordon_empty_db.dsn, application_name="stuck-report")
    reader.execute("SELECT count(*) FROM accounts")
    pid = reader.info.backend_pid

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        await pilot.press("a")
        await wait_for(pilot, lambda: getattr(app.screen, "phase", "") == "confirm", "plan")
        modal = app.screen
        assert isinstance(modal, ApplyModal)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: "retry in" in text_of(modal.query_one("#message", Static)),
            "a retry",
        )
        message = text_of(modal.query_one("#message", Static), width=70)
        assert f"attempt 1 blocked by pid {pid}; retry in" in " ".join(message.split())
        steps = modal.query_one("#steps", RevealTable)
        await wait_for(
            pilot,
            lambda: steps.virtual_size.width <= steps.scrollable_content_region.width,
            "the steps to fit the dialog",
        )
        assert str(steps.get_row("3")[2]) == "↻ blocked, retrying"
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCancelModal), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: modal.phase not in {"running", "cancelling"}, "end")
        assert modal.phase == "cancelled", modal.failure
        assert "rolled back" in text_of(modal.query_one("#message", Static))

    try:
        drive(app, scenario)
    finally:
        reader.close()
    assert versions(gordon_empty_db.dsn) == [1, 2]


def test_an_apply_waiting_for_the_migration_lock_names_its_holder_and_cancels(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    holder = psycopg.connect(gordon_empty_db.dsn, autocommit=True, application_name="stuck-runner")
    app = GordonApp(dsn.parse(gordon_empty_db.dsn), bundle.load(bundle_dir(BASE)))

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await loaded(pilot, OverviewScreen)
        await pilot.press("a")
        await wait_for(pilot, lambda: getattr(app.screen, "phase", "") == "confirm", "plan")
        modal = app.screen
        assert isinstance(modal, ApplyModal)
        holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_empty_db.name),))
        await pilot.press("y")
        await _cancel_once_the_holder_is_named(app, pilot, modal, holder)
        assert "before any migration started: nothing was run" in text_of(
            modal.query_one("#message", Static)
        )

    try:
        drive(app, scenario)
    finally:
        holder.close()
    assert _one(gordon_empty_db.dsn, "SELECT to_regclass('public.accounts') IS NULL") is True


def test_unlock_cancelled_before_the_signal_ends_nobody(gordon_db: GordonDatabase) -> None:
    """The TUI's cancel reaches unlock before pg_terminate_backend: the session lives on."""
    from gordon_migrate.apply.state import CancelToken
    from gordon_migrate.core.errors import RecoveryError
    from gordon_migrate.recovery import unlock

    holder = psycopg.connect(gordon_db.dsn, autocommit=True, application_name="stuck-runner")
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_db.name),))
        target = dsn.parse(gordon_db.dsn)
        plan = unlock.plan_unlock(target)
        assert plan is not None and plan.session.pid == holder.info.backend_pid
        token = CancelToken()
        token.cancel()
        try:
            unlock.end_session(target, plan, cancel=token)
        except RecoveryError as exc:
            assert f"ending pid {plan.session.pid} was cancelled. Nothing was changed" in str(exc)
        else:
            raise AssertionError("end_session ran despite the cancel")
        assert holder.execute("SELECT 1").fetchone() == (1,)
    finally:
        holder.close()
