"""Runbook: docs/spof-runbook.md step by step, each with its live probe and failure modes.

The steps and their text come from ``recovery.runbook`` (the bundled file), the results from
``recovery.diagnose`` (the probes ``gordon-migrate diagnose`` runs). The actions the runbook
prescribes are one key away, each behind its confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.widgets import DataTable, Static

from gordon_migrate.recovery import runbook
from gordon_migrate.recovery.diagnose import Diagnosis, diagnose
from gordon_migrate.recovery.probes import ProbeResult, Target
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.screens.base import DataScreen
from gordon_migrate.tui.widgets.table import RevealTable

STATUS_MARK = {
    "ok": Text("✓ ok", style="bold green"),
    "warning": Text("! warning", style="bold yellow"),
    "problem": Text("✗ PROBLEM", style="bold white on red"),
    "not_run": Text("- not run", style="dim"),
}

#: Which action each failure mode's recovery offers here (key, words).
ACTIONS_FOR = {
    "FM-13": ("x", "repair the dirty migration (after finishing or undoing it by hand)"),
    "FM-16": ("u", "end the session holding the migration lock"),
    "FM-17": ("b", "show the blocking sessions (and end one)"),
    "FM-18": ("a", "apply the pending migrations"),
    "FM-19": ("a", "apply the pending migrations"),
    "FM-20": ("a", "apply the pending migrations"),
}


@dataclass(frozen=True)
class RunbookState:
    """The runbook as parsed, and the diagnosis of the database against it."""

    book: runbook.Runbook
    diagnosis: Diagnosis

    def result(self, step: runbook.Step) -> ProbeResult | None:
        return next((r for r in self.diagnosis.results if r.name == step.probe), None)


def step_view(state: RunbookState, step: runbook.Step) -> RenderableType:
    """One step: its live result, the actions here, the failure modes it names and their
    recovery, then the runbook's own text for the step and its playbooks."""
    parts: list[RenderableType] = []
    head = Text(f"Step {step.number}: {step.title}", style="bold underline")
    parts.append(head)
    result = state.result(step)
    if result is None:
        parts.append(Text("no probe: a step for you to carry out", style="dim"))
    else:
        line = Text()
        line.append_text(STATUS_MARK[result.status])
        line.append(f"  {result.summary}")
        parts.append(line)
        parts += [Text(f"  {detail}", style="dim") for detail in result.details]
    named = result.failure_modes if result is not None else ()
    actions = [ACTIONS_FOR[m] for m in named if m in ACTIONS_FOR]
    if actions:  # first: what can be done from here, each behind its confirmation
        text = Text("\nActions here:", style="bold")
        for key, words in dict.fromkeys(actions):
            text.append("\n  ")
            text.append(f" {key} ", style="bold reverse")
            text.append(f" {words}")
        parts.append(text)
    playbooks: list[str] = []
    for fm_id in named:
        mode = state.book.failure_mode(fm_id)
        text = Text(f"\n{mode.id} {mode.name}", style="bold yellow")
        text.append(f"  (runbook: {mode.section})", style="dim")
        parts.append(text)
        parts.append(Markdown(f"**Recovery:** {mode.recovery}"))
        if mode.playbook and mode.section not in playbooks:
            playbooks.append(mode.section)
    if result is not None and not result.ok and result.commands:
        text = Text("\nOn the command line:", style="bold")
        for command in result.commands:
            text.append(f"\n  {command}")
        parts.append(text)
    parts.append(Text(f"\n{step.heading} (docs/spof-runbook.md)", style="bold dim"))
    parts.append(Markdown(step.body))
    for heading in playbooks:
        parts.append(Text(f"\n{heading}", style="bold dim"))
        parts.append(Markdown(state.book.section(heading).body))
    return Group(*parts)


class RunbookScreen(DataScreen[RunbookState]):
    """The recovery procedure with live probes; opens on the first failing step."""

    MODE: ClassVar[str] = "runbook"
    PURPOSE: ClassVar[str] = "runbook"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Re-check"),
        Binding("b", "app.blockers", "Blockers"),
        Binding("x", "app.repair", "Repair"),
        Binding("u", "app.unlock", "Unlock"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._selected: int | None = None

    def compose_body(self) -> ComposeResult:
        with Container(id="split"):
            yield RevealTable(id="table", cursor_type="row")
            with VerticalScroll(id="detail"):
                yield Static(id="step")

    def on_mount(self) -> None:
        table = self.query_one("#table", RevealTable)
        table.add_column("#", key="number")
        table.add_column("Result", key="status")
        table.add_column("Step", key="title")
        table.add_column("FM", key="fm")

    def load_data(self) -> RunbookState:
        target = Target(self.ctx.run)
        return RunbookState(book=runbook.load(), diagnosis=diagnose(target))

    def show(self, data: RunbookState) -> None:
        table = self.query_one("#table", RevealTable)
        table.clear()
        for step in data.book.steps:
            result = data.result(step)
            table.add_row(
                str(step.number),
                STATUS_MARK[result.status] if result else Text("·", style="dim"),
                step.title,
                ", ".join(result.failure_modes) if result else "",
                key=str(step.number),
            )
        problems = data.diagnosis.problems
        table.border_title = (
            f"{len(problems)} problem(s): follow the first" if problems else "healthy"
        )
        numbers = [s.number for s in data.book.steps]
        selected = self._selected
        if problems and selected not in {p.step for p in problems}:
            # "Follow the first": after a fix (or on a step that passes) go to the next
            # problem, the detail pane with it; a problem the operator is on stays selected.
            selected = problems[0].step
        elif selected not in numbers:
            selected = numbers[0]
        table.reveal(numbers.index(selected))
        self.show_step(numbers.index(selected))
        table.focus()

    @on(DataTable.RowHighlighted, "#table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_step(event.cursor_row)

    def show_step(self, row: int) -> None:
        if self.data is None or not 0 <= row < len(self.data.book.steps):
            return
        step = self.data.book.steps[row]
        self._selected = step.number
        self.query_one("#step", Static).update(step_view(self.data, step))
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)
