"""A DataTable that applies rows by key and repaints only the cells whose text or colour changed.

Live views hand it whole rows (`put`) or the keys that left (`drop`); it keeps every row, shows
those matching the filter, and keeps them in the order the view asks for. A tick that changes
nothing costs nothing; one that changes three cells updates three cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from dispatch_tui.widgets.readable import readable

Row = tuple[Text, ...]


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


def _sig(cell: Text) -> tuple[str, str]:
    return (cell.plain, str(cell.style))


class KeyedTable(DataTable[Text]):
    """Rows keyed by a stable id (the first column shows it); order and filter decided by the owner."""

    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._columns = list(columns)
        self._rows: dict[str, Row] = {}
        self._order: Callable[[str], Any] = lambda key: key
        self._filter = ""
        self._only: frozenset[str] | None = None

    def on_mount(self) -> None:
        for col in self._columns:
            self.add_column(col.label, key=col.key, width=col.width)

    def on_resize(self) -> None:
        self._fill_width()

    def _fill_width(self) -> None:
        """Give the fill column whatever the others leave of the table's width (at 160 columns, use it)."""
        spec = next((c for c in self._columns if c.fill and c.width), None)
        if spec is None or spec.key not in self.columns:
            return
        others = sum(c.get_render_width(self) for k, c in self.columns.items() if k != spec.key)
        room = self.scrollable_content_region.width - others - 2 * self.cell_padding
        column = self.columns[spec.key]  # type: ignore[index]
        width = max(spec.width or 0, room)
        if column.width != width:
            column.width = width
            # DataTable has no public call to re-measure a fixed-width column; these two are what it does itself.
            self._require_update_dimensions = True
            self._clear_caches()
            self.refresh()

    # What the owner sets.

    def set_order(self, order: Callable[[str], Any]) -> None:
        """Row order as a sort key of the row key; applied at once."""
        self._order = order
        self._resort()

    def set_filter(self, text: str) -> None:
        """Show only rows whose text contains `text` (case-insensitive); rebuilds the visible rows."""
        self._filter = text.strip().lower()
        keep = self.cursor_key()
        self.clear()
        for key in sorted((k for k in self._rows if self._matches(self._rows[k], k)), key=self._order):
            self.add_row(*self._rows[key], key=key)
        self._restore_cursor(keep)

    def set_key_filter(self, keys: Iterable[str] | None) -> None:
        """Show only the rows with these keys (None: every row), on top of the text filter."""
        self._only = frozenset(keys) if keys is not None else None
        self.set_filter(self._filter)

    @property
    def key_filter(self) -> frozenset[str] | None:
        return self._only

    @property
    def filter_text(self) -> str:
        return self._filter

    def put(self, rows: Mapping[str, Row], *, replace_all: bool = False) -> int:
        """Add or update rows (and with `replace_all`, drop the ones not given). Returns cells touched.

        The cursor stays on the row it was on (by key), whatever is inserted or removed around it."""
        keep = self.cursor_key()
        touched = 0
        added = False
        if self.app.no_color:  # NO_COLOR: what the colours said, in reverse, bold and underline
            rows = {key: tuple(readable(cell) for cell in row) for key, row in rows.items()}
        if replace_all:
            touched += self.drop([k for k in self._rows if k not in rows])
        for key, row in rows.items():
            old = self._rows.get(key)
            self._rows[key] = row
            visible = key in self.rows
            wanted = self._matches(row, key)
            if visible and not wanted:
                self.remove_row(key)
                touched += 1
            elif wanted and not visible:
                self.add_row(*row, key=key)
                added = True
                touched += len(row)
            elif visible and old is not None:
                for col, (before, after) in zip(self._columns, zip(old, row, strict=True), strict=True):
                    if _sig(before) != _sig(after):
                        self.update_cell(key, col.key, after)
                        touched += 1
        if added:
            self._resort()
        self._restore_cursor(keep)
        return touched

    def drop(self, keys: Iterable[str]) -> int:
        """Forget these rows; the cursor stays on its own row (by key) unless that row is the one gone."""
        keep = self.cursor_key()
        gone = 0
        for key in list(keys):
            if self._rows.pop(key, None) is not None and key in self.rows:
                self.remove_row(key)
                gone += 1
        if gone:
            self._restore_cursor(keep)
        return gone

    def resort(self) -> None:
        self._resort()

    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None
        return key

    def row_of(self, key: str) -> Row | None:
        return self._rows.get(key)

    @property
    def all_keys(self) -> list[str]:
        return list(self._rows)

    # Internals.

    def _matches(self, row: Row, key: str) -> bool:
        if self._only is not None and key not in self._only:
            return False
        return not self._filter or any(self._filter in cell.plain.lower() for cell in row)

    def _resort(self) -> None:
        if self.row_count < 2:
            return
        keep = self.cursor_key()
        first = self._columns[0].key
        order = self._order
        self.sort(first, key=lambda cell: order(cell.plain))
        self._restore_cursor(keep)

    def _restore_cursor(self, key: str | None) -> None:
        if key is not None and key in self.rows:
            row = self.get_row_index(key)
            if row != self.cursor_row:
                self.move_cursor(row=row, animate=False)
