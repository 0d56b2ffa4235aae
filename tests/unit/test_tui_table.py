"""RevealTable: where the first view of a table lands, whatever scrolls it afterwards.

The table alone in a small app (no database: this is layout, not data). A snapshot once failed
because DataTable scrolled the cursor to the last visible line after the reveal had given up;
these tests move the view behind the reveal's back and check it comes back, and that an
operator's own scrolling is never fought.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from textual.app import App, ComposeResult
from textual.events import MouseScrollDown
from textual.pilot import Pilot
from textual.widgets.data_table import ColumnKey

from gordon_migrate.tui.widgets.table import RevealTable
from tests.support.tui import wait_for

ROWS = 60
ROW = 40


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RevealTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(RevealTable)
        table.add_column("n")
        table.add_rows([str(i)] for i in range(ROWS))
        table.reveal(ROW)


def run(scenario: Callable[[RevealTable, Pilot[None]], Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        app = TableApp()
        async with app.run_test(size=(40, 20)) as pilot:
            table = app.query_one(RevealTable)
            await wait_for(pilot, lambda: table.settled, "the reveal")
            await scenario(table, pilot)

    asyncio.run(main())


def third_down(table: RevealTable) -> int:
    visible = table.scrollable_content_region.height - table.header_height
    return ROW - visible // 3


def test_reveal_puts_the_cursor_row_a_third_down() -> None:
    async def scenario(table: RevealTable, pilot: Pilot[None]) -> None:
        assert table.cursor_row == ROW
        assert round(table.scroll_y) == third_down(table) > 0

    run(scenario)


def test_a_later_scroll_by_the_table_itself_is_undone() -> None:
    async def scenario(table: RevealTable, pilot: Pilot[None]) -> None:
        # What DataTable's own deferred scroll-into-view did in the failing run.
        table.scroll_to(y=ROW - 5, animate=False, immediate=True)
        assert not table.settled
        table.refresh()
        await wait_for(pilot, lambda: table.settled, "the view restored")
        assert round(table.scroll_y) == third_down(table)

    run(scenario)


def test_a_resize_keeps_the_row_a_third_down() -> None:
    async def scenario(table: RevealTable, pilot: Pilot[None]) -> None:
        before = round(table.scroll_y)
        await pilot.resize_terminal(40, 26)
        await wait_for(pilot, lambda: table.settled, "the view after the resize")
        assert round(table.scroll_y) == third_down(table) != before

    run(scenario)


def test_the_operator_scrolling_releases_the_view() -> None:
    async def scenario(table: RevealTable, pilot: Pilot[None]) -> None:
        for _ in range(3):
            table.post_message(MouseScrollDown(table, 1, 1, 0, 1, 0, False, False, False))
        await pilot.pause()
        moved = round(table.scroll_y)
        assert moved != third_down(table)
        assert table.settled
        await pilot.pause()
        assert round(table.scroll_y) == moved

    run(scenario)


def test_moving_the_cursor_releases_the_view() -> None:
    async def scenario(table: RevealTable, pilot: Pilot[None]) -> None:
        table.focus()
        await pilot.press("up")
        await pilot.pause()
        assert table.cursor_row == ROW - 1
        table.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert table.settled
        assert round(table.scroll_y) == 0

    run(scenario)


def test_abbreviate_cuts_at_a_boundary_never_mid_word() -> None:
    from gordon_migrate.tui.format import abbreviate

    name = "sequence trading.trades_trade_id_seq"
    assert abbreviate(name, 40) == name
    assert abbreviate(name, 32) == "sequence …trades_trade_id_seq"
    assert abbreviate("! " + name, 32) == "! sequence …trades_trade_id_seq"
    assert abbreviate("column trading.fills.hotfix_note", 25) == "column …fills.hotfix_note"
    assert abbreviate("order intents open status index", 20) == "order intents open …"


class WideApp(App[None]):
    """A table wider than its region: the widest column gives way, the last stays whole."""

    def compose(self) -> ComposeResult:
        yield RevealTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(RevealTable)
        table.add_column("Ver")
        table.add_column("Description", key="description")
        table.add_column("Installed on", key="installed")
        table.add_row("0010", "order intents open status index", "2026-05-17 03:10:00Z")
        table.add_row("0011", "fills fee asset required", "2026-05-17 03:11:00Z")


def test_the_widest_column_gives_way_so_the_last_one_stays_on_screen() -> None:
    async def main() -> None:
        app = WideApp()
        async with app.run_test(size=(44, 10)) as pilot:
            table = app.query_one(RevealTable)
            await wait_for(
                pilot,
                lambda: (
                    table.virtual_size.width <= table.scrollable_content_region.width
                    and not table.columns[ColumnKey("description")].auto_width
                ),
                "the description to give way",
            )
            shown = str(table.get_row_at(0)[1])
            assert shown.endswith(" …") and shown.startswith("order ")
            assert table.get_row_at(0)[2] == "2026-05-17 03:10:00Z"
            first = next(iter(table.rows))
            assert table.full[first, ColumnKey("description")] == "order intents open status index"

    asyncio.run(main())
