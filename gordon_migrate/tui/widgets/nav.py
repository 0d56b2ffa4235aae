"""The top line: the five screens, their keys, the current one highlighted (clickable)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from gordon_migrate.tui.sections import SECTIONS


class NavBar(Static):
    """``gordon-migrate  1 Overview  2 Migrations ...`` with ``current`` highlighted."""

    DEFAULT_CSS = """
    NavBar {
        height: 1;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self, current: str) -> None:
        super().__init__(self._content(current))

    @staticmethod
    def _content(current: str) -> Content:
        markup = ["[b] gordon-migrate [/]"]
        for section in SECTIONS:
            label = f" {section.key} {section.title} "
            if section.mode == current:
                markup.append(f"[b reverse]{label}[/]")
            else:
                markup.append(f"[@click=app.show('{section.mode}')]{label}[/]")
        return Content.from_markup("".join(markup))
