"""Blocking sessions (runbook step 8, FM-17): who holds Gordon table locks a migration would
wait for, and ending one of them behind the unlock confirmation."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Static
from textual.worker import Worker

from gordon_migrate.apply.options import DEFAULT_BLOCKER_AGE_MS
from gordon_migrate.core import sessions
from gordon_migrate.core.durations import format_ms
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.format import BoundaryWrap
from gordon_migrate.tui.screens.actions import UnlockModal
from gordon_migrate.tui.screens.base import GordonModal
from gordon_migrate.tui.widgets.table import RevealTable


def session_view(s: sessions.Session) -> Text:
    text = Text(s.describe(), style="bold")
    text.append(f"\n{s.activity()}")
    if s.relations:
        text.append(f"\nholds {', '.join(s.relations)}")
    if s.blocking:
        text.append(f"\nblocks pid {', '.join(map(str, s.blocking))} now", style="bold red")
    if not s.visible:
        text.append(
            f"\nthis role cannot see its client, start, state or statement: membership in "
            f"{sessions.STATS_ROLE} shows them",
            style="yellow",
        )
    return text


class SessionsModal(GordonModal[bool]):
    """Sessions blocking a migration, read-only; ``e`` ends the selected one (confirmed)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("e", "end", "End selected"),
        Binding("r", "reload", "Refresh"),
    ]

    class Found(Message):
        def __init__(
            self, found: list[sessions.Session], as_of: datetime, refresh: bool = False
        ) -> None:
            super().__init__()
            self.found = found
            self.as_of = as_of
            self.refresh = refresh

    def __init__(self, ctx: Context, blocker_age_ms: int = DEFAULT_BLOCKER_AGE_MS) -> None:
        super().__init__()
        self.ctx = ctx
        self.blocker_age_ms = blocker_age_ms
        self.found: list[sessions.Session] | None = None
        self.failure: str | None = None
        self.as_of: datetime | None = None
        self.refreshes = 0
        """Refresh cycles shown so far (tests wait on it)."""
        self._changed = False
        self._loading = False
        self._refreshing = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -tall"):
            yield Static(id="message")
            yield RevealTable(id="sessions", cursor_type="row")
            with VerticalScroll(id="session"):
                yield Static(id="detail")
            # Under the scrolling detail, so that it is visible at 80x24 however long that is.
            yield Static(id="command")
            with Horizontal(classes="buttons"):
                yield Button("End selected (e)", id="end", variant="error")
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = "Blocking sessions (step 8, FM-17)"
        table = self.query_one("#sessions", DataTable)
        table.add_column("pid", key="pid")
        table.add_column("application", key="app")
        table.add_column("state", key="state")
        table.add_column("tables", key="tables")
        self.action_reload()

    def action_reload(self) -> None:
        self.found = None
        self._loading = True
        self.query_one("#sessions").loading = True
        self._load()

    def live_refresh(self) -> None:
        """One refresh cycle in place; skipped while the previous one (which may watch
        hidden sessions for up to lock_timeout) or a reload still runs."""
        if self._loading or self._refreshing:
            return
        self._refreshing = True
        self._refresh()

    def show_as_of(self) -> None:
        self.query_one("#dialog").border_subtitle = self.ctx.as_of(self.as_of)

    def _read(self) -> list[sessions.Session]:
        return sessions.find_blockers(
            self.ctx.target,
            self.blocker_age_ms / 1000.0,
            purpose="tui sessions",
            doing="reading the sessions",
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        found = self._read()
        self.post_message(self.Found(found, self.ctx.clock()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="refresh")
    def _refresh(self) -> None:
        found = self._read()
        self.post_message(self.Found(found, self.ctx.clock(), refresh=True))

    @on(Found)
    def _found(self, message: Found) -> None:
        if message.refresh:
            self._refreshing = False
            if self._loading:
                return  # a reload is under way: its result replaces this one
            self.refreshes += 1
        else:
            self._loading = False
        table = self.query_one("#sessions", DataTable)
        # A refresh keeps the operator's selection (by pid) and focus where they are.
        selected = (
            self.found[table.cursor_row].pid
            if message.refresh and self.found and 0 <= table.cursor_row < len(self.found)
            else None
        )
        self.found = message.found
        self.failure = None
        self.as_of = message.as_of
        self.show_as_of()
        table.loading = False
        table.clear()
        for s in message.found:
            table.add_row(
                str(s.pid),
                s.application_name or "-",
                s.state if s.visible else "(hidden)",
                ", ".join(s.relations) or "-",
                key=str(s.pid),
            )
        threshold = format_ms(self.blocker_age_ms)
        if not message.found:
            self._say(
                Text(
                    f"No transaction has held a lock on a Gordon table for {threshold} or "
                    "more, and no session is blocked.",
                    style="green",
                )
            )
            self.query_one("#detail", Static).update("")
            self.query_one("#command", Static).update("")
            self.query_one("#end").display = False
            if not message.refresh:
                self.query_one("#close", Button).focus()
            return
        self._say(
            Text(
                f"{len(message.found)} session(s) hold locks on Gordon tables that a migration "
                f"would wait for (held for {threshold} or more), oldest transaction first.",
                style="bold",
            )
        )
        self.query_one("#end").display = True
        pids = [s.pid for s in message.found]
        row = pids.index(selected) if selected in pids else 0
        table.move_cursor(row=row)
        if not message.refresh:
            table.focus()
        self._show(row)

    @on(DataTable.RowHighlighted, "#sessions")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def _show(self, row: int) -> None:
        command = self.query_one("#command", Static)
        if self.found and 0 <= row < len(self.found):
            found = self.found[row]
            self.query_one("#detail", Static).update(BoundaryWrap(session_view(found)))
            command.update(Text("e would run: ", style="bold").append(found.terminate_sql))
        else:
            command.update("")

    def show_failure(self, worker: Worker[object], message: str) -> None:
        if worker.group == "refresh":
            self._refreshing = False
        else:
            self._loading = False
        self.failure = message
        self.query_one("#sessions").loading = False
        text = Text("✗ ", style="bold red")
        text.append(message)
        self._say(text)

    def _say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    @on(Button.Pressed, "#end")
    def action_end(self) -> None:
        table = self.query_one("#sessions", DataTable)
        if not self.found or not 0 <= table.cursor_row < len(self.found):
            return
        pid = self.found[table.cursor_row].pid
        self.app.push_screen(UnlockModal(self.ctx, pid), self._after_end)

    def _after_end(self, changed: bool | None) -> None:
        if changed:
            self._changed = True
            self.action_reload()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(self._changed)
