"""Base classes: one way to load data off the UI thread, one place where failures land."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Static
from textual.worker import Worker, WorkerState, get_current_worker

from gordon_migrate.db import Conn
from gordon_migrate.tui.context import Context, describe_failure, read
from gordon_migrate.tui.widgets.failure import FailureBox
from gordon_migrate.tui.widgets.nav import NavBar

T = TypeVar("T")
R = TypeVar("R")


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

    Subclasses give ``PURPOSE`` (the connection's application_name suffix), ``fetch`` (runs in
    a worker thread on a connection of its own) and ``show`` (runs on the UI thread).
    """

    MODE: ClassVar[str] = ""
    """The app mode (see ``sections.SECTIONS``) this screen is."""
    PURPOSE: ClassVar[str] = "read"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Refresh")]

    class Loaded(Message):
        """A worker's result, delivered to the screen that asked for it."""

        def __init__(self, data: object) -> None:
            super().__init__()
            self.data = data

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.data: T | None = None
        self.failure: str | None = None
        self._generation = -1

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        failure = FailureBox(id="failure")
        failure.display = False
        yield failure
        with Container(id="body"):
            yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def fetch(self, conn: Conn) -> T:
        """Read this screen's data (worker thread; ``conn`` is read-only and its own)."""
        raise NotImplementedError

    def load_data(self) -> T:
        """Worker thread: by default ``fetch`` on a fresh read-only connection. Screens whose
        core call opens its own connection (drift-check) override this instead."""
        return read(self.ctx.target, self.PURPOSE, self.fetch)

    def show(self, data: T) -> None:
        """Render ``data`` (UI thread)."""
        raise NotImplementedError

    def on_screen_resume(self) -> None:
        if self._generation != self.ctx.generation:
            self.reload()

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read everything again, showing the loading state in place meanwhile."""
        self._generation = self.ctx.generation
        self.data = None
        self.query_one("#body").loading = True
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        data = self.load_data()
        if not get_current_worker().is_cancelled:  # a newer load replaced this one
            self.post_message(self.Loaded(data))

    def on_data_screen_loaded(self, message: Loaded) -> None:
        body = self.query_one("#body")
        self.failure = None
        self.query_one(FailureBox).clear()
        body.display = True
        body.loading = False
        self.data = cast(T, message.data)
        self.show(self.data)

    def show_failure(self, worker: Worker[object], message: str) -> None:
        if worker.group != "load":
            self.notify(message, title="failed", severity="error", timeout=15)
            return
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


class ActionModal(GordonModal[bool]):
    """A modal that plans, asks, runs and reports; dismisses with True when the database may
    have changed. Subclasses move ``phase`` along and set ``changed``."""

    RUNNING_NOTICE: ClassVar[str] = "Running: wait for its result."

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.phase = "planning"
        self.failure: str | None = None
        self._changed = False

    def _say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    def _closable(self) -> None:
        cancel = self.query_one("#cancel", Button)
        cancel.label = "Close"
        cancel.display = True
        cancel.focus()

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        if self.phase == "running":
            self.notify(self.RUNNING_NOTICE, severity="warning")
            return
        self.dismiss(self._changed)
