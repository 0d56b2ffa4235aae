"""Apply from the TUI: the plan, a confirmation listing exactly what will run, then progress.

The plan is ``apply.plan.plan`` (as ``apply --dry-run``) and the run is ``engine.apply`` with
its ``progress`` callback: the TUI adds no apply logic of its own.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Static
from textual.worker import Worker

from gordon_migrate.apply import engine, locks
from gordon_migrate.apply.options import ApplyOptions
from gordon_migrate.apply.plan import ApplyPlan
from gordon_migrate.apply.plan import plan as read_plan
from gordon_migrate.apply.render import measured_lines
from gordon_migrate.apply.state import Event
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.sessions import Session
from gordon_migrate.tui.blockers import blocker_lines
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.screens.base import ActionModal
from gordon_migrate.tui.widgets.table import RevealTable

WAITING = Text("·", style="dim")


class ApplyModal(ActionModal):
    """Plan → confirm → apply with per-migration progress → result. Dismisses with
    True when the database may have changed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "close", "Cancel / close"),
        Binding("y", "confirm", "Apply"),
        Binding("q,ctrl+c", "request_cancel", "Cancel the apply", show=False),
    ]
    CANCEL_WHAT: ClassVar[str] = "the running apply"
    CANCEL_CONSEQUENCE: ClassVar[str] = (
        "The running statement is cancelled on the server. A migration in a transaction is "
        "rolled back whole; a no-transaction one keeps the statements that finished and is "
        "left dirty (runbook FM-13). Migrations already applied stay applied."
    )

    class Planned(Message):
        def __init__(self, plan: ApplyPlan) -> None:
            super().__init__()
            self.plan = plan

    class Holder(Message):
        def __init__(self, holder: Session | None, lock: str) -> None:
            super().__init__()
            self.holder = holder
            self.lock = lock

    class Applied(Message):
        def __init__(self, result: engine.ApplyResult) -> None:
            super().__init__()
            self.result = result

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.plan: ApplyPlan | None = None
        #: What would block the planned migrations now (shown before confirmation).
        self.blockers: list[Text] = []
        #: Still taking the migration lock (no migration started yet).
        self._lock_phase = True
        self.result: engine.ApplyResult | None = None
        self._current: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static("Planning: reading the history…", id="message")
            # The description gives way at a word boundary when narrow (RevealTable).
            yield RevealTable(id="steps", cursor_type="none", show_cursor=False)
            with Horizontal(classes="buttons"):
                yield Button("Apply", id="confirm", variant="warning")
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        dialog = self.query_one("#dialog")
        dialog.border_title = "Apply pending migrations"
        table = self.query_one("#steps", DataTable)
        table.add_column("Ver", key="version")
        table.add_column("Migration", key="file")
        table.add_column("Progress", key="progress")
        table.display = False
        self.query_one("#confirm").display = False
        self.query_one("#steps").loading = True
        self._plan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def _plan(self) -> None:
        # As apply judges it: a pending migration the pinned plan lacks is rehearsed first
        # (in this worker, off the UI thread), and the lock holds are predicted on its facts.
        plan = read_plan(
            self.ctx.target,
            self.ctx.bundle,
            purpose="tui apply plan",
            doing="reading the apply plan",
            lock_hold_budget_ms=_options().lock_hold_budget_ms,
            rehearse=self.ctx.rehearse,
        )
        self.post_message(self.Planned(plan))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        plan = self.plan = message.plan
        status = plan.status
        steps = self.query_one("#steps", DataTable)
        steps.loading = False
        cancel = self.query_one("#cancel", Button)
        if not plan.planned:
            self.phase = "nothing"
            self._say(
                Text(
                    f"Nothing to apply: database {status.database} is up to date "
                    f"({status.count('applied')} applied).",
                    style="green",
                )
            )
            cancel.label = "Close"
            cancel.focus()
            return
        self.phase = "confirm"
        count = len(plan.planned)
        text = Text()
        text.append(f"Apply {count} migration(s) to database {status.database}", style="bold")
        text.append(
            f" (PostgreSQL {status.server_version}) in this order; each in its own transaction "
            "unless marked no-transaction; stops at the first failure."
        )
        text.append_text(plan_lines(plan))
        self.blockers = blocker_lines(plan.locks, plan.lock_holder)
        if self.blockers:
            text.append("\n\nWould wait or be refused now:", style="bold red")
            for line in self.blockers:
                text.append("\n  ")
                text.append_text(line)
            text.append(
                "\nClose this (n) and end the blocker first (b: blocking sessions, u: the lock "
                "holder), or apply anyway: each statement waits lock_timeout, is retried, then "
                "fails.",
                style="yellow",
            )
        self._say(text)
        self.query_one("#dialog").add_class("-tall")
        for pending in plan.planned:
            self._add_step(pending.version, pending.description, pending.no_transaction)
        steps.display = True
        confirm = self.query_one("#confirm", Button)
        confirm.label = f"Apply {count} anyway (y)" if self.blockers else f"Apply {count} (y)"
        confirm.display = True
        cancel.focus()  # the safe choice has the focus: Enter alone changes nothing

    def _add_step(self, version: int, name: str, no_transaction: bool) -> None:
        label = Text(name)
        if no_transaction:
            label.append("  [no-transaction]", style="yellow")
        self.query_one("#steps", DataTable).add_row(
            f"{version:04d}", label, WAITING, key=str(version)
        )

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.phase != "confirm":
            return
        self.phase = "running"
        self.ctx.busy = "apply"
        self._changed = True
        self.query_one("#confirm").display = False
        self._cancellable("Cancel apply (q)")
        self._say(Text("Applying… each migration is reported as it ends; q or ctrl+c cancels"))
        self._apply()

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply")
    def _apply(self) -> None:
        def progress(event: Event, migration: Migration | None, detail: str) -> None:
            self.app.call_from_thread(self.progress, event, migration, detail)

        result = engine.apply(
            self.ctx.target,
            self.ctx.bundle,
            _options(),
            progress=progress,
            cancel=self.cancel_token,
            rehearse=self.ctx.rehearse,
            # What the operator confirmed was rehearsed for it: not rehearsed twice.
            confirmed=self.plan.plans if self.plan is not None else (),
        )
        self.post_message(self.Applied(result))

    def progress(self, event: Event, migration: Migration | None, detail: str) -> None:
        """One event of ``engine.apply`` (UI thread)."""
        if migration is None:
            if event == "lock_wait" and self.phase == "running":
                self._say(Text(f"Taking the migration lock ({detail})…"))
                self._lock_holder(detail)
            return
        self._lock_phase = False
        # A migration runs only under the migration lock: from now on the lock's holder the
        # Overview shows is this apply.
        self.ctx.own_lock = True
        table = self.query_one("#steps", DataTable)
        key = str(migration.version)
        if key not in table.rows:  # another runner changed the plan under us
            self._add_step(migration.version, migration.description, migration.no_transaction)
        running = self.phase == "running"  # not over "Cancelling…"
        if event == "start":
            self._current = migration.version
            if running:
                self._say(Text(f"Applying {migration.label}…"))
            cell = Text(f"▶ {detail}", style="bold yellow")
        elif event == "retry":
            # The whole line where it wraps; the cell only what fits any width.
            if running:
                self._say(Text(f"Applying {migration.label}: {detail}", style="yellow"))
            cell = Text("↻ blocked, retrying", style="yellow")
        else:
            self._current = None
            cell = Text(f"✓ {detail}", style="green")
        table.update_cell(key, "progress", cell, update_width=True)
        table.move_cursor(row=table.get_row_index(key))

    @work(thread=True, exit_on_error=False, group="holder")
    def _lock_holder(self, lock: str) -> None:
        """Who holds the migration lock the apply is taking (shown while it waits)."""
        if self.plan is None:
            return
        holder = locks.find_holder(
            self.ctx.target,
            self.plan.lock_key,
            purpose="tui apply lock holder",
            doing="reading the apply lock holder",
        )
        self.post_message(self.Holder(holder, lock))

    @on(Holder)
    def _holder(self, message: Holder) -> None:
        if message.holder is None or not self._lock_phase or self.phase != "running":
            return
        text = Text(f"Waiting for the migration lock ({message.lock}), held by ", style="bold")
        text.append(message.holder.describe(with_state=True))
        text.append("\nq, ctrl+c or Cancel apply stops the wait: nothing has run yet.")
        self._say(text)

    @on(Applied)
    def _applied(self, message: Applied) -> None:
        result = self.result = message.result
        self.phase = "done"
        self.ctx.busy = None
        self.ctx.own_lock = False
        self.ctx.changed()
        now = result.already_applied + len(result.applied)
        if result.applied:
            text = Text(f"Applied {len(result.applied)} migration(s)", style="bold green")
            text.append(f"; now {now} applied, nothing pending.")
        else:
            text = Text(f"Nothing was pending any more: {now} applied.", style="green")
        self._say(text)
        self._closable()

    def show_failure(self, worker: Worker[object], message: str) -> None:
        self.failure = message
        self.query_one("#steps").loading = False
        cancelled = worker.group == "apply" and self.cancel_token.cancelled
        if worker.group == "apply":
            self.ctx.busy = None
            self.ctx.own_lock = False
            self.ctx.changed()
            if self._current is not None:
                self.query_one("#steps", DataTable).update_cell(
                    str(self._current),
                    "progress",
                    Text("✗ cancelled" if cancelled else "✗ failed", style="bold red"),
                    update_width=True,
                )
        elif worker.group == "holder":
            return  # only a hint while waiting; the apply itself reports its outcome
        elif worker.group == "cancel":
            # The cancel request itself failed: the apply runs on; say so, keep waiting.
            self.notify(message, title="cancel failed", severity="error", timeout=15)
            return
        self.phase = "cancelled" if cancelled else "failed"
        text = Text("✗ ", style="bold red")
        text.append(message)
        self._say(text)
        self._closable()


