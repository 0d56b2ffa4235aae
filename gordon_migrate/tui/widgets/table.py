"""A DataTable that shows its cursor row the same way whatever the timing of the layout."""

from __future__ import annotations

from typing import Any

from rich.text import Text, TextType
from textual import events
from textual.scrollbar import ScrollDown, ScrollTo, ScrollUp
from textual.widgets import DataTable
from textual.widgets.data_table import Column, ColumnKey, RowKey

from gordon_migrate.tui.format import abbreviate

#: The narrowest a flexible column gets; below it the table scrolls sideways instead.
FLEX_MIN = 12


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

    def __init__(self, *args: Any, flex_column: str | None = None, **kwargs: Any) -> None:
        """When the columns are wider than the region, one column gives way: ``flex_column``
        (a column key), else the widest one. Its cells are abbreviated at a boundary
        (``format.abbreviate``) so the columns after it stay on screen; a column added with a
        fixed ``width`` is abbreviated the same way instead of cut mid-word, and widens to its
        content when there is room. The full values stay in ``full`` (for the detail pane). A
        matrix (``fixed_columns``) scrolls sideways instead, by design."""
        super().__init__(*args, **kwargs)
        self.flex_column = flex_column
        self.full: dict[tuple[RowKey, ColumnKey], Any] = {}
        self._fitted_to: tuple[object, ...] | None = None
        #: The column currently narrowed to fit.
        self._flexed: ColumnKey | None = None
        #: Columns added with a fixed width: the width they keep when room is short.
        self._caps: dict[ColumnKey, int] = {}

    def add_column(
        self,
        label: TextType,
        *,
        width: int | None = None,
        key: str | None = None,
        default: Any | None = None,
    ) -> ColumnKey:
        column_key = super().add_column(label, width=width, key=key, default=default)
        if width is not None:
            self._caps[column_key] = width
        return column_key

    # -- cells that never show a name cut mid-word ---------------------------------------
    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: TextType | None = None,
    ) -> RowKey:
        columns = self.ordered_columns
        shown = [
            _fit(cell, columns[i].width) if i < len(columns) and not columns[i].auto_width else cell
            for i, cell in enumerate(cells)
        ]
        row_key = super().add_row(*shown, height=height, key=key, label=label)
        for column, cell in zip(columns, cells, strict=False):
            self.full[row_key, column.key] = cell
        return row_key

    def clear(self, columns: bool = False) -> RevealTable:
        self.full.clear()
        if columns:
            self._flexed = None
            self._caps.clear()
        super().clear(columns)
        return self

    def _flex_key(self) -> ColumnKey | None:
        if self.fixed_columns:
            # A matrix scrolls sideways; only its fixed first column may widen to its content.
            first = self.ordered_columns[0].key if self.ordered_columns else None
            return first if first in self._caps else None
        if self.flex_column is not None:
            return ColumnKey(self.flex_column)
        candidates = [c for c in self.ordered_columns if c.auto_width or c.key == self._flexed]
        if not candidates:
            return None
        return max(candidates, key=self._widest).key

    def _widest(self, column: Column) -> int:
        values = [v for (_, key), v in self.full.items() if key == column.key]
        return max([column.label.cell_len, *(_plain_len(v) for v in values)])

    def _flex_layout(self) -> tuple[object, ...]:
        """What the flexible column's width depends on: the region, the other columns, rows."""
        key = self._flex_key()
        others = [c.get_render_width(self) for c in self.ordered_columns if c.key != key]
        return (key, self.scrollable_content_region.width, len(self.full), *others)

    def _fit_flex(self) -> None:
        """Give the flexible column what the others leave of the region (at least FLEX_MIN)."""
        self._fitted_to = self._flex_layout()
        key = self._flex_key()
        column = self.columns.get(key) if key is not None else None
        if column is None or key is None or self.scrollable_content_region.width <= 0:
            return
        others = sum(c.get_render_width(self) for c in self.ordered_columns if c.key != key)
        widest = self._widest(column)
        room = self.scrollable_content_region.width - others - 2 * self.cell_padding
        # A fixed width is kept when room is short, and given up for the content when not.
        width = min(widest, max(room, self._caps.get(key, FLEX_MIN)))
        if not column.auto_width and column.width == width:
            return
        self._flexed = key
        column.auto_width = False
        column.width = width
        for (row_key, col), value in self.full.items():
            if col == key:
                self.update_cell(row_key, key, _fit(value, width))
        self._require_update_dimensions = True
        self.refresh()

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

    #: What the scrolling columns of a matrix (``fixed_columns``) are called on its border.
    column_noun = "columns"

    def hidden_columns_note(self) -> str:
        """For a matrix wider than its region: which of its scrolling columns are on screen
        and how to reach the others ("" when all are, or before the first layout)."""
        view = self.scrollable_content_region.width
        if not self.fixed_columns or view <= 0:
            return ""
        widths = [c.get_render_width(self) for c in self.columns.values()]
        fixed = sum(widths[: self.fixed_columns])
        left, right = fixed + self.scroll_x, self.scroll_x + view
        shown = []
        x = fixed
        for i, width in enumerate(widths[self.fixed_columns :], 1):
            if x >= left and x + width <= right:
                shown.append(i)
            x += width
        total = len(widths) - self.fixed_columns
        if not shown or len(shown) == total:
            return ""
        sides = [
            side for side, more in (("left", shown[0] > 1), ("right", shown[-1] < total)) if more
        ]
        return (
            f"{self.column_noun} {shown[0]}-{shown[-1]} of {total}; more to the "
            f"{' and '.join(sides)}: ←/→ scroll"
        )

    def on_idle(self, event: events.Idle) -> None:
        # Every idle round, from the current layout and scroll: the note is never stale.
        note = self.hidden_columns_note()
        if note != self.border_subtitle:
            self.border_subtitle = note
        if self._flex_layout() != self._fitted_to:
            self._fit_flex()
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


def _plain_len(value: Any) -> int:
    return value.cell_len if isinstance(value, Text) else len(str(value))


def _fit(value: Any, width: int) -> Any:
    """``value`` abbreviated to ``width`` cells at a boundary (styled text keeps its style)."""
    if _plain_len(value) <= width:
        return value
    if isinstance(value, Text):
        return Text(abbreviate(value.plain, width), style=value.style, justify=value.justify)
    return abbreviate(str(value), width)
