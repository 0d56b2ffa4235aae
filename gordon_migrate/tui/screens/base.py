"""Base classes: one way to load data off the UI thread, one place where failures land."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Generic, Protocol, TypeVar, cast, runtime_checkable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Static
from textual.worker import Worker, WorkerState, get_current_worker

from gordon_migrate.apply.state import CancelToken
from gordon_migrate.tui.context import Context, describe_failure
from gordon_migrate.tui.format import BoundaryWrap
from gordon_migrate.tui.widgets.failure import FailureBox
from gordon_migrate.tui.widgets.nav import NavBar

T = TypeVar("T")
R = TypeVar("R")


@runtime_checkable
class LiveView(Protocol):
    """A screen the app's refresh timer re-reads (Overview, blocking sessions)."""

    def live_refresh(self) -> None:
        """Start one refresh cycle in a worker, unless one is still running (UI thread)."""

    def show_as_of(self) -> None:
        """Show again when each panel's data was read (after pause or resume)."""


class ReportsFailures:
    """The one handler of failed workers: the core's one-line message, shown in place."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        # A cancelled worker was replaced by a newer one (exclusive): its outcome is stale.
        if (
            event.state == WorkerState.ERROR
            and worker.error is not None
            and not worker.is_cancelled
        ):
            self.show_failure(worker, describe_failure(worker.error))

    def show_failure(self, worker: Worker[object], message: str) -> None:
        raise NotImplementedError


class DataScreen(ReportsFailures, Screen[None], Generic[T]):
    """A screen showing what one read-only core call returns, reloaded on demand.

    Subclasses give ``PURPOSE`` (what the screen reads: its connections are named
    ``gordon-migrate tui <PURPOSE>``), ``load_data`` (the core call, in a worker thread: the
    core opens a connection of its own there) and ``show`` (runs on the UI thread).
    """

    MODE: ClassVar[str] = ""
    """The app mode (see ``sections.SECTIONS``) this screen is."""
    PURPOSE: ClassVar[str] = "read"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Refresh")]

    LIVE: ClassVar[bool] = False
    """Re-read on the app's refresh timer (``live_refresh``), not only on ``r``."""

    class Loaded(Message):
        """A worker's result, delivered to the screen that asked for it."""

        def __init__(self, data: object, as_of: datetime, refresh: bool = False) -> None:
            super().__init__()
            self.data = data
            self.as_of = as_of
            self.refresh = refresh

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.data: T | None = None
        self.failure: str | None = None
        self.as_of: datetime | None = None
        """When ``data`` was read."""
        self.refreshes = 0
        """Refresh cycles shown so far (tests wait on it)."""
        self._generation = -1
        self._loading = False
        self._refreshing = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        failure = FailureBox(id="failure")
        failure.display = False
        yield failure
        with Container(id="body"):
            yield from self.compose_body()
        # Compact: every key of the widest screen (Runbook, Grants) fits in 80 columns.
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    @property
    def purpose(self) -> str:
        """The application_name suffix of this screen's connections."""
        return f"tui {self.PURPOSE}"

    @property
    def doing(self) -> str:
        """What a lost connection interrupted, for its message."""
        return f"reading the {self.PURPOSE}"

    def load_data(self) -> T:
        """Read this screen's data with one core call (worker thread)."""
        raise NotImplementedError

    def show(self, data: T) -> None:
        """Render ``data`` (UI thread)."""
        raise NotImplementedError

    def on_screen_resume(self) -> None:
        if self._generation != self.ctx.generation:
            self.reload()
        elif self.LIVE and not self.ctx.paused:
            self.live_refresh()  # it may have been away for many cycles

    def show_as_of(self) -> None:
        """Show when the data was read (subclasses: on each panel)."""

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read everything again, showing the loading state in place meanwhile."""
        self._generation = self.ctx.generation
        self.data = None
        self._loading = True
        self.query_one("#body").loading = True
        self._load()

    def live_refresh(self) -> None:
        """One refresh cycle, in place (no loading state): skipped while a load or the
        previous cycle still runs, so a slow server gets at most one TUI query at a time."""
        if not self.LIVE or self._loading or self._refreshing:
            return
        self._refreshing = True
        self._refresh()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        data = self.load_data()
        if not get_current_worker().is_cancelled:  # a newer load replaced this one
            self.post_message(self.Loaded(data, self.ctx.clock()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="refresh")
    def _refresh(self) -> None:
        data = self.load_data()
        self.post_message(self.Loaded(data, self.ctx.clock(), refresh=True))

    def on_data_screen_loaded(self, message: Loaded) -> None:
        if message.refresh:
            self._refreshing = False
            if self._loading:
                return  # a full reload is under way: its result replaces this one
            self.refreshes += 1
        else:
            self._loading = False
        self.as_of = message.as_of
        body = self.query_one("#body")
        self.failure = None
        self.query_one(FailureBox).clear()
        body.display = True
        body.loading = False
        self.data = cast(T, message.data)
        self.show(self.data)
        self.show_as_of()

    def show_failure(self, worker: Worker[object], message: str) -> None:
        if worker.group == "refresh":
            self._refreshing = False
            if self._loading:
                return
        elif worker.group == "load":
            self._loading = False
        else:
            self.notify(message, title="failed", severity="error", timeout=15)
            return
        # A failed cycle replaces the data in place: stale figures must not look current. The
        # next cycle that succeeds shows the data again.
        body = self.query_one("#body")
        body.loading = False
        body.display = False
        self.data = None
        self.failure = message
        self.query_one(FailureBox).show_failure(message)


class GordonModal(ReportsFailures, ModalScreen[R]):
    """A modal dialog whose workers' failures are shown inside it."""

    def show_failure(self, worker: Worker[object], message: str) -> None:
        raise NotImplementedError


