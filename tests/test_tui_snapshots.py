"""Snapshots of every screen at 80x24 and 120x40 (SVG, as Textual exports them).

The database is a clone of the template under a fixed name, with its history timestamps and
durations pinned, and the app is given a fixed redacted DSN: nothing volatile reaches the
screen (no test pid, socket path, time or duration). Snapshots were recorded against the
embedded PostgreSQL 18 and are skipped elsewhere (the server version is on screen).

To record them again after an intended change: ``GORDON_UPDATE_SNAPSHOTS=1 pytest
tests/test_tui_snapshots.py``, then review the SVGs in the diff (open them in a browser). A
mismatch writes the actual SVG next to the test's tmp_path and names it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from textual.pilot import Pilot

from gordon_migrate import bundle
from gordon_migrate.drift import build_fixtures
from gordon_migrate.drift import fixtures as drift_fixtures
from gordon_migrate.dsn import Dsn, parse
from gordon_migrate.testing import GordonDatabase, TestServer, scratch_parent
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.apply import ApplyModal
from gordon_migrate.tui.screens.drift import DriftScreen
from gordon_migrate.tui.screens.grants import GrantsScreen
from gordon_migrate.tui.screens.migrations import MigrationsScreen
from gordon_migrate.tui.screens.overview import OverviewScreen
from gordon_migrate.tui.screens.runbook import RunbookScreen
from gordon_migrate.tui.widgets.table import RevealTable
from tests.test_tui import drive, loaded, wait_for

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
README_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "tui.svg"
UPDATE = os.environ.get("GORDON_UPDATE_SNAPSHOTS") == "1"
NAME = "gordon_tui_snapshot"
SIZES = [(80, 24), (120, 40)]
PINNED_HISTORY = (
    "UPDATE public._sqlx_migrations SET installed_on = "
    "timestamptz '2026-05-17 03:00:00+00' + version * interval '1 minute', "
    "execution_time = 1000000 + version * 12345"
)
Step = Callable[[GordonApp, Pilot[int]], Coroutine[Any, Any, None]]


@pytest.fixture
def pinned_db(
    gordon_server: TestServer, gordon_template: str, tmp_path: Path
) -> Iterator[tuple[Dsn, Path]]:
    """A fixed-name clone with pinned history, its fixtures, and the DSN the app shows."""
    if gordon_server.embedded is None or gordon_server.version != 18:
        pytest.skip("snapshots are recorded against the embedded PostgreSQL 18")
    if scratch_parent() != "/dev/shm":
        # The socket path's length shapes the layout of the Overview line that shows it.
        pytest.skip("snapshots are recorded with the test server in its default place")
    gordon_server.drop_database(NAME)
    gordon_server.create_database(NAME, gordon_template)
    try:
        real = gordon_server.dsn_for(NAME)
        fixtures_dir = tmp_path / "fixtures"
        drift_fixtures.write(build_fixtures(parse(real)), fixtures_dir)
        database = GordonDatabase(name=NAME, dsn=real, server=gordon_server)
        with database.connect() as conn:
            conn.execute(PINNED_HISTORY)
        shown = f"postgresql://gordon_migrator:***@db.internal:5432/{NAME}"
        yield Dsn(value=real, redacted=shown, password=None), fixtures_dir
    finally:
        gordon_server.drop_database(NAME)


def _normalise(svg: str, real_host: str) -> str:
    """What the fixed DSN cannot hide: the socket path of the server, which differs by machine
    (a RAM disk or not, GORDON_TEST_PG_DIR) and by run."""
    return svg.replace(real_host, "/run/gordon-test")


def check_snapshot(
    app: GordonApp, name: str, tmp_path: Path, path: Path | None = None, title: str | None = None
) -> None:
    host = app.ctx.target.value.split("host=")[-1].split()[0]
    actual = _normalise(app.export_screenshot(title=title or name), host)
    # Rich numbers its CSS classes after a hash of the content: normalised so a masked
    # difference does not ripple through every line.
    actual = re.sub(r"terminal-\d+", "terminal-0", actual)
    path = path or SNAPSHOTS / f"{name}.svg"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no snapshot {path.name}: record it with GORDON_UPDATE_SNAPSHOTS=1")
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if path.read_text(encoding="utf-8") != actual:
        out = tmp_path / f"{name}.actual.svg"
        out.write_text(actual, encoding="utf-8")
        pytest.fail(
            f"screen differs from snapshot {path.name}; actual in {out}. If intended, "
            "record again with GORDON_UPDATE_SNAPSHOTS=1 and review the SVG diff"
        )


def snap(
    target: Dsn,
    fixtures_dir: Path,
    size: tuple[int, int],
    name: str,
    step: Step,
    tmp: Path,
    path: Path | None = None,
    title: str | None = None,
) -> None:
    app = GordonApp(target, bundle.load(), fixtures_dir=fixtures_dir)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await step(app, pilot)
        # Let layout, scrolling to the cursor and any animation settle before the picture.
        await wait_for(
            pilot,
            lambda: all(table.settled for table in app.screen.query(RevealTable)),
            "the tables scrolled to their cursor",
        )
        for _ in range(3):
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
        check_snapshot(app, f"{name}_{size[0]}x{size[1]}", tmp, path, title)

    drive(app, scenario, size=size)


async def _overview(app: GordonApp, pilot: Pilot[int]) -> None:
    await loaded(pilot, OverviewScreen)


async def _migrations(app: GordonApp, pilot: Pilot[int]) -> None:
    await pilot.press("2")
    await loaded(pilot, MigrationsScreen)


async def _drift(app: GordonApp, pilot: Pilot[int]) -> None:
    await pilot.press("3")
    await loaded(pilot, DriftScreen)


async def _grants(app: GordonApp, pilot: Pilot[int]) -> None:
    await pilot.press("4")
    await loaded(pilot, GrantsScreen)


async def _runbook(app: GordonApp, pilot: Pilot[int]) -> None:
    await pilot.press("5")
    await loaded(pilot, RunbookScreen)


async def _apply_confirmation(app: GordonApp, pilot: Pilot[int]) -> None:
    await loaded(pilot, OverviewScreen)
    await pilot.press("a")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ApplyModal) and app.screen.phase == "confirm",
        "the confirmation",
    )


def _sql(target: Dsn, *statements: str) -> None:
    with psycopg.connect(target.value, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


UNAPPLY_LAST_THREE = "DELETE FROM public._sqlx_migrations WHERE version >= 36"
IDS = [f"{w}x{h}" for w, h in SIZES]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_overview(pinned_db: tuple[Dsn, Path], size: tuple[int, int], tmp_path: Path) -> None:
    snap(*pinned_db, size, "overview", _overview, tmp_path)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_migrations(pinned_db: tuple[Dsn, Path], size: tuple[int, int], tmp_path: Path) -> None:
    _sql(pinned_db[0], UNAPPLY_LAST_THREE)
    snap(*pinned_db, size, "migrations", _migrations, tmp_path)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_apply_confirmation(
    pinned_db: tuple[Dsn, Path], size: tuple[int, int], tmp_path: Path
) -> None:
    _sql(pinned_db[0], UNAPPLY_LAST_THREE)
    snap(*pinned_db, size, "apply_confirmation", _apply_confirmation, tmp_path)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_drift(pinned_db: tuple[Dsn, Path], size: tuple[int, int], tmp_path: Path) -> None:
    _sql(
        pinned_db[0],
        "ALTER TABLE trading.fills ADD COLUMN hotfix_note text",
        "ALTER TABLE trading.fills ALTER COLUMN fee SET DEFAULT 1",
        "GRANT SELECT ON trading.fills TO gordon_drift_reader",
    )
    snap(*pinned_db, size, "drift", _drift, tmp_path)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_grants(pinned_db: tuple[Dsn, Path], size: tuple[int, int], tmp_path: Path) -> None:
    _sql(
        pinned_db[0],
        "GRANT INSERT ON trading.fills TO gordon_api",
        "REVOKE SELECT ON trading.fills FROM gordon_risk",
    )
    snap(*pinned_db, size, "grants", _grants, tmp_path)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_runbook(pinned_db: tuple[Dsn, Path], size: tuple[int, int], tmp_path: Path) -> None:
    _sql(pinned_db[0], "UPDATE public._sqlx_migrations SET success = false WHERE version = 13")
    snap(*pinned_db, size, "runbook", _runbook, tmp_path)


def test_readme_screenshot(pinned_db: tuple[Dsn, Path], tmp_path: Path) -> None:
    """docs/tui.svg, shown in the README: the Runbook on a dirty migration, at 120x40."""
    _sql(pinned_db[0], "UPDATE public._sqlx_migrations SET success = false WHERE version = 13")
    snap(
        *pinned_db,
        (120, 40),
        "readme",
        _runbook,
        tmp_path,
        path=README_SCREENSHOT,
        title="gordon-migrate tui",
    )
