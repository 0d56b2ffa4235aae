"""Grants: the role x object matrix of the Gordon schemas, expected against actual.

Cells show the live privileges in ``aclitem`` letters, as the CLI's ``grants`` does: a cell that
differs from the fixtures shows ``actual!expected`` on red, and the selected cell shows both
sides in words. ``c`` opens the column
grants of the selected table, ``m`` keeps only the rows that differ.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical, VerticalScroll
from textual.widgets import DataTable, Static
from textual.worker import Worker

from gordon_migrate.drift import render
from gordon_migrate.drift.grant_matrix import Cell, GrantMatrices, Matrix, grant_matrices
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.screens.base import DataScreen, GordonModal
from gordon_migrate.tui.widgets.table import RevealTable

MISMATCH = "bold white on red"


def cell_text(cell: Cell) -> Text:
    """The CLI's cell (``render.cell_text``: ``actual!expected`` on a mismatch), styled."""
    shown = render.cell_text(cell)
    if not cell.ok:
        return Text(shown, style=MISMATCH)
    return Text(shown, style="dim" if shown == "-" else "")


def cell_view(obj: str, role: str, cell: Cell) -> Group:
    head = Text(obj, style="bold")
    head.append(f"  to {role}")
    verdict = (
        Text("as expected", style="green")
        if cell.ok
        else Text("DIFFERS from the fixtures", style=MISMATCH)
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("expected", cell.expected or "(no privilege)")
    grid.add_row("actual", Text(cell.actual or "(no privilege)", "" if cell.ok else "bold red"))
    return Group(head, verdict, grid)


OBJECT_WIDTH = 34


def fill(table: DataTable[Text | str], grid: Matrix, rows: tuple[str, ...]) -> None:
    """(Re)build ``table`` from ``grid``: one row per object, one column per role (long
    object names are cut in the table; the selected cell shows them whole)."""
    table.clear(columns=True)
    longest = max((len(o) + 2 for o in rows), default=6)
    table.add_column("object", key="object", width=min(longest, OBJECT_WIDTH))
    for role in grid.roles:
        table.add_column(render.short_role(role), key=role)
    for obj in rows:
        label = Text(obj) if grid.row_ok(obj) else Text(f"! {obj}", style="bold red")
        table.add_row(label, *(cell_text(grid.cell(obj, role)) for role in grid.roles), key=obj)


def summary(data: GrantMatrices) -> Group:
    line = Text()
    for title, grid in (("grants", data.objects), ("column grants", data.columns)):
        count = len(grid.mismatches)
        line.append(f"{title} ", style="bold")
        line.append(f"{count} differ" if count else "ok", style="bold red" if count else "green")
        line.append(" · ", style="dim")
    line.append("role attributes ", style="bold")
    count = len(data.role_attributes)
    line.append(f"{count} differ" if count else "ok", style=MISMATCH if count else "green")
    lines = [line]
    lines += [
        Text(
            f"role {diff.role}: {diff.facet} expected {diff.expected or '(none)'}, "
            f"actual {diff.actual or '(none)'}",
            style=MISMATCH,
        )
        for diff in data.role_attributes
    ]
    lines.append(Text(render.LEGEND, style="dim"))
    return Group(*lines)


class GrantsScreen(DataScreen[GrantMatrices]):
    """Object x role, expected against actual; column grants on demand."""

    MODE: ClassVar[str] = "grants"
    PURPOSE: ClassVar[str] = "grants"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Short labels: the footer must fit 80 columns (the palette has the long names).
        Binding("c", "columns", "Columns"),
        Binding("m", "mismatches", "Diffs only"),
        Binding("f", "fix", "Fix"),
    ]

    def action_fix(self) -> None:
        from gordon_migrate.tui.screens.drift import FixModal

        self.app.push_screen(FixModal(self.ctx))

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.only_mismatches = False
        self.rows: tuple[str, ...] = ()

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary", classes="panel")
        with Container(id="split", classes="-matrix"):
            yield RevealTable(id="table", cursor_type="cell", fixed_columns=1)
            with VerticalScroll(id="detail"):
                yield Static(id="cell")

    def on_mount(self) -> None:
        self.query_one("#summary").border_title = "Grants (fixtures against the database)"
        self.query_one("#detail").border_title = "Selected cell"
        # A matrix cut at the right edge looks complete: its border says which roles show.
        self.query_one("#table", RevealTable).column_noun = "roles"

    def load_data(self) -> GrantMatrices:
        return grant_matrices(self.ctx.target, self.ctx.fixtures_dir, purpose="tui grants")

    def show(self, data: GrantMatrices) -> None:
        panel = self.query_one("#summary", Static)
        panel.update(summary(data))
        panel.set_class(not data.ok, "alert")
        self._fill(data)

    def _fill(self, data: GrantMatrices) -> None:
        grid = data.objects
        rows = grid.objects
        if self.only_mismatches:
            rows = tuple(o for o in rows if not grid.row_ok(o))
        self.rows = rows
        table = self.query_one("#table", RevealTable)
        fill(table, grid, rows)
        table.border_title = (
            f"{len(rows)} object(s) that differ" if self.only_mismatches else "all objects"
        )
        first = next((i for i, o in enumerate(rows) if not grid.row_ok(o)), 0)
        if rows:
            column = next(
                (c for c, role in enumerate(grid.roles, 1) if not grid.cell(rows[first], role).ok),
                1,
            )
            table.reveal(first, column)
            self._show_cell(first, column)
        else:
            self.query_one("#cell", Static).update(Text("No object differs.", style="green"))
        if self.focused is None:
            table.focus()

    @on(DataTable.CellHighlighted, "#table")
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._show_cell(event.coordinate.row, event.coordinate.column)

    def _show_cell(self, row: int, column: int) -> None:
        if self.data is None or not 0 <= row < len(self.rows):
            return
        grid = self.data.objects
        obj = self.rows[row]
        if 1 <= column <= len(grid.roles):
            role = grid.roles[column - 1]
            view: Group | Text = cell_view(obj, role, grid.cell(obj, role))
        else:
            view = Text(f"{obj}: move right to a role's cell; c shows its column grants")
        self.query_one("#cell", Static).update(view)

    def action_mismatches(self) -> None:
        self.only_mismatches = not self.only_mismatches
        if self.data is not None:
            self._fill(self.data)

    def action_columns(self) -> None:
        table = self.query_one("#table", RevealTable)
        if self.data is None or not 0 <= table.cursor_row < len(self.rows):
            return
        obj = self.rows[table.cursor_row]
        self.app.push_screen(ColumnGrantsModal(obj, self.data.columns_of(obj)))


