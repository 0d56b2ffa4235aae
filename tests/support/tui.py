"""Driving the Textual app headless: start it, wait on states (never on delays), read it."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from gordon_migrate.core import bundle, dsn
from gordon_migrate.drift import build_fixtures
from gordon_migrate.drift import fixtures as drift_fixtures
from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.actions import GuardedActionModal
from gordon_migrate.tui.screens.base import DataScreen
from gordon_migrate.tui.widgets.failure import FailureBox

SIZE = (80, 24)
T = TypeVar("T")
Scenario = Callable[[GordonApp, Pilot[int]], Coroutine[Any, Any, None]]


def make_app(database: GordonDatabase | str) -> GordonApp:
    url = database if isinstance(database, str) else database.dsn
    return GordonApp(dsn.parse(url), bundle.load())


def drive(app: GordonApp, scenario: Scenario, size: tuple[int, int] = SIZE) -> None:
    """Run ``scenario`` against ``app`` headless, at ``size``."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str, timeout: float = 20.0
) -> None:
    """Let the app run until ``predicate()`` holds (a state, not a delay); fail after timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.02)


def text_of(widget: Static, width: int = 200) -> str:
    """The plain text a Static shows (whatever rich renderable it holds)."""
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def loaded(pilot: Pilot[int], screen_type: type[DataScreen[T]]) -> T:
    """Wait until the active screen is a ``screen_type`` showing data (not loading)."""
    app = pilot.app

    def ready() -> bool:
        screen = app.screen
        return isinstance(screen, screen_type) and screen.data is not None

    await wait_for(pilot, ready, f"{screen_type.__name__} to show data")
    screen = app.screen
    assert isinstance(screen, screen_type)
    assert screen.data is not None
    return screen.data


async def failed(pilot: Pilot[int], screen_type: type[DataScreen[Any]]) -> str:
    """Wait until the active ``screen_type`` shows its in-place error state; return the line."""
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, screen_type) and app.screen.failure is not None,
        f"{screen_type.__name__} to show a failure",
    )
    screen = app.screen
    assert isinstance(screen, screen_type)
    assert screen.failure is not None
    assert screen.query_one(FailureBox).display
    assert not screen.query_one("#body").display
    return screen.failure


def make_app_with_fixtures(database: GordonDatabase, tmp_path: Path) -> GordonApp:
    """An app comparing with fixtures built from ``database`` as it is now (before the test
    changes it), so these tests do not depend on the committed fixtures being current."""
    fixtures_dir = tmp_path / "fixtures"
    drift_fixtures.write(build_fixtures(dsn.parse(database.dsn)), fixtures_dir)
    return GordonApp(dsn.parse(database.dsn), bundle.load(), fixtures_dir=fixtures_dir)


async def confirm_typed(pilot: Pilot[int], modal_type: type[GuardedActionModal[Any]]) -> str:
    """In a guarded action dialog: the confirm button stays off until the token is typed."""
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, modal_type) and app.screen.phase != "planning",
        f"{modal_type.__name__} to show its plan",
    )
    modal = app.screen
    assert isinstance(modal, modal_type)
    assert modal.phase == "confirm", modal.failure
    assert modal.plan is not None
    plan_text = text_of(modal.query_one("#message", Static))
    confirm = modal.query_one("#confirm", Button)
    assert confirm.disabled
    await pilot.press(*"999999")
    assert confirm.disabled
    modal.query_one("#token", Input).value = ""
    await pilot.press(*modal.token(modal.plan))
    await pilot.pause()
    assert not confirm.disabled
    await pilot.click("#confirm")
    await wait_for(pilot, lambda: modal.phase in {"done", "failed"}, "the action to end")
    assert modal.phase == "done", modal.failure
    await pilot.press("escape")
    return plan_text
