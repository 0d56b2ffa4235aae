"""Overview: what is wrong and what to press, then where we are connected.

The first screen answers the 3 a.m. questions in order: what is pending (by name), what would
block it now (the lock plan's conflicting sessions, the migration lock's holder, what apply
would refuse), the diagnose verdict with its first problem, the drift verdict, then the
connection. Diagnose (every runbook probe, drift-check included) runs in a second worker so
the rest shows at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from gordon_migrate.apply.overview import LiveOverview, Overview, PlannedOverview, live_overview
from gordon_migrate.recovery.diagnose import Diagnosis, diagnose
from gordon_migrate.recovery.probes import Target
from gordon_migrate.tui.blockers import blocker_lines
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.format import BoundaryWrap, state_text, timestamp
from gordon_migrate.tui.screens.base import DataScreen
from gordon_migrate.tui.screens.runbook import ACTIONS_FOR

#: Pending migrations named on the Overview; the rest are counted (all on Migrations, 2).
PENDING_SHOWN = 5


def _grid() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def connection_panel(data: Overview) -> Group:
    status = data.status
    grid = _grid()
    server = Text(data.server)
    server.append(f"  PostgreSQL {status.server_version}", style="dim")
    if status.in_recovery:
        server.append("  STANDBY (read-only)", style="bold yellow")
    grid.add_row("Server", server)
    grid.add_row("Database", Text(status.database).append(f"  as role {status.user}", "dim"))
    # The DSN gets the whole width (in the value column it would be folded mid-name), and a
    # DSN wider than that breaks after a / @ ? & rather than mid-name.
    dsn = Text("DSN ", style="bold").append(data.target)
    return Group(grid, BoundaryWrap(dsn))


def migrations_panel(data: PlannedOverview, own_lock: bool = False) -> Table:
    grid = _grid()
    # This TUI's own running apply holds the lock: not something that blocks it.
    blockers = blocker_lines(data.plan, None if own_lock else data.lock_holder)
    if not data.status.history_exists and not data.pending:
        verdict = Text("no history table yet: nothing applied", style="yellow")
    elif data.status.consistent or not data.status.history_exists:
        verdict = Text("consistent", style="green")
        if data.pending and blockers:
            verdict.append(": apply would wait or refuse (see Blocked by)", style="bold red")
        elif data.pending:
            verdict.append(f": press a to apply the {data.pending} pending", style="")
    else:
        first = data.status.problems[0]
        verdict = Text("INCONSISTENT: apply refuses to run (", style="bold red")
        verdict.append_text(state_text(first.state))
        verdict.append(f" {first.version:04d}); see the Runbook (5)", style="bold red")
    grid.add_row("History", verdict)
    pending = [r.status for r in data.records if r.status.state == "pending"]
    if pending:
        # A plan not measured says so where the operator looks first (Migrations, 2, has it).
        guessed = {p.migration.version for p in data.apply_plan.plans if not p.provenance.measured}
        names = Text()
        shown = pending if len(pending) <= PENDING_SHOWN else pending[: PENDING_SHOWN - 1]
        for i, status in enumerate(shown):
            if i:
                names.append("\n")
            names.append(f"{status.version:04d}", style="bold yellow")
            names.append(f" {status.description}")
            if status.no_transaction:
                names.append(" [no-transaction]", style="yellow")
            if status.version in guessed:
                names.append(" (lock plan GUESSED)", style="yellow")
        if len(shown) < len(pending):
            names.append(f"\nand {len(pending) - len(shown)} more (Migrations, 2)", style="dim")
        grid.add_row("Pending", names)
    if data.pending:
        if blockers:
            lines = Text("\n").join(blockers)
            lines.stylize("bold")
            grid.add_row(Text("Blocked by", style="bold red"), lines)
        elif data.plan.live:
            grid.add_row("Blocked by", Text("nothing now (lock plan checked)", style="green"))
    last = data.last_apply
    if last is None:
        grid.add_row("Last apply", Text("never", style="dim"))
    else:
        text = Text(f"{last.version:04d} {last.description}")
        text.append(f"  on {timestamp(last.installed_on)}", style="dim")
        grid.add_row("Last apply", text)
    return grid


def health_panel(diagnosis: Diagnosis | None, failure: str | None) -> Table:
    grid = _grid()
    if failure is not None:
        grid.add_row("Diagnose", Text(f"could not run: {failure}", style="bold red"))
        grid.add_row("Drift", Text("not checked yet", style="dim"))
        return grid
    if diagnosis is None:
        grid.add_row("Diagnose", Text("checking every runbook step…", style="dim"))
        grid.add_row("Drift", Text("checking…", style="dim"))
        return grid
    problems = diagnosis.problems
    if not problems:
        grid.add_row("Diagnose", Text("healthy: every runbook step passes", style="green"))
    else:
        first = problems[0]
        text = Text(f"UNHEALTHY ({len(problems)} problem(s)); ", style="bold red")
        text.append(f"first, step {first.step} {first.title}: ", style="bold")
        # Its first clause: the whole text, and what to do, are on the Runbook screen.
        clause, rest = (
            first.summary.split("; ", 1) if "; " in first.summary else (first.summary, "")
        )
        text.append(clause + (" …" if rest else ""))
        text.append("\n")
        text.append(" 5 ", style="bold reverse")
        text.append(" Runbook walks through it", style="dim")
        keys = [ACTIONS_FOR[m] for m in first.failure_modes if m in ACTIONS_FOR]
        if first.name == "pending":
            # Its failure modes start with FM-17 (a blocker), but what it asks for is apply.
            keys = [ACTIONS_FOR["FM-18"]]
        if keys:
            key, words = keys[0]
            text.append(" · ", style="dim")
            text.append(f" {key} ", style="bold reverse")
            text.append(f" {words}", style="dim")
        grid.add_row("Diagnose", text)
    drift = next((r for r in diagnosis.results if r.name == "drift"), None)
    if drift is None or drift.status == "not_run":
        grid.add_row(
            "Drift",
            Text("not checked yet (needs a consistent history, nothing pending)", "yellow"),
        )
    elif drift.ok:
        grid.add_row("Drift", Text("none: the database matches the fixtures", style="green"))
    else:
        differences = drift.summary.removeprefix("drift: ")
        text = Text(f"DIFFERS: {differences}", style="bold red")
        text.append("  (Drift, 3)", style="dim")
        grid.add_row("Drift", text)
    return grid


def lock_panel(data: Overview, own_lock: bool = False) -> Table:
    grid = _grid()
    holder = data.lock_holder
    key = Text(f"  (advisory lock {data.lock_key})", style="dim")
    if holder is None:
        grid.add_row("Lock", Text("free: no runner is migrating", style="green").append_text(key))
    elif own_lock:
        grid.add_row(
            "Lock", Text("HELD by this TUI's apply (running now)", "bold").append_text(key)
        )
        grid.add_row("Holder", holder.describe(with_state=True))
    else:
        grid.add_row(
            "Lock",
            Text("HELD: a runner is migrating, or one died holding it", "bold").append_text(key),
        )
        grid.add_row("Holder", holder.describe(with_state=True))
    return grid


#: What, having changed since the last diagnose, makes the Overview diagnose again (drift
#: included): the schema's catalog fingerprint and every migration's state.
SchemaKey = tuple[str, tuple[tuple[int, str], ...]]


def schema_key(data: LiveOverview) -> SchemaKey:
    return data.fingerprint, tuple((r.status.version, r.status.state) for r in data.records)


class OverviewScreen(DataScreen[LiveOverview]):
    """What is pending and what blocks it, the health verdicts, the lock, the connection.

    Live: the history, the lock, the blockers and the connection are re-read on the app's
    refresh timer; diagnose (drift-check included) runs on ``r`` and when the schema or the
    history changed, never on every cycle."""

    MODE: ClassVar[str] = "overview"
    PURPOSE: ClassVar[str] = "overview"
    LIVE: ClassVar[bool] = True

    class Diagnosed(Message):
        def __init__(self, diagnosis: Diagnosis) -> None:
            super().__init__()
            self.diagnosis = diagnosis

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.diagnosis: Diagnosis | None = None
        self.diagnose_failure: str | None = None
        self.diagnosed_at: datetime | None = None
        self.diagnoses = 0
        """Diagnoses started so far (tests count them)."""
        self._schema: SchemaKey | None = None
        self._diagnosing = False
        self._diagnose_again = False

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="migrations", classes="panel")
            yield Static(id="health", classes="panel")
            yield Static(id="lock", classes="panel")
            yield Static(id="connection", classes="panel")

    def on_mount(self) -> None:
        self.query_one("#connection").border_title = "Connection"
        self.query_one("#migrations").border_title = "Migrations"
        self.query_one("#health").border_title = "Health"
        self.query_one("#lock").border_title = "Migration lock"

    def load_data(self) -> LiveOverview:
        # The previous cycle's lock plan is reused while nothing it depends on changed.
        previous = self.data
        return live_overview(
            self.ctx.target, self.ctx.bundle, previous, purpose=self.purpose, doing=self.doing
        )

    def reload(self) -> None:
        self._schema = None
        super().reload()
        self._start_diagnose()

    def _start_diagnose(self) -> None:
        if self._diagnosing:
            # One diagnose at a time (it runs every probe): the change is looked at once the
            # running one ends, however many cycles saw changes meanwhile.
            self._diagnose_again = True
            return
        self._diagnosing = True
        self.diagnosis = None
        self.diagnose_failure = None
        self.diagnoses += 1
        self._diagnose()

    def _diagnose_ended(self) -> None:
        self._diagnosing = False
        if self._diagnose_again:
            self._diagnose_again = False
            self._start_diagnose()

    @work(thread=True, exclusive=True, exit_on_error=False, group="diagnose")
    def _diagnose(self) -> None:
        target = Target(self.ctx.run)
        found = diagnose(target)
        if not get_current_worker().is_cancelled:  # a newer diagnose replaced this one
            self.post_message(self.Diagnosed(found))

    @on(Diagnosed)
    def _diagnosed(self, message: Diagnosed) -> None:
        self.diagnosis = message.diagnosis
        self.diagnosed_at = self.ctx.clock()
        self._show_health()
        self._diagnose_ended()

    def _show_health(self) -> None:
        health = self.query_one("#health", Static)
        health.update(health_panel(self.diagnosis, self.diagnose_failure))
        bad = self.diagnose_failure is not None or (
            self.diagnosis is not None and not self.diagnosis.healthy
        )
        health.set_class(bad, "alert")
        self.show_as_of()

    def show_failure(self, worker: Worker[object], message: str) -> None:
        if worker.group != "diagnose":
            super().show_failure(worker, message)
            return
        self.diagnose_failure = message
        self.diagnosed_at = self.ctx.clock()
        self._show_health()
        self._diagnose_ended()

    def show_as_of(self) -> None:
        as_of = self.ctx.as_of(self.as_of)
        for panel in ("#migrations", "#lock", "#connection"):
            self.query_one(panel).border_subtitle = as_of
        health = self.query_one("#health")
        if self.diagnosis is None and self.diagnose_failure is None:
            health.border_subtitle = "checking…"
        else:
            health.border_subtitle = self.ctx.as_of(self.diagnosed_at)

    def show(self, data: LiveOverview) -> None:
        key = schema_key(data)
        if self._schema is None:
            self._schema = key  # the diagnose of this load is already running
        elif key != self._schema and self.ctx.busy is None:
            # The schema or the history changed under us: diagnose (and drift-check) again,
            # and let the other screens re-read when shown. Not while this TUI's own write
            # runs (each migration would start one): its end reloads everything anyway.
            self._schema = key
            self.ctx.changed()
            self._generation = self.ctx.generation
            self._start_diagnose()
        own = self.ctx.own_lock
        self.query_one("#connection", Static).update(connection_panel(data))
        migrations = self.query_one("#migrations", Static)
        migrations.update(migrations_panel(data, own))
        holder = None if own else data.lock_holder
        blocked = bool(data.pending and blocker_lines(data.plan, holder))
        migrations.set_class(not data.status.consistent or blocked, "alert")
        title = (
            f"Migrations: {data.applied} applied · {data.pending} pending · {data.failed} failed"
        )
        others = data.inconsistent - data.failed
        if others:
            title += f" · {others} other inconsistent"
        migrations.border_title = title
        lock = self.query_one("#lock", Static)
        lock.update(lock_panel(data, own))
        lock.set_class(data.lock_holder is not None and not own, "alert")
        self._show_health()
