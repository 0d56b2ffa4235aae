"""A DataTable that shows its cursor row the same way whatever the timing of the layout."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.scrollbar import ScrollDown, ScrollTo, ScrollUp
from textual.widgets import DataTable


class RevealTable(DataTable[Any]):
    """``reveal(row, column)`` puts the cursor there and keeps the view so that the row sits a
    third of the way down, whatever the layout does next, until the operator moves or scrolls.

    DataTable scrolls a moved cursor into view by the smallest amount, computed with whatever
    size the table had at that instant, and it does so again later from its own callbacks: at
    start-up the result depends on timing. Here the wanted position is recomputed from the
    current layout on every idle round and restored when anything moved it, so the settled view
    (and a snapshot) depends only on the final layout. An earlier version gave up after a fixed
    number of rounds and once left the cursor on the last visible line under load.
    """

    #: The row the view is pinned to, until the operator moves the cursor or scrolls.
    _pinned: int | None = None
    #: The layout of the last scroll that did not take (not retried until the layout changes).
    _stuck: tuple[object, ...] | None = None

    @property
    def settled(self) -> bool:
        """True when the view is where the last ``reveal`` wants it on the current layout."""
        if self._pinned is None:
            return True
        wanted = self._wanted_y(self._pinned)
        return not self._require_update_dimensions and round(self.scroll_y) == wanted

    def reveal(self, row: int, column: int = 0) -> None:
        self._pinned = row
        self.move_cursor(row=row, column=column, scroll=False)
        self.refresh()

    def _wanted_y(self, row: int) -> int:
        visible = max(self.scrollable_content_region.height - self.header_height, 1)
        target = min(row - visible // 3, self.row_count - visible)
        # Never past what the current virtual size allows, so the target is always reachable.
        return max(min(target, round(self.max_scroll_y)), 0)

    def on_idle(self, event: events.Idle) -> None:
        if self._pinned is None:
            return
        if self.cursor_row != self._pinned:
            self._pinned = None
        elif not self.settled and self._layout() != self._stuck:
            # After DataTable's own idle work (row dimensions) for this round.
            self.call_later(self._scroll_to_pinned)

    def _layout(self) -> tuple[object, ...]:
        return (self.scrollable_content_region, self.virtual_size, self.scroll_y, self._pinned)

    def _scroll_to_pinned(self) -> None:
        if self._pinned is None or self._require_update_dimensions:
            return
        self.scroll_to(y=self._wanted_y(self._pinned), animate=False, immediate=True)
        # Before the first layout a scroll does not take; the Resize that follows retries.
        self._stuck = None if self.settled else self._layout()

    def _release(self) -> None:
        self._pinned = None

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._release()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._release()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._release()

    def on_scroll_to(self, message: ScrollTo) -> None:
        self._release()

    def on_scroll_up(self, message: ScrollUp) -> None:
        self._release()

    def on_scroll_down(self, message: ScrollDown) -> None:
        self._release()
