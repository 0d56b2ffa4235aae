"""``tui --report FILE``: an ``apply --report`` file, read-only, without a database.

The migrations of the run on top (outcome, time, attempts, lock wait), the statements of the
selected one below (outcome, attempts, time, the locks it takes, its SQL), and the lock
timeouts with the sessions that blocked them: what an operator reads after a failed deploy.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

OUTCOME_STYLE = {
    "applied": "green",
    "ok": "green",
    "success": "green",
    "failed": "bold red",
    "interrupted": "bold red",
    "lock_timeout": "yellow",
    "not_run": "dim",
}


def _outcome(word: object) -> Text:
    text = str(word)
    return Text(text, style=OUTCOME_STYLE.get(text, ""))


def _seconds(value: object) -> str:
    return f"{float(value):.3f}s" if isinstance(value, int | float) else "-"


def summary(report: dict[str, Any]) -> str:
    """The run in a few lines: outcome, database, versions, the error and the trace."""
    lines = [
        f"apply of {report.get('database') or '?'}: {report.get('outcome')} in "
        f"{_seconds(report.get('duration_s'))} (gordon-migrate {report.get('tool_version')}, "
        f"started {report.get('started_at')})",
        f"applied {report.get('applied')}, pending {report.get('pending')}, schema version "
        f"{report.get('schema_version')}, bundle {report.get('bundle_version')}; lock timeouts "
        f"{report.get('lock_timeouts')}, retries {report.get('retries')}; locks from the "
        f"{_plan(report.get('plan'))}",
    ]
    error = report.get("error")
    if isinstance(error, dict):
        lines.append(
            f"error ({error.get('failure_mode') or error.get('kind')}): {error.get('message')}"
        )
    if report.get("trace_id"):
        lines.append(f"trace {report['trace_id']}")
    return "\n".join(lines)


def _plan(kind: object) -> str:
    if kind == "mixed":
        return "measured plan (the static one for the migrations not pinned)"
    return f"{kind} plan"


def statement_detail(migration: dict[str, Any]) -> str:
    """The selected migration's lock timeouts and their blockers, then each statement's SQL."""
    lines = []
    for timeout in migration.get("lock_timeouts", []):
        blockers = "; ".join(
            f"pid {b.get('pid')} ({b.get('application')}, {b.get('user')}) holds {b.get('mode')} "
            f"on {b.get('relation')}"
            for b in timeout.get("blockers", [])
        )
        lines.append(
            f"attempt {timeout.get('attempt')} line {timeout.get('line')}: lock_timeout after "
            f"{_seconds(timeout.get('waited_s'))}, "
            f"{'retried' if timeout.get('retried') else 'not retried'}; "
            f"{blockers or 'the blockers had gone'}"
        )
    for statement in migration.get("statements", []):
        lines.append(f"line {statement.get('line')}: {statement.get('sql')}")
    return "\n".join(lines) or "no statement ran"


class ReportApp(App[int]):
    """The report viewer: up/down choose a migration, q quits."""

    TITLE = "gordon-migrate apply report"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]
    DEFAULT_CSS = """
    #summary { height: auto; padding: 0 1; }
    #migrations { height: 1fr; }
    #statements { height: 1fr; }
    #detail { height: 1fr; padding: 0 1; }
    """

    def __init__(self, report: dict[str, Any], source: str) -> None:
        super().__init__()
        self.report = report
        self.sub_title = source
        self.migrations: list[dict[str, Any]] = list(report.get("migrations", []))

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(summary(self.report), id="summary")
        yield DataTable(id="migrations", cursor_type="row")
        yield DataTable(id="statements", cursor_type="row")
        with VerticalScroll(id="detail"):
            yield Static(id="detail-text")
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[Any] = self.query_one("#migrations", DataTable)
        table.add_columns("version", "file", "outcome", "time", "attempts", "lock wait")
        for m in self.migrations:
            table.add_row(
                f"{m.get('version', 0):04d}",
                m.get("file", ""),
                _outcome(m.get("outcome")),
                _seconds(m.get("duration_s")),
                str(m.get("attempts")),
                _seconds(m.get("lock_wait_s")),
            )
        statements: DataTable[Any] = self.query_one("#statements", DataTable)
        statements.add_columns("line", "outcome", "attempts", "time", "locks")
        if self.migrations:
            self.show_migration(0)
        else:
            self.query_one("#detail-text", Static).update("the run applied no migration")
        table.focus()

    def show_migration(self, index: int) -> None:
        migration = self.migrations[index]
        table: DataTable[Any] = self.query_one("#statements", DataTable)
        table.clear()
        for s in migration.get("statements", []):
            locks = ", ".join(
                f"{lock['mode']} on {lock['relation']}" for lock in s.get("locks", [])
            )
            table.add_row(
                str(s.get("line")),
                _outcome(s.get("outcome")),
                str(s.get("attempts")),
                _seconds(s.get("duration_s")),
                locks or "-",
            )
        self.query_one("#detail-text", Static).update(statement_detail(migration))

    @on(DataTable.RowHighlighted, "#migrations")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.migrations):
            self.show_migration(event.cursor_row)

    async def action_quit(self) -> None:
        self.exit(0)
