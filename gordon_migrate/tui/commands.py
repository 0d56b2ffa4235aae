"""The command palette (ctrl+p): every screen and every action, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class PaletteCommand:
    """A named action the palette offers: ``run`` is called on the UI thread."""

    name: str
    help: str
    run: Callable[[], object]


@runtime_checkable
class OffersCommands(Protocol):
    def palette_commands(self) -> list[PaletteCommand]: ...


class GordonCommands(Provider):
    """Screens and actions, from the app's ``palette_commands()``."""

    def _commands(self) -> list[PaletteCommand]:
        return self.app.palette_commands() if isinstance(self.app, OffersCommands) else []

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, partial(command.run), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(command.name), partial(command.run), help=command.help
                )