def plan_lines(plan: ApplyPlan) -> Text:
    """Where each pending migration's lock plan comes from (measured and pinned, rehearsed just
    now, or guessed), then every predicted hold of a blocking lock across a rewrite or a scan,
    as ``apply --dry-run`` prints them."""
    text = Text()
    kinds = {p.provenance.words for p in plan.plans}
    if len(kinds) == 1 and plan.plans[0].provenance.kind == "pinned":
        text.append(f"\n\nLock plan: {kinds.pop()}.")
    elif plan.plans:
        text.append("\n\nLock plan of each:")
        for p in plan.plans:
            style = "" if p.provenance.measured else "bold yellow"
            text.append(f"\n  {p.migration.filename}: ")
            text.append(p.provenance.words, style=style)
            if p.provenance.kind == "rehearsed":
                # What the server did, as the dry run lists it (a pinned one was reviewed).
                for line in measured_lines(p.statements):
                    blocking = "blocks writes" in line or "blocks reads" in line
                    text.append("\n" + line, style="bold red" if blocking else "")
            # What it changes in who can see or do what, as the rehearsal saw it (lint's
            # access-contract: an error is a refusal unless waived).
            for change in p.access:
                error = change.severity == "error"
                text.append(
                    f"\n    access{' ERROR' if error else ''}: {change.text}",
                    style="bold red" if error else "dim",
                )
    if plan.holds:
        text.append("\n\nPredicted lock holds (from this database's sizes):", style="bold")
        for hold in plan.holds:
            text.append("\n  ")
            text.append(
                ("REFUSED " if hold.refused else "") + hold.describe(),
                style="bold red" if hold.refused else "",
            )
    return text


def _options() -> ApplyOptions:
    """The same defaults as ``gordon-migrate apply``."""
    return ApplyOptions()
