"""Overview: where we are connected, what the history says, who holds the migration lock."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from gordon_migrate.db import Conn
from gordon_migrate.overview import Overview, read_overview
from gordon_migrate.tui.format import duration, state_text, timestamp
from gordon_migrate.tui.screens.base import DataScreen


def _grid() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def connection_panel(data: Overview) -> Table:
    status = data.status
    grid = _grid()
    server = Text(data.server)
    server.append(f"  PostgreSQL {status.server_version}", style="dim")
    if status.in_recovery:
        server.append("  STANDBY (read-only)", style="bold yellow")
    grid.add_row("Server", server)
    grid.add_row("Database", status.database)
    grid.add_row("Role", status.user)
    grid.add_row("DSN", data.target)
    return grid


def migrations_panel(data: Overview) -> Table:
    grid = _grid()
    counts = Text()
    counts.append(f"{data.applied} applied", style="green" if data.applied else "")
    counts.append("   ")
    counts.append(f"{data.pending} pending", style="bold yellow" if data.pending else "")
    counts.append("   ")
    counts.append(f"{data.failed} failed", style="bold red" if data.failed else "")
    others = data.inconsistent - data.failed
    if others:
        counts.append(f"   {others} other inconsistent", style="bold red")
    grid.add_row("Counts", counts)
    if not data.status.history_exists:
        verdict = Text("no history table yet: nothing applied", style="yellow")
    elif data.status.consistent:
        verdict = Text("consistent", style="green")
        if data.pending:
            verdict.append(": press a to apply the pending ones", style="")
    else:
        first = data.status.problems[0]
        verdict = Text("INCONSISTENT: apply refuses to run (", style="bold red")
        verdict.append_text(state_text(first.state))
        verdict.append(f" {first.version:04d}); see the Runbook (5)", style="bold red")
    grid.add_row("History", verdict)
    last = data.last_apply
    if last is None:
        grid.add_row("Last apply", Text("never", style="dim"))
    else:
        text = Text(f"{last.version:04d} {last.description}")
        text.append(
            f"  on {timestamp(last.installed_on)}, took {duration(last.execution_time_ns)}",
            style="dim",
        )
        grid.add_row("Last apply", text)
    return grid


def lock_panel(data: Overview) -> Table:
    grid = _grid()
    holder = data.lock_holder
    if holder is None:
        grid.add_row("Lock", Text("free: no runner is migrating", style="green"))
    else:
        grid.add_row("Lock", Text("HELD: a runner is migrating, or one died holding it", "bold"))
        grid.add_row("Holder", holder.describe())
    grid.add_row("Key", Text(f"advisory lock {data.lock_key}", style="dim"))
    return grid


class OverviewScreen(DataScreen[Overview]):
    """Server, database, role, redacted DSN, migration counts, lock holder, last apply."""

    MODE: ClassVar[str] = "overview"
    PURPOSE: ClassVar[str] = "overview"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="connection", classes="panel")
            yield Static(id="migrations", classes="panel")
            yield Static(id="lock", classes="panel")

    def on_mount(self) -> None:
        self.query_one("#connection").border_title = "Connection"
        self.query_one("#migrations").border_title = "Migrations"
        self.query_one("#lock").border_title = "Migration lock"

    def fetch(self, conn: Conn) -> Overview:
        return read_overview(conn, self.ctx.target, self.ctx.bundle)

    def show(self, data: Overview) -> None:
        self.query_one("#connection", Static).update(connection_panel(data))
        self.query_one("#migrations", Static).update(migrations_panel(data))
        lock = self.query_one("#lock", Static)
        lock.update(lock_panel(data))
        lock.set_class(data.lock_holder is not None, "alert")
        self.query_one("#migrations").set_class(not data.status.consistent, "alert")
