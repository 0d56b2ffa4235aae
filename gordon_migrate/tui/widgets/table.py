"""A DataTable that shows its cursor row the same way whatever the timing of the layout."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import DataTable


class RevealTable(DataTable[Any]):
    """``reveal(row, column)`` puts the cursor there and scrolls so that it sits a third of the
    way down the view, once rows and sizes have settled (and again after a resize).

    DataTable scrolls a moved cursor into view by the smallest amount, computed with whatever
    size the table had at that instant: at start-up that depends on timing. Here the final
    position depends only on the final layout, so the first view (and a snapshot) is stable.
    """

    #: Idle rounds left to reach the wanted position (0: nothing to do).
    _reveal_rounds = 0
    #: A reveal asked for and not yet done (from the call, through the arming, to the end).
    _revealing = False
    ROUNDS = 20

    @property
    def settled(self) -> bool:
        """True once the last ``reveal`` has put the view where it wants it (or gave up)."""
        return not self._revealing

    def reveal(self, row: int, column: int = 0) -> None:
        self._revealing = True
        self.move_cursor(row=row, column=column, scroll=False)
        # DataTable still scrolls the new cursor into view after the next refresh: arm ours
        # after that, so that ours is the last word.
        self.call_after_refresh(self._arm)

    def _arm(self) -> None:
        self._reveal_rounds = self.ROUNDS
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self.row_count:
            self._reveal_rounds = self.ROUNDS

    def on_idle(self, event: events.Idle) -> None:
        if self._reveal_rounds:
            # After DataTable's own idle work (row dimensions) for this round.
            self.call_later(self._scroll_to_cursor)

    def _scroll_to_cursor(self) -> None:
        if not self._reveal_rounds:
            return
        self._reveal_rounds -= 1
        if not self._reveal_rounds:
            self._revealing = False
        visible = max(self.scrollable_content_region.height - self.header_height, 1)
        target = max(min(self.cursor_row - visible // 3, self.row_count - visible), 0)
        self.scroll_to(y=target, animate=False, immediate=True)
        if round(self.scroll_y) == target:
            self._reveal_rounds = 0  # reached; else the sizes were not settled yet: retry
            self._revealing = False
