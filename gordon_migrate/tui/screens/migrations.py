"""Migrations: every bundled migration and every applied version the bundle lacks."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.widgets import DataTable, Static

from gordon_migrate.apply.overview import MigrationRecord, PlannedOverview, planned_overview
from gordon_migrate.apply.plan import ApplyPlan
from gordon_migrate.apply.render import work_on
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.format import duration, state_text, timestamp
from gordon_migrate.tui.screens.base import DataScreen
from gordon_migrate.tui.widgets.table import RevealTable


def history_panel(record: MigrationRecord) -> Table:
    """The selected migration's file and history row: installed on, time, checksum match."""
    status = record.status
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("Migration", f"{status.version:04d} {status.description}")
    grid.add_row("File", status.filename or Text("not in this bundle", style="bold red"))
    grid.add_row("State", state_text(status.state))
    if status.no_transaction:
        grid.add_row("Runs", "outside a transaction (-- no-transaction)")
    if record.applied is None:
        grid.add_row("History", Text("no row: not applied", style="dim"))
        return grid
    grid.add_row("Installed on", timestamp(record.applied.installed_on))
    grid.add_row("Took", duration(record.applied.execution_time))
    matches = record.checksum_matches
    if matches is None:
        checksum = Text("no file to compare with", style="dim")
    elif matches:
        checksum = Text("matches the file (SHA-384)", style="green")
    else:
        checksum = Text("DIFFERS from the file: it was edited after it was applied", "bold red")
    grid.add_row("Checksum", checksum)
    return grid


def plan_panel(plan: ApplyPlan, filename: str) -> Group | None:
    """Where the migration's lock plan comes from (measured and pinned, rehearsed, or guessed),
    then per statement the lock it takes, on what, the work, what it blocks, and the predicted
    hold of a blocking lock across a rewrite or a scan; then who holds a conflicting lock on
    those relations now (the migration would queue behind them)."""
    static = plan.locks
    migration = next((m for m in static.migrations if m.file == filename), None)
    resolved = next((p for p in plan.plans if p.migration.filename == filename), None)
    if migration is None and resolved is None:
        return None
    parts: list[Any] = [Text("Lock plan", style="bold underline")]
    if resolved is not None:
        measured = resolved.provenance.measured
        parts.append(Text(resolved.provenance.words, style="" if measured else "bold yellow"))
    relations: set[str] = set()
    if resolved is not None and resolved.provenance.measured:
        for statement in resolved.statements:
            # What the statement itself created nobody else can see yet: its locks wait on
            # no one and block no one, so they are left out.
            for lock in statement.locks:
                if lock.kind == "object" or lock.new:
                    continue
                relations.add(lock.object)
                work = f" ({done})" if (done := work_on(statement, lock.object)) else ""
                line = Text(f"line {statement.line}: {lock.mode} on {lock.object}{work}")
                blocked = lock.blocks
                style = "" if blocked == "neither" else "bold red"
                line.append(f", blocks {blocked}", style=style)
                parts.append(line)
    elif migration is not None:
        for guessed in migration.statements:
            for step in guessed.steps:
                line = Text(f"line {guessed.line}: {step.mode} on {step.relation}")
                if step.new_relation:
                    line.append(" (new in this migration)")
                    line.stylize("dim")
                else:
                    relations.add(step.relation)
                    work = "" if step.work == "none" else f" ({step.work})"
                    style = "" if step.blocks == "neither" else "bold red"
                    line.append(f", blocks {step.blocks}{work}", style=style)
                parts.append(line)
    for hold in plan.holds:
        if hold.migration.filename == filename:
            style = "bold red" if hold.refused else "yellow"
            parts.append(Text(("REFUSED " if hold.refused else "") + hold.describe(), style))
    for f in static.refusals:
        if f.file == filename:
            parts.append(
                Text(f"apply would refuse: line {f.line} {f.rule}: {f.message}", "bold red")
            )
    holders = [h for h in static.holders if h.relation in relations]
    if holders:
        parts.append(Text("Holding conflicting locks now:", style="bold red"))
        for h in holders:
            parts.append(Text(f"  {h.describe(brief=True, unknown='?', with_age=False)}"))
    elif static.live:
        parts.append(Text("No session holds a conflicting lock now.", style="green"))
    return Group(*parts)


def sql_view(record: MigrationRecord) -> Syntax | Text:
    if record.migration is None:
        return Text(
            "This version is in the history but not in the bundle: a newer image applied it.",
            style="italic",
        )
    return Syntax(
        record.migration.sql,
        "sql",
        theme="ansi_dark",
        line_numbers=True,
        word_wrap=True,
        background_color="default",
    )


class MigrationsScreen(DataScreen[PlannedOverview]):
    """A table of migrations; the selected one's history and syntax-highlighted SQL."""

    MODE: ClassVar[str] = "migrations"
    PURPOSE: ClassVar[str] = "migrations"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._selected: int | None = None

    def compose_body(self) -> ComposeResult:
        with Container(id="split"):
            # The description gives way (abbreviated; whole in the detail pane) so that the
            # Installed on column stays on screen at any width.
            yield RevealTable(
                id="table", cursor_type="row", zebra_stripes=True, flex_column="description"
            )
            with VerticalScroll(id="detail"):
                yield Static(id="history")
                yield Static(id="sql")

    def on_mount(self) -> None:
        table = self.query_one("#table", RevealTable)
        table.add_column("Ver", key="version")
        table.add_column("State", key="state")
        table.add_column("Description", key="description")
        table.add_column("Installed on", key="installed")
        self.query_one("#detail").border_title = "Selected"

    def load_data(self) -> PlannedOverview:
        return planned_overview(
            self.ctx.target, self.ctx.bundle, purpose=self.purpose, doing=self.doing
        )

    def show(self, data: PlannedOverview) -> None:
        table = self.query_one("#table", RevealTable)
        selected = self._selected
        table.clear()
        for record in data.records:
            status = record.status
            table.add_row(
                f"{status.version:04d}",
                state_text(status.state),
                status.description,
                timestamp(status.installed_on),
                key=str(status.version),
            )
        table.border_title = (
            f"{data.applied} applied · {data.pending} pending · {data.inconsistent} inconsistent"
        )
        if not data.records:
            self.query_one("#history", Static).update("No migrations in the bundle or history.")
            self.query_one("#sql", Static).update("")
            return
        versions = [r.status.version for r in data.records]
        if selected not in versions:
            # First load: start on what needs attention (a problem, else the first pending).
            wanted = [r.status.version for r in data.records if r.status.state != "applied"]
            selected = wanted[0] if wanted else versions[-1]
        table.reveal(versions.index(selected))
        self.show_record(versions.index(selected))

    @on(DataTable.RowHighlighted, "#table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_record(event.cursor_row)

    def show_record(self, row: int) -> None:
        if self.data is None or not 0 <= row < len(self.data.records):
            return
        record = self.data.records[row]
        self._selected = record.status.version
        parts: list[Any] = [history_panel(record), Text("")]
        plan = None
        if record.status.state == "pending" and record.status.filename:
            plan = plan_panel(self.data.apply_plan, record.status.filename)
        if plan is not None:
            parts += [plan, Text("")]
        parts.append(Text("SQL", style="bold underline"))
        self.query_one("#history", Static).update(Group(*parts))
        self.query_one("#sql", Static).update(sql_view(record))
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)
