"""Small renderers shared by the screens (words match the CLI's ``status`` output)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

from gordon_migrate.apply.render import STATE_LABEL
from gordon_migrate.apply.status import State

#: The CLI's words (``render.STATE_LABEL``), in colour.
STATE_STYLE: dict[State, str] = {
    "applied": "green",
    "pending": "bold yellow",
    "failed": "bold white on red",
    "checksum_mismatch": "bold white on red",
    "missing_from_bundle": "bold white on red",
}


def state_text(state: State) -> Text:
    return Text(STATE_LABEL[state], style=STATE_STYLE[state])


def timestamp(value: datetime | None) -> str:
    """UTC, to the second: the same on every server whatever its TimeZone."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else ""


def duration(ns: int | None) -> str:
    """Execution time as the history stores it (nanoseconds; -1 while a row is dirty)."""
    if ns is None:
        return ""
    if ns < 0:
        return "unfinished"
    ms = ns / 1e6
    return f"{ms:.1f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


ELLIPSIS = "…"


def abbreviate(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, shortened at a boundary, never mid-word.

    A qualified name loses its leading parts first (``sequence trading.trades_trade_id_seq``
    becomes ``sequence …trades_trade_id_seq``), then the words before it; prose loses its last
    words (``order intents open …``). Only a single word wider than ``width`` is cut, as a last
    resort. The full text belongs in a detail pane next to it.
    """
    if cell_len(text) <= width:
        return text
    words = text.split(" ")
    head, last = " ".join(words[:-1]), words[-1]
    candidates: list[str] = []
    parts = last.split(".")
    if len(parts) > 1:
        tails = [ELLIPSIS + ".".join(parts[i:]) for i in range(1, len(parts))]
        if head:
            candidates += [f"{head} {tail}" for tail in tails]
        candidates += [ELLIPSIS + last, *tails]
    candidates += [" ".join(words[:k]) + f" {ELLIPSIS}" for k in range(len(words) - 1, 0, -1)]
    for candidate in candidates:
        if cell_len(candidate) <= width:
            return candidate
    return text[: max(width - 1, 0)] + ELLIPSIS


#: Where a DSN, a path, a host or a qualified name may be broken: after these characters.
BREAK_AFTER = "/@?&,;=."
_PIECES = re.compile(rf"[^{re.escape(BREAK_AFTER)}]*[{re.escape(BREAK_AFTER)}]?")


def break_offsets(plain: str, width: int) -> list[int]:
    """Offsets in ``plain`` where a line break lets every token wider than ``width`` wrap at a
    boundary (after ``/ @ ? & , ; = .``) rather than mid-name, as Rich would fold it. A piece
    with no boundary wider than ``width`` is still folded by Rich: the last resort."""
    offsets: list[int] = []
    for token in re.finditer(r"\S+", plain):
        if cell_len(token.group()) <= width:
            continue
        used = 0
        position = token.start()
        for piece in _PIECES.findall(token.group()):
            if not piece:
                continue
            if used and used + cell_len(piece) > width:
                offsets.append(position)
                used = 0
            used += cell_len(piece)
            position += len(piece)
    return offsets


class BoundaryWrap:
    """``text`` wrapped as Rich wraps it, except that a DSN or an identifier too long for the
    width is broken after a ``/``, ``@``, ``?``, ``.``… instead of mid-word (Rich folds such a token
    at the last cell that fits: ``gordon_tui_sn`` / ``apshot``)."""

    def __init__(self, text: Text | str) -> None:
        self.text = text if isinstance(text, Text) else Text(text)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text
        offsets = break_offsets(text.plain, options.max_width)
        if offsets:
            bounds = [0, *offsets, len(text.plain)]
            text = Text("\n").join(text[a:b] for a, b in itertools.pairwise(bounds))
        yield text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text)
