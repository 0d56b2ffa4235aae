"""Small renderers shared by the screens (words match the CLI's ``status`` output)."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.cells import cell_len
from rich.text import Text

from gordon_migrate.render import STATE_LABEL
from gordon_migrate.status import State

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
