"""The in-place error state: one line from the core, and what to press next."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class FailureBox(Static):
    """Hidden until a worker fails; then shows the failure where the data would be."""

    DEFAULT_CLASSES = "failure"

    def show_failure(self, message: str, hint: str = "press r to retry") -> None:
        text = Text()
        text.append("✗ ", style="bold red")
        text.append(message)
        if hint:
            text.append(f"\n\n{hint}", style="dim")
        self.update(text)
        self.display = True

    def clear(self) -> None:
        self.update("")
        self.display = False
