"""The TUI's fix action on the Drift and Grants screens: the exact SQL, the database name
typed back, one transaction, audited; drift-check clean afterwards."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from gordon_migrate.core import dsn
from gordon_migrate.core.errors import DriftError
from gordon_migrate.drift import restore
from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.drift import DriftScreen, FixModal
from gordon_migrate.tui.screens.grants import GrantsScreen
from tests.support.tui import confirm_typed, drive, loaded, make_app_with_fixtures, wait_for


def _audit_rows(db: GordonDatabase) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT action, reason, state_before->'differences' FROM public.gordon_migrate_audit"
        ).fetchall()


def test_fix_from_the_drift_screen_restores_and_is_audited(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)
    with gordon_db.connect() as conn:
        conn.execute("GRANT DELETE ON trading.fills TO gordon_api")
        conn.execute("ALTER TABLE market_data.candles DISABLE TRIGGER ALL")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("3")
        report = await loaded(pilot, DriftScreen)
        assert not report.ok
        await pilot.press("f")
        shown = await confirm_typed(pilot, FixModal)
        assert 'REVOKE DELETE ON TABLE trading.fills FROM "gordon_api";' in shown
        assert "ALTER TABLE market_data.candles ENABLE TRIGGER ALL;" in shown
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, DriftScreen)
                and app.screen.data is not None
                and app.screen.data.ok
            ),
            "the Drift screen to reload clean",
        )

    drive(app, scenario)
    rows = _audit_rows(gordon_db)
    assert [(r[0], r[1]) for r in rows] == [(restore.AUDIT_ACTION, "gordon-migrate tui")]
    assert "changed grant on table trading.fills to gordon_api" in str(rows[0][2])


def test_fix_is_offered_on_the_grants_screen(gordon_db: GordonDatabase, tmp_path: Path) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)
    with gordon_db.connect() as conn:
        conn.execute("REVOKE SELECT ON trading.fills FROM gordon_risk")

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("4")
        await loaded(pilot, GrantsScreen)
        await pilot.press("f")
        shown = await confirm_typed(pilot, FixModal)
        assert 'GRANT SELECT ON TABLE trading.fills TO "gordon_risk";' in shown

    drive(app, scenario)
    with gordon_db.connect() as conn:
        row = conn.execute("SELECT has_table_privilege('gordon_risk', 'trading.fills', 'SELECT')")
        assert row.fetchone() == (True,)


def test_a_fix_is_refused_when_the_drift_changed_since_it_was_shown(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    make_app_with_fixtures(gordon_db, tmp_path)  # fixtures of the database as it is now
    fixtures_dir = tmp_path / "fixtures"
    target = dsn.parse(gordon_db.dsn)
    with gordon_db.connect() as conn:
        conn.execute("GRANT DELETE ON trading.fills TO gordon_api")
    plan = restore.plan_fix(target, fixtures_dir)
    assert plan is not None
    with gordon_db.connect() as conn:
        conn.execute("GRANT UPDATE ON trading.runs TO gordon_api")
    try:
        restore.run_fix(target, plan, fixtures_dir=fixtures_dir)
    except DriftError as exc:
        assert "changed since the fix was shown" in str(exc)
    else:
        raise AssertionError("a stale fix ran")
    with gordon_db.connect() as conn:
        row = conn.execute("SELECT has_table_privilege('gordon_api', 'trading.fills', 'DELETE')")
        assert row.fetchone() == (True,), "nothing was changed"