class ConfirmCancelModal(ModalScreen[bool]):
    """Asks before cancelling a running write; dismisses with True to cancel it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "Keep running"),
        Binding("y", "answer(True)", "Cancel it"),
    ]

    def __init__(self, what: str, consequence: str) -> None:
        super().__init__()
        self.what = what
        self.consequence = consequence

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            text = Text(f"Cancel {self.what}?", style="bold")
            text.append(f"\n\n{self.consequence}")
            yield Static(text, id="message")
            with Horizontal(classes="buttons"):
                yield Button("Cancel it (y)", id="yes", variant="error")
                yield Button("Keep running (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = "Cancel?"
        self.query_one("#no", Button).focus()  # Enter alone keeps it running

    def action_answer(self, cancel: bool) -> None:
        self.dismiss(cancel)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)


class ActionModal(GordonModal[bool]):
    """A modal that plans, asks, runs and reports; dismisses with True when the database may
    have changed. Subclasses move ``phase`` along and set ``changed``.

    While it runs, q, ctrl+c, escape and the Cancel button ask to cancel it (``cancel_token``
    is handed to the core call); the core call then ends with what became of it."""

    #: What a cancel would be cancelling, and what cancelling it does (for the question).
    CANCEL_WHAT: ClassVar[str] = "the running action"
    CANCEL_CONSEQUENCE: ClassVar[str] = "It stops where it is."

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.phase = "planning"
        self.failure: str | None = None
        self._changed = False
        self.cancel_token = CancelToken()

    def _say(self, text: Text) -> None:
        self.query_one("#message", Static).update(BoundaryWrap(text))

    def _closable(self) -> None:
        cancel = self.query_one("#cancel", Button)
        cancel.label = "Close"
        cancel.display = True
        cancel.focus()

    def _cancellable(self, label: str) -> None:
        """While running: the Cancel button asks to cancel (the safe default is to wait)."""
        cancel = self.query_one("#cancel", Button)
        cancel.label = label
        cancel.display = True

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        if self.phase == "running":
            self.action_request_cancel()
            return
        if self.phase == "cancelling":
            self.notify("Cancelling: wait for the outcome.", severity="warning")
            return
        self.dismiss(self._changed)

    def action_request_cancel(self) -> None:
        """q, ctrl+c, escape or Cancel while running: ask, then cancel on the server."""
        if self.phase != "running":
            if self.phase != "cancelling":
                self.action_close()
            return
        self.app.push_screen(
            ConfirmCancelModal(self.CANCEL_WHAT, self.CANCEL_CONSEQUENCE), self._cancel_answered
        )

    def _cancel_answered(self, cancel: bool | None) -> None:
        if not cancel or self.phase != "running":
            return
        self.phase = "cancelling"
        self.query_one("#cancel").display = False
        self._say(Text("Cancelling: waiting for the server to confirm…", style="bold yellow"))
        self._send_cancel()

    @work(thread=True, exit_on_error=False, group="cancel")
    def _send_cancel(self) -> None:
        # A cancel request is a network round trip: off the UI thread.
        self.cancel_token.cancel()
