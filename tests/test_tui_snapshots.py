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

import html
import os
import re
import shutil
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer

from gordon_migrate.apply import locks
from gordon_migrate.core import bundle
from gordon_migrate.core.audit import AUDIT_TABLE
from gordon_migrate.core.dsn import Dsn, parse
from gordon_migrate.drift import build_fixtures
from gordon_migrate.drift import fixtures as drift_fixtures
from gordon_migrate.testing import GordonDatabase, TestServer, scratch_parent
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.actions import RepairChoiceModal, RepairModal, UnlockModal
from gordon_migrate.tui.screens.apply import ApplyModal
from gordon_migrate.tui.screens.base import ConfirmCancelModal
from gordon_migrate.tui.screens.drift import DriftScreen, FixModal
from gordon_migrate.tui.screens.grants import ColumnGrantsModal, GrantsScreen
from gordon_migrate.tui.screens.migrations import MigrationsScreen
from gordon_migrate.tui.screens.overview import OverviewScreen
from gordon_migrate.tui.screens.runbook import RunbookScreen
from gordon_migrate.tui.screens.sessions import SessionsModal
from gordon_migrate.tui.widgets.table import RevealTable
from tests.support.tui import drive, loaded, wait_for

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
#: Every "as of" on screen: the time the data was read would differ on every run.
AS_OF = datetime(2026, 5, 17, 3, 30, 0, tzinfo=UTC)

pytestmark = pytest.mark.embedded_only(
    "snapshots are recorded against the embedded PostgreSQL 18", version=18
)


@pytest.fixture
def pinned_db(
    gordon_server: TestServer, gordon_template: str, tmp_path: Path
) -> Iterator[tuple[Dsn, Path]]:
    """A fixed-name clone with pinned history, its fixtures, and the DSN the app shows."""
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


