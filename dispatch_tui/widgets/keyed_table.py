"""A table of rows held by key, drawn line by line: 5,000 rows cost what the screen shows.

Live views hand it whole rows (`put`) or the keys that left (`drop`); it keeps every row, shows those
matching the filter, in the order the view asks for (or the column whose header was clicked). The
cursor is a key, never an index: rows moving or leaving around it leave it where it was, and when its
own row leaves it moves to the row that took its place (the next one down, or the last) and says so
(`CursorDisplaced`). The table posts its own messages (`RowHighlighted`, `RowSelected`, `SortChanged`);
the screen decides what they mean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dispatch_tui.widgets.readable import readable

Row = tuple[Text, ...]
PADDING = 1
"""Blank cells either side of every column."""
HEADER_LINES = 1


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None
    fill: bool = False
    """Takes the room the other columns leave (wide terminals), never less than `width`."""


def fit(text: str, width: int) -> str:
    """`text` in at most `width` cells, visibly cut ("…") rather than silently."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _sig(cell: Text) -> tuple[str, str, int]:
    return (cell.plain, str(cell.style), len(cell.spans))


class TableMessage(Message):
    """What a table tells its screen; `control` is the table (so `@on(..., "#jobs")` selects it)."""

    def __init__(self, table: KeyedTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> KeyedTable:
        return self.table


class KeyedTable(ScrollView, can_focus=True):
    """Rows keyed by a stable id (the first column shows it); order and filter decided by the owner."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")
    COMPONENT_CLASSES = {"keyed-table--header", "keyed-table--header-sorted", "keyed-table--cursor"}
    BINDINGS = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,ctrl+home", "edge(-1)", "First row", show=False),
        Binding("end,ctrl+end", "edge(1)", "Last row", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
    ]

    class RowHighlighted(TableMessage):
        """The cursor is on this row now (by the user's move, or because its row left)."""

        def __init__(self, table: KeyedTable, key: str | None) -> None:
            super().__init__(table)
            self.key = key

    class RowSelected(TableMessage):
        """Enter (or a click on the cursor's row): the user chose this row."""

        def __init__(self, table: KeyedTable, key: str) -> None:
            super().__init__(table)
            self.key = key

    class CursorDisplaced(TableMessage):
        """The row under the cursor left (`gone`); the cursor is now on `key`, the row that took its place."""

        def __init__(self, table: KeyedTable, gone: str, key: str | None, removed: bool) -> None:
            super().__init__(table)
            self.gone = gone
            self.key = key
            self.removed = removed
            """True when the row left the table; False when only the filter hides it now."""

    class SortChanged(TableMessage):
        """A column header was clicked: rows follow that column (`reverse` on the second click; the
        third gives the owner's order back, `column` None)."""

        def __init__(self, table: KeyedTable, column: Column | None, reverse: bool) -> None:
            super().__init__(table)
            self.column = column
            self.reverse = reverse

    def __init__(self, columns: Sequence[Column], *, ascii_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ascii_only = ascii_only
        self._columns = list(columns)
        self._widths = [c.width or len(c.label) for c in self._columns]
        self._rows: dict[str, Row] = {}
        self._order: Callable[[str], Any] = lambda key: key
        self._filter = ""
        self._only: frozenset[str] | None = None
        self._shown: list[str] = []
        self._index: dict[str, int] = {}
        self._cursor: str | None = None
        self._sort: tuple[int, bool] | None = None
        """(column index, reverse) after a header click; None: the owner's order."""
        self._lines: dict[tuple[str, bool], Strip] = {}
        self._header: Strip | None = None
        self._styles: dict[str, Style] = {}

    # What the owner sets.

    def set_order(self, order: Callable[[str], Any]) -> None:
        """Row order as a sort key of the row key; applied at once (a clicked column is forgotten)."""
        self._order = order
        self._sort = None
        self._header = None
        self._rebuild()

    def set_filter(self, text: str) -> None:
        """Show only rows whose text contains `text` (case-insensitive)."""
        text = text.strip().lower()
        if text != self._filter:
            self._filter = text
            self._rebuild()

    def set_key_filter(self, keys: Iterable[str] | None) -> None:
        """Show only the rows with these keys (None: every row), on top of the text filter."""
        self._only = frozenset(keys) if keys is not None else None
        self._rebuild()

    @property
    def key_filter(self) -> frozenset[str] | None:
        return self._only

    @property
    def filter_text(self) -> str:
        return self._filter

    def put(self, rows: Mapping[str, Row], *, replace_all: bool = False) -> int:
        """Add or update rows (and with `replace_all`, drop the ones not given). Returns cells touched.

        The cursor stays on the row it was on (by key), whatever is inserted or removed around it."""
        touched = 0
        reorder = False
        if self.app.no_color:  # NO_COLOR: what the colours said, in reverse, bold and underline
            rows = {key: tuple(readable(cell) for cell in row) for key, row in rows.items()}
        gone: list[str] = []
        if replace_all:
            gone = [k for k in self._rows if k not in rows]
            for key in gone:
                del self._rows[key]
            reorder = any(k in self._index for k in gone)
            touched += len(gone)
        for key, row in rows.items():
            old = self._rows.get(key)
            self._rows[key] = row
            if old is None:
                touched += len(row)
                reorder = reorder or self._matches(row, key)
                continue
            changed = [i for i, (a, b) in enumerate(zip(old, row, strict=True)) if _sig(a) != _sig(b)]
            if not changed:
                continue
            touched += len(changed)
            shown = key in self._index
            if shown != self._matches(row, key) or (self._sort is not None and self._sort[0] in changed):
                reorder = True
            elif shown:
                self._redraw(key)
        if reorder:
            self._rebuild(removed=set(gone))
        return touched

    def drop(self, keys: Iterable[str]) -> int:
        """Forget these rows; the cursor stays on its own row (by key) unless that row is the one gone."""
        gone = {key for key in keys if self._rows.pop(key, None) is not None}
        if gone & self._index.keys():
            self._rebuild(removed=gone)
        return len(gone)

    def resort(self) -> None:
        self._rebuild()

    def sort_by_column(self, column: str, reverse: bool | None = None) -> None:
        """Order by a column's values: what a header click does, `reverse` None cycling ascending,
        descending, then back to the owner's order."""
        index = self._column_index(column)
        if reverse is None and self._sort == (index, True):
            self._sort = None
            self._header = None
            self._rebuild()
            self.post_message(self.SortChanged(self, None, False))
            return
        if reverse is None:
            reverse = self._sort == (index, False)
        self._sort = (index, reverse)
        self._header = None
        self._rebuild()
        self.post_message(self.SortChanged(self, self._columns[index], reverse))

    @property
    def sorted_by(self) -> tuple[str, bool] | None:
        """The clicked column's key and whether reversed; None while the owner's order holds."""
        return None if self._sort is None else (self._columns[self._sort[0]].key, self._sort[1])

    def sort_value(self, key: str, column: str) -> Any:
        """What a clicked column sorts by; the cell's text unless a table knows better (times, numbers)."""
        return self._rows[key][self._column_index(column)].plain.lower()

    # What the owner and tests read.

    def cursor_key(self) -> str | None:
        return self._cursor

    def row_of(self, key: str) -> Row | None:
        return self._rows.get(key)

    def get_row(self, key: str) -> Row:
        return self._rows[key]

    @property
    def all_keys(self) -> list[str]:
        return list(self._rows)

    @property
    def rows(self) -> Mapping[str, int]:
        """The keys shown (filtered and ordered), each with its line: `key in table.rows` as with DataTable."""
        return self._index

    @property
    def shown_keys(self) -> list[str]:
        return list(self._shown)

    @property
    def row_count(self) -> int:
        return len(self._shown)

    def is_shown(self, key: str) -> bool:
        return key in self._index

    def key_at(self, index: int) -> str:
        return self._shown[index]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    @property
    def cursor_row(self) -> int:
        return self._index.get(self._cursor, 0) if self._cursor is not None else 0

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        if self._shown:
            self._set_cursor(self._shown[max(0, min(row, len(self._shown) - 1))])

    def move_cursor_to(self, key: str) -> bool:
        """Put the cursor on this row; False when it is not shown."""
        if key not in self._index:
            return False
        self._set_cursor(key)
        return True

    # Keys and mouse.

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step * max(1, self._page_rows() - 1))

    def action_edge(self, side: int) -> None:
        self.move_cursor(row=0 if side < 0 else len(self._shown) - 1)

    def action_select_cursor(self) -> None:
        if self._cursor is not None:
            self.post_message(self.RowSelected(self, self._cursor))

    def on_click(self, event: events.Click) -> None:
        """A header click sorts by that column (again: reversed); a row click moves the cursor, and a
        click on the cursor's row (or a double click) chooses it."""
        x = event.x + round(self.scroll_x)
        if event.y < HEADER_LINES:
            column = self._column_at(x)
            if column is not None:
                self.sort_by_column(self._columns[column].key)
            return
        index = round(self.scroll_y) + event.y - HEADER_LINES
        if not 0 <= index < len(self._shown):
            return
        key = self._shown[index]
        again = key == self._cursor
        self._set_cursor(key)
        if again or event.chain >= 2:
            self.post_message(self.RowSelected(self, key))

    # Layout.

    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Give the fill column whatever the others leave of the table's width (at 160 columns, use it)."""
        widths = [c.width or len(c.label) for c in self._columns]
        fill = next((i for i, c in enumerate(self._columns) if c.fill), None)
        if fill is not None:
            room = self.scrollable_content_region.width - sum(widths) - 2 * PADDING * len(widths)
            widths[fill] = max(widths[fill], widths[fill] + room)
        if widths != self._widths:
            self._widths = widths
            self._lines.clear()
            self._header = None
        self._size_virtual()
        self.refresh()

    @property
    def content_width(self) -> int:
        """Cells the columns take side by side, padding included."""
        return sum(self._widths) + 2 * PADDING * len(self._widths)

    def _size_virtual(self) -> None:
        self.virtual_size = Size(self.content_width, len(self._shown) + HEADER_LINES)

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - HEADER_LINES)

    def _column_at(self, x: int) -> int | None:
        left = 0
        for i, width in enumerate(self._widths):
            left += width + 2 * PADDING
            if x < left:
                return i
        return None

    def _column_index(self, column: str) -> int:
        return next(i for i, c in enumerate(self._columns) if c.key == column)

    # Internals.

    def _matches(self, row: Row, key: str) -> bool:
        if self._only is not None and key not in self._only:
            return False
        return not self._filter or any(self._filter in cell.plain.lower() for cell in row)

    def _rebuild(self, removed: set[str] | frozenset[str] = frozenset()) -> None:
        """Filter and order the rows again; the cursor keeps its key (and its place on screen)."""
        old_key = self._cursor
        old_index = self._index.get(old_key) if old_key is not None else None
        shown = [k for k, row in self._rows.items() if self._matches(row, k)]
        shown.sort(key=self._order)
        if self._sort is not None:
            column, reverse = self._columns[self._sort[0]].key, self._sort[1]
            shown.sort(key=lambda k: self.sort_value(k, column), reverse=reverse)  # stable: ties keep the order
        self._shown = shown
        self._index = {k: i for i, k in enumerate(shown)}
        self._size_virtual()
        self.refresh()
        if old_key is not None and old_key in self._index:
            if old_index is not None and old_index != self._index[old_key]:
                # Rows came or went above: the cursor's row stays where the eye left it.
                self.scroll_to(y=self.scroll_y + self._index[old_key] - old_index, animate=False, immediate=True)
            self._scroll_to_cursor()
            return
        if not shown:
            self._cursor = None
            if old_key is not None:
                self.post_message(self.CursorDisplaced(self, old_key, None, old_key in removed))
                self.post_message(self.RowHighlighted(self, None))
            return
        # The row that took its place: the next one down, or the last when it was the last.
        neighbour = shown[min(old_index if old_index is not None else 0, len(shown) - 1)]
        self._cursor = neighbour
        self._scroll_to_cursor()
        if old_key is not None:
            self.post_message(self.CursorDisplaced(self, old_key, neighbour, old_key in removed))
        self.post_message(self.RowHighlighted(self, neighbour))

    def _set_cursor(self, key: str) -> None:
        if key == self._cursor:
            self._scroll_to_cursor()
            return
        old, self._cursor = self._cursor, key
        if old is not None:
            self._redraw(old)
        self._redraw(key)
        self._scroll_to_cursor()
        self.post_message(self.RowHighlighted(self, key))

    def _scroll_to_cursor(self) -> None:
        index = self._index.get(self._cursor) if self._cursor is not None else None
        if index is None:
            return
        top, rows = round(self.scroll_y), self._page_rows()
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + rows:
            self.scroll_to(y=index - rows + 1, animate=False, immediate=True)

    def _redraw(self, key: str) -> None:
        self._lines.pop((key, False), None)
        self._lines.pop((key, True), None)
        index = self._index.get(key)
        if index is not None:
            line = index - round(self.scroll_y) + HEADER_LINES
            if HEADER_LINES <= line < self.size.height:
                self.refresh_line(line)

    # Drawing.

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._lines.clear()
        self._header = None

    def on_focus(self) -> None:
        self._forget_cursor_line()

    def on_blur(self) -> None:
        self._forget_cursor_line()

    def _forget_cursor_line(self) -> None:
        self._styles.pop("keyed-table--cursor", None)
        if self._cursor is not None:
            self._redraw(self._cursor)

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

    def _cells(self, texts: Sequence[Text], base: Style, post: Style | None = None) -> Strip:
        console = self.app.console
        pad = Segment(" " * PADDING, base + post if post else base)
        segments: list[Segment] = []
        for text, width in zip(texts, self._widths, strict=False):
            cell = text.copy()
            cell.truncate(width, overflow="ellipsis", pad=True)
            # Text.render draws the spans only; the text's own style is the base of its cell.
            own = cell.style if isinstance(cell.style, Style) else console.get_style(cell.style, default=Style.null())
            segments.append(pad)
            segments.extend(Segment.apply_style(cell.render(console), base + own, post))
            segments.append(pad)
        return Strip(segments)

    def _header_strip(self) -> Strip:
        if self._header is None:
            labels = []
            for i, column in enumerate(self._columns):
                label = column.label
                if self._sort is not None and self._sort[0] == i:
                    arrows = "^v" if self.ascii_only else "▲▼"
                    label = fit(label, self._widths[i] - 1) + arrows[self._sort[1]]
                    labels.append(Text(label, style=self._style("keyed-table--header-sorted")))
                else:
                    labels.append(Text(label))
            self._header = self._cells(labels, self.rich_style + self._style("keyed-table--header"))
        return self._header

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        left = round(self.scroll_x)
        if y < HEADER_LINES:
            header = self._header_strip()
            base = self.rich_style + self._style("keyed-table--header")
            return header.crop_extend(left, left + width, base)
        index = round(self.scroll_y) + y - HEADER_LINES
        if not 0 <= index < len(self._shown):
            return Strip.blank(width, self.rich_style)
        key = self._shown[index]
        cursor = key == self._cursor
        strip = self._lines.get((key, cursor))
        if strip is None:
            post = self._style("keyed-table--cursor") if cursor else None
            strip = self._lines[(key, cursor)] = self._cells(self._rows[key], self.rich_style, post)
        base = self.rich_style + self._style("keyed-table--cursor") if cursor else self.rich_style
        return strip.crop_extend(left, left + width, base)