class ColumnGrantsModal(GordonModal[None]):
    """One table's column grants, expected against actual (from the same snapshot)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,c", "close", "Close")]

    def __init__(self, obj: str, grid: Matrix) -> None:
        super().__init__()
        self.obj = obj
        self.grid = grid

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -tall"):
            yield Static(id="message")
            yield RevealTable(id="columns", cursor_type="cell", fixed_columns=1)
            yield Static(id="cell")

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = f"Column grants of {self.obj} (esc closes)"
        message = self.query_one("#message", Static)
        if not self.grid.objects:
            message.update(
                Text(
                    f"{self.obj} has no column grants, expected or actual: its table grants "
                    "say it all.",
                    style="green",
                )
            )
            self.query_one("#columns").display = False
            return
        count = len(self.grid.mismatches)
        message.update(
            Text(f"{count} cell(s) differ", style="bold red")
            if count
            else Text("as expected", style="green")
        )
        table: DataTable[Text | str] = self.query_one("#columns", DataTable)
        fill(table, self.grid, self.grid.objects)
        table.focus()

    @on(DataTable.CellHighlighted, "#columns")
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        row, column = event.coordinate.row, event.coordinate.column
        if 0 <= row < len(self.grid.objects) and 1 <= column <= len(self.grid.roles):
            obj, role = self.grid.objects[row], self.grid.roles[column - 1]
            self.query_one("#cell", Static).update(cell_view(obj, role, self.grid.cell(obj, role)))

    def show_failure(self, worker: Worker[object], message: str) -> None:
        self.notify(message, severity="error")

    def action_close(self) -> None:
        self.dismiss(None)