def screen_lines(svg: str) -> list[str]:
    """The text of an exported screen, line by line (Textual places each span at x, y)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in SVG_TEXT.finditer(svg):
        x, y, text = match.groups()
        rows.setdefault(float(y), []).append((float(x), html.unescape(text).replace("\xa0", " ")))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / SVG_CHAR_WIDTH)) + text
        lines.append(line.rstrip())
    return lines


SVG_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>')
SVG_CHAR_WIDTH = 12.2
#: A word cut by an ellipsis; a hash abbreviated to its first hex digits is not one.
CUT_WORD = re.compile(r"(?<![0-9a-f])(?![0-9a-f]{8,}…)[\w.]*\w…")
CATALOG_NAMES = """
SELECT n.nspname || '.' || c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
UNION ALL SELECT n.nspname || '.' || c.relname || '.' || a.attname FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0
UNION ALL SELECT n.nspname || '.' || p.proname FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
UNION ALL SELECT n.nspname || '.' || t.typname FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
UNION ALL SELECT n.nspname || '.' || o.conname FROM pg_constraint o
JOIN pg_namespace n ON n.oid = o.connamespace
"""
SCHEMAS = "SELECT nspname FROM pg_namespace WHERE nspname !~ '^(pg_|information_schema)'"


def cut_identifiers(lines: list[str], target: Dsn) -> list[str]:
    """Lines showing a word cut by an ellipsis, or a qualified name (schema.x[.y]) that is
    not in the catalog: a name cut or folded mid-word (``trading.trades_trade_id_s``)."""
    with psycopg.connect(target.value) as conn:
        names = {str(r[0]) for r in conn.execute(CATALOG_NAMES.encode())}
        names.add(AUDIT_TABLE)  # named by repair and unlock before their first run creates it
        schemas = [str(r[0]) for r in conn.execute(SCHEMAS.encode())]
    qualified = re.compile(
        rf"(?<![\w.])(?:{'|'.join(map(re.escape, schemas))})\.\w+(?:\.\w+)?(?![\w(])"
    )
    bad = []
    for line in lines:
        if CUT_WORD.search(line) or any(m.group(0) not in names for m in qualified.finditer(line)):
            bad.append(line)
    return bad


def columns_off_screen(app: GordonApp) -> list[str]:
    """Tables (other than matrices with a fixed first column, which scroll sideways by
    design) whose columns do not all fit: the last ones would be cut at the right edge."""
    return [
        f"#{table.id}: {table.virtual_size.width} > {table.scrollable_content_region.width}"
        for table in app.screen.query(DataTable)
        if table.display
        and table.fixed_columns == 0
        and table.virtual_size.width > table.scrollable_content_region.width
    ]


def footer_cut(app: GordonApp, lines: list[str]) -> list[str]:
    """Shown key labels missing from the footer line (cut at the right edge)."""
    screens = [s for s in reversed(app.screen_stack) if s.query(Footer)]
    if not screens:
        return []
    shown = [
        active.binding.description
        for active in screens[0].active_bindings.values()
        if active.binding.show and active.binding.description
    ]
    return [label for label in shown if label not in lines[-1]]


def check_screen(app: GordonApp, name: str, actual: str) -> None:
    """What every picture must satisfy, recorded or not: no name cut mid-word, no table
    column off screen, no footer label cut."""
    lines = screen_lines(actual)
    cut = cut_identifiers(lines, app.ctx.target)
    assert not cut, f"{name}: identifiers cut mid-word:\n" + "\n".join(cut)
    off = columns_off_screen(app)
    assert not off, f"{name}: table columns off screen: {off}"
    missing = footer_cut(app, lines)
    assert not missing, f"{name}: footer cut, missing {missing}: {lines[-1]!r}"


def check_snapshot(
    app: GordonApp, name: str, tmp_path: Path, path: Path | None = None, title: str | None = None
) -> None:
    host = app.ctx.target.value.split("host=")[-1].split()[0]
    actual = _normalise(app.export_screenshot(title=title or name), host)
    # Checked before the picture is compared or recorded: a cut name is never recorded.
    check_screen(app, name, actual)
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
    migrations: Path | None = None,
    after: Step | None = None,
) -> None:
    # No refresh timer: a cycle landing mid-picture is the live tests' business, not this.
    app = GordonApp(
        target,
        bundle.load(migrations),
        fixtures_dir=fixtures_dir,
        refresh_s=0,
        clock=lambda: AS_OF,
    )

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
        try:
            check_snapshot(app, f"{name}_{size[0]}x{size[1]}", tmp, path, title)
        finally:
            if after is not None:
                await after(app, pilot)  # a running write must end before the app can stop

    drive(app, scenario, size=size)


async def _overview(app: GordonApp, pilot: Pilot[int]) -> None:
    await loaded(pilot, OverviewScreen)
    screen = app.screen
    assert isinstance(screen, OverviewScreen)
    # Diagnose runs in a worker of its own: the picture is of its verdict, not of the race.
    await wait_for(pilot, lambda: screen.diagnosis is not None, "the diagnose verdict")


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


def test_grants_at_160_columns_cut_no_object_name(
    pinned_db: tuple[Dsn, Path], tmp_path: Path
) -> None:
    """Issue 10: at 160x45 the object column cut ``sequence trading.trades_trade_id_s``; a
    long name is now abbreviated at a boundary (whole in the Selected cell pane)."""
    snap(*pinned_db, (160, 45), "grants", _grants, tmp_path)


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


# -- every dialog at 80x24: its command visible without scrolling ---------------------------

DIRTY_13 = "UPDATE public._sqlx_migrations SET success = false WHERE version = 13"


async def _dialog(pilot: Pilot[int], kind: type[object], what: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, kind), what)
    screen = app.screen
    await wait_for(pilot, lambda: not any(w.loading for w in screen.query("*")), f"{what} loaded")


async def _repair_choice(app: GordonApp, pilot: Pilot[int]) -> None:
    await loaded(pilot, OverviewScreen)
    await pilot.press("x")
    await _dialog(pilot, RepairChoiceModal, "the repair choice")
    await wait_for(
        pilot, lambda: getattr(app.screen, "dirty", None) is not None, "the dirty row found"
    )


async def _repair(app: GordonApp, pilot: Pilot[int]) -> None:
    await _repair_choice(app, pilot)
    await pilot.press("d")
    await _dialog(pilot, RepairModal, "the repair confirmation")
    await wait_for(pilot, lambda: getattr(app.screen, "phase", "") == "confirm", "its plan")


async def _fix(app: GordonApp, pilot: Pilot[int]) -> None:
    await _drift(app, pilot)
    await pilot.press("f")
    await _dialog(pilot, FixModal, "the fix confirmation")
    await wait_for(pilot, lambda: getattr(app.screen, "phase", "") == "confirm", "its plan")


async def _column_grants(app: GordonApp, pilot: Pilot[int]) -> None:
    await _grants(app, pilot)
    await pilot.press("c")
    await _dialog(pilot, ColumnGrantsModal, "the column grants")


def test_repair_choice_dialog(pinned_db: tuple[Dsn, Path], tmp_path: Path) -> None:
    _sql(pinned_db[0], DIRTY_13)
    snap(*pinned_db, (80, 24), "repair_choice_dialog", _repair_choice, tmp_path)


def test_repair_dialog(pinned_db: tuple[Dsn, Path], tmp_path: Path) -> None:
    """The UPDATE it will run is on screen, under the plan, at 80x24."""
    _sql(pinned_db[0], DIRTY_13)
    snap(*pinned_db, (80, 24), "repair_dialog", _repair, tmp_path)
    svg = (SNAPSHOTS / "repair_dialog_80x24.svg").read_text(encoding="utf-8")
    assert any("will run: UPDATE public._sqlx_migrations" in line for line in screen_lines(svg))


def test_fix_dialog(pinned_db: tuple[Dsn, Path], tmp_path: Path) -> None:
    _sql(pinned_db[0], "GRANT INSERT ON trading.fills TO gordon_api")
    snap(*pinned_db, (80, 24), "fix_dialog", _fix, tmp_path)


def test_column_grants_dialog(pinned_db: tuple[Dsn, Path], tmp_path: Path) -> None:
    # The matrix opens on the first object that differs: this table, with a column grant.
    _sql(
        pinned_db[0],
        "GRANT INSERT ON trading.fills TO gordon_api",
        "GRANT UPDATE (fee) ON trading.fills TO gordon_api",
    )
    snap(*pinned_db, (80, 24), "column_grants_dialog", _column_grants, tmp_path)


def _visible_after_wait(
    target: Dsn, fixtures_dir: Path, open_dialog: Step, statement: Callable[[], str]
) -> list[str]:
    """The screen lines of a dialog showing another session (its pid and start time differ on
    every run: checked, not recorded)."""
    app = GordonApp(target, bundle.load(), fixtures_dir=fixtures_dir, refresh_s=0)
    found: list[str] = []

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await open_dialog(app, pilot)
        # Read the screen once it has settled (two captures alike), not after a fixed number
        # of pauses: on a loaded machine a capture taken mid-layout showed a scrollbar over a
        # name that the settled screen shows whole.
        previous: list[str] = []
        deadline = time.monotonic() + 30
        while True:
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
            svg = app.export_screenshot()
            lines = screen_lines(svg)
            if lines == previous or time.monotonic() > deadline:
                break
            previous = lines
        check_screen(app, "dialog", svg)
        found.extend(screen_lines(svg))
        assert any(statement() in line for line in found), "\n".join(found)

    drive(app, scenario, size=(80, 24))
    return found


def test_unlock_dialog_shows_its_statement_at_80x24(pinned_db: tuple[Dsn, Path]) -> None:
    """The observed bug: ``SELECT pg_terminate_backend(...)`` below the fold."""
    target, fixtures_dir = pinned_db

    with psycopg.connect(target.value, autocommit=True, application_name="stuck runner") as held:
        held.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(NAME),))
        pid = held.info.backend_pid

        async def open_unlock(app: GordonApp, pilot: Pilot[int]) -> None:
            await loaded(pilot, OverviewScreen)
            await pilot.press("u")
            await _dialog(pilot, UnlockModal, "the unlock confirmation")
            await wait_for(pilot, lambda: getattr(app.screen, "phase", "") == "confirm", "plan")

        _visible_after_wait(
            target, fixtures_dir, open_unlock, lambda: f"SELECT pg_terminate_backend({pid});"
        )


def test_sessions_dialog_shows_its_statement_at_80x24(pinned_db: tuple[Dsn, Path]) -> None:
    target, fixtures_dir = pinned_db
    with psycopg.connect(target.value, application_name="long report") as blocker:
        blocker.execute("LOCK TABLE trading.fills IN ACCESS SHARE MODE")
        pid = blocker.info.backend_pid

        async def open_sessions(app: GordonApp, pilot: Pilot[int]) -> None:
            await loaded(pilot, OverviewScreen)
            modal = SessionsModal(app.ctx, blocker_age_ms=0)
            await app.push_screen(modal)
            await wait_for(pilot, lambda: bool(modal.found), "the blocker listed")

        _visible_after_wait(
            target, fixtures_dir, open_sessions, lambda: f"SELECT pg_terminate_backend({pid});"
        )


GATE = """\
-- 0039 wait for the gate: runs until the test opens it (a row in public.gate).
DO $$
BEGIN
    WHILE NOT EXISTS (SELECT 1 FROM public.gate) LOOP
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;
"""


def test_cancel_question_dialog(pinned_db: tuple[Dsn, Path], tmp_path: Path) -> None:
    """The question q asks while an apply runs: both answers on screen at 80x24."""
    target, fixtures_dir = pinned_db
    migrations = tmp_path / "migrations"
    shutil.copytree(bundle.bundled_dir(), migrations)
    (migrations / "0039_wait_for_the_gate.sql").write_text(GATE, encoding="utf-8")
    _sql(target, "CREATE TABLE public.gate (open boolean)")

    async def cancel_question(app: GordonApp, pilot: Pilot[int]) -> None:
        await _overview(app, pilot)
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ApplyModal) and app.screen.phase == "confirm",
            "the confirmation",
        )
        modal = app.screen
        assert isinstance(modal, ApplyModal)
        await pilot.press("y")
        await wait_for(pilot, lambda: modal._current == 39, "0039 running")
        await pilot.press("q")
        await _dialog(pilot, ConfirmCancelModal, "the cancel question")

    async def keep_running(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("n")
        modal = app.screen
        assert isinstance(modal, ApplyModal)
        _sql(target, "INSERT INTO public.gate VALUES (true)")
        await wait_for(pilot, lambda: modal.phase == "done", "the apply to end")

    snap(
        target,
        fixtures_dir,
        (80, 24),
        "cancel_question_dialog",
        cancel_question,
        tmp_path,
        migrations=migrations,
        after=keep_running,
    )
