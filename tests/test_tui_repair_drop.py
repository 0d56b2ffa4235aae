"""A repair that refuses because an index is in the way offers the DROP it names as one
confirmed action in the TUI (issue 23, item 2): no psql needed."""

from __future__ import annotations

from textual.pilot import Pilot

from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.actions import DropIndexModal, RepairModal
from tests.support.tui import confirm_typed, drive, make_app, wait_for

_INDEX = "SELECT count(*) FROM pg_class WHERE relname = 'fills_filled_at_idx'"


def test_repair_undone_offers_the_drop_its_refusal_names(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:  # 0035 stopped after building its index, INVALID
        conn.execute("UPDATE _sqlx_migrations SET success = false WHERE version = 35")
        conn.execute(
            "UPDATE pg_index SET indisvalid = false"
            " WHERE indexrelid = 'trading.fills_filled_at_idx'::regclass"
        )

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        modal = RepairModal(app.ctx, 35, "undone")
        app.push_screen(modal)
        await wait_for(pilot, lambda: modal.phase == "failed", "repair to refuse")
        assert modal.failure is not None
        assert "DROP INDEX CONCURRENTLY IF EXISTS trading.fills_filled_at_idx;" in modal.failure
        assert modal.query_one("#follow").display
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DropIndexModal), "the drop dialog")
        plan = await confirm_typed(pilot, DropIndexModal)
        assert "DROP INDEX CONCURRENTLY IF EXISTS trading.fills_filled_at_idx;" in plan
        # Closed (confirm_typed closes it): back in the repair dialog, which reads its plan
        # again: now it may run.
        await wait_for(pilot, lambda: app.screen is modal, "the repair dialog again")
        await wait_for(pilot, lambda: modal.phase == "confirm", "the repair plan")

    drive(make_app(gordon_db), scenario, size=(120, 40))
    with gordon_db.connect() as conn:
        assert conn.execute(_INDEX).fetchone() == (0,)
        audit = conn.execute(
            "SELECT action, version, state_before->>'index' FROM public.gordon_migrate_audit"
        ).fetchall()
    assert audit == [("drop index", 35, "trading.fills_filled_at_idx")]
