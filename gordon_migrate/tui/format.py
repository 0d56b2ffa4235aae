"""Small renderers shared by the screens (words match the CLI's ``status`` output)."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text

from gordon_migrate.engine import State

STATE_STYLE: dict[State, tuple[str, str]] = {
    "applied": ("applied", "green"),
    "pending": ("pending", "bold yellow"),
    "failed": ("FAILED (dirty)", "bold white on red"),
    "checksum_mismatch": ("CHECKSUM MISMATCH", "bold white on red"),
    "missing_from_bundle": ("NOT IN BUNDLE", "bold white on red"),
}


def state_text(state: State) -> Text:
    label, style = STATE_STYLE[state]
    return Text(label, style=style)


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
