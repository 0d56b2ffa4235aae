"""Wrapping a DSN or an identifier at a boundary, never mid-name (80x24 dialogs)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from gordon_migrate.tui.format import BREAK_AFTER, BoundaryWrap

DSN = (
    "postgresql://gordon_migrator:***@db-primary.trading.internal.example.com:5432/"
    "gordon_production?sslmode=verify-full&application_name=deploy"
)


def rendered(text: str, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(BoundaryWrap(text))
    return [line.strip() for line in console.export_text().splitlines()]


@pytest.mark.parametrize("width", [24, 30, 40, 66])
def test_a_long_dsn_breaks_only_at_a_space_or_after_a_boundary(width: int) -> None:
    original = f"database gordon_production ({DSN}) will be read"
    lines = rendered(original, width)
    position = 0
    for line in lines:
        assert len(line) <= width, lines
        while original[position] == " ":
            position += 1
        assert original.startswith(line, position), lines
        position += len(line)
        if position < len(original):
            assert original[position] == " " or original[position - 1] in BREAK_AFTER, lines
    assert position == len(original)


def test_text_that_fits_is_left_alone() -> None:
    text = "database gordon (postgresql://u:***@db/gordon)"
    assert rendered(text, 80) == [text]
