"""Drift: the checks of ``drift-check``, their differences, the selected one's diff."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.widgets import DataTable, Static

from gordon_migrate.drift import restore
from gordon_migrate.drift.render import ABSENT, members_text
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.screens.actions import GuardedActionModal
from gordon_migrate.tui.screens.base import DataScreen
from gordon_migrate.tui.widgets.table import RevealTable

if TYPE_CHECKING:
    from gordon_migrate.drift import CheckResult, Difference, DriftReport

KIND_STYLE = {"missing": "bold red", "unexpected": "bold yellow", "changed": "bold magenta"}


def checks_panel(report: DriftReport) -> Group:
    """Each check passed or failed, then the schema checksums (as ``drift-check`` prints)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    for check in report.checks:
        if check.ok:
            grid.add_row(Text("✓", style="bold green"), check.title, Text("ok", style="green"))
        else:
            count = len(check.differences)
            grid.add_row(
                Text("✗", style="bold red"),
                Text(check.title, style="bold"),
                Text(f"{count} difference{'s' * (count != 1)}", style="bold red"),
            )
    same = report.expected_checksum == report.actual_checksum
    checksum = Text(f"expected {report.expected_checksum[:12]}… actual ", style="dim")
    checksum.append(f"{report.actual_checksum[:12]}…", style="dim" if same else "bold red")
    grid.add_row("", "schema sha256", checksum)
    warnings = [Text(f"! {warning}", style="yellow") for warning in report.warnings]
    return Group(grid, *warnings)


def _lines(sign: str, definition: str | None, style: str) -> Text:
    if definition is None:
        return Text(f"{sign} {ABSENT}\n", style="dim")
    return Text("".join(f"{sign}{row}\n" for row in definition.split("\n")), style=style)


def difference_view(check: CheckResult, difference: Difference) -> RenderableType:
    """The selected difference as a diff: the core's unified diff when it made one (a
    changed multi-line definition), else the expected lines (-) against the actual ones (+)."""
    head = Text()
    head.append(f"{difference.kind}  ", style=KIND_STYLE.get(difference.kind, "bold"))
    head.append(difference.object, style="bold")
    head.append(f"\n{check.title}", style="dim")
    parts: list[RenderableType] = [head]
    if difference.detail:
        parts.append(Text(difference.detail, style="italic"))
    if difference.members:
        parts.append(Text(f"with it: {members_text(difference.members)}", style="italic"))
    if difference.diff:
        parts.append(Syntax(difference.diff, "diff", theme="ansi_dark", background_color="default"))
    else:
        body = Text("--- expected (fixtures)\n+++ actual (database)\n", style="bold")
        body.append_text(_lines("-", difference.expected, "red"))
        body.append_text(_lines("+", difference.actual, "green"))
        body.rstrip()
        parts.append(body)
    return Group(*parts)


class FixModal(GuardedActionModal[restore.FixPlan]):
    """``drift-check --fix-sql``, run: the exact statements, the database name typed back,
    one transaction, audited like ``repair``."""

    TITLE = "Restore the pinned state (drift-check --fix-sql)"
    NOUN = "database"

    def make_plan(self) -> restore.FixPlan | None:
        return restore.plan_fix(self.ctx.target, self.ctx.fixtures_dir)

    def nothing(self) -> str:
        return (
            "Nothing drift-check can restore here: no drift, or only differences that would "
            "lose data or need the migration (see the Drift screen)."
        )

    def describe(self, plan: restore.FixPlan) -> str:
        return restore.describe_plan(plan, self.ctx.target)

    def token(self, plan: restore.FixPlan) -> str:
        return plan.token

    def command(self, plan: restore.FixPlan) -> str:
        lines = [line for line in plan.sql.splitlines() if line.strip()]
        if len(lines) <= 2:
            return "\n".join(lines)
        return f"{lines[0]}\n… and {len(lines) - 1} more lines (the plan above), one transaction"

    def execute(self, plan: restore.FixPlan, reason: str) -> str:
        after = restore.run_fix(
            self.ctx.target, plan, reason=reason, fixtures_dir=self.ctx.fixtures_dir
        )
        return restore.describe_outcome(plan, after)


class DriftScreen(DataScreen["DriftReport"]):
    """``drift-check`` against the pinned fixtures (read-only), rendered."""

    MODE: ClassVar[str] = "drift"
    PURPOSE: ClassVar[str] = "drift"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Refresh"),
        Binding("f", "fix", "Fix"),
    ]

    def action_fix(self) -> None:
        self.app.push_screen(FixModal(self.ctx))

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.rows: list[tuple[CheckResult, Difference]] = []

    def compose_body(self) -> ComposeResult:
        yield Static(id="checks", classes="panel")
        with Container(id="split"):
            yield RevealTable(id="table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="detail"):
                yield Static(id="difference")

    def on_mount(self) -> None:
        self.query_one("#checks").border_title = "Checks"
        self.query_one("#detail").border_title = "Selected difference"
        table = self.query_one("#table", RevealTable)
        table.add_column("Check", key="check")
        table.add_column("Kind", key="kind")
        table.add_column("Object", key="object")

    def load_data(self) -> DriftReport:
        from gordon_migrate.drift import run_drift_check

        return run_drift_check(self.ctx.target, self.ctx.fixtures_dir)

    def show(self, data: DriftReport) -> None:
        checks = self.query_one("#checks", Static)
        checks.update(checks_panel(data))
        checks.set_class(not data.ok, "alert")
        table = self.query_one("#table", RevealTable)
        table.clear()
        self.rows = [(c, d) for c in data.checks for d in c.differences]
        for index, (check, difference) in enumerate(self.rows):
            table.add_row(
                check.name,
                Text(difference.kind, style=KIND_STYLE.get(difference.kind, "")),
                difference.object,
                key=str(index),
            )
        total = len(self.rows)
        table.border_title = (
            f"{total} difference{'s' * (total != 1)}" if total else "no differences"
        )
        detail = self.query_one("#difference", Static)
        if not self.rows:
            detail.update(
                Text("No drift: the database is exactly what the migrations built.", "green")
            )
            return
        table.reveal(0)
        self.show_difference(0)
        if self.focused is None:
            table.focus()

    @on(DataTable.RowHighlighted, "#table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_difference(event.cursor_row)

    def show_difference(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.query_one("#difference", Static).update(difference_view(*self.rows[row]))
            self.query_one("#detail", VerticalScroll).scroll_home(animate=False)
