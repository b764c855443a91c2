"""The technicians view: every technician's status, current and next job, lateness and load, live;
`f` keeps only those free now or later today, soonest first."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

from textual.app import ComposeResult
from textual.binding import Binding

from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import EventsArrived, Notice, OpenJob, TechnicianSelected
from dispatch_tui.screens.base import FilterBox, FilteredScreen
from dispatch_tui.widgets.key_bar import KeyBar
from dispatch_tui.widgets.keyed_table import KeyedTable
from dispatch_tui.widgets.status_line import StatusLine
from dispatch_tui.widgets.technician_table import SORTS, TechnicianTable
from dispatch_tui.widgets.title_bar import TitleBar

FULL_REFRESH_SECONDS = 30.0
"""Lateness grows with the clock even without events; re-read everything this often (cheap: diffed)."""


class TechniciansScreen(FilteredScreen):
    TITLE = "Technicians"
    ROWS_ARE = "technicians"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="technicians.filter"),
        Binding("o", "sort", "Sort", id="technicians.sort"),
        Binding("f", "free_now", "Free now", id="technicians.free"),
        Binding("escape", "clear_filter", "Clear", show=False),
    ]
    AUTO_FOCUS = "KeyedTable"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(name="technicians")
        self.ctx = ctx
        self.free_order: list[str] | None = None
        """Codes free now or soonest (soonest first) while the free-now filter is on; None when off."""
        self._free_now_count = 0
        self._follow: str | None = None
        """A technician chosen elsewhere (a search, `:tech`), to put the cursor on once the rows are read."""

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield FilterBox("filter technicians (text in any column), Enter to keep")
        yield TechnicianTable(self.ctx.zone, self.ctx.ascii_only, id="technicians")
        yield StatusLine()
        yield KeyBar()

    @property
    def table(self) -> TechnicianTable:
        return self.query_one(TechnicianTable)

    def on_mount(self) -> None:
        self.refresh_every(FULL_REFRESH_SECONDS)

    def stale_keys(self, message: EventsArrived) -> set[int]:
        return {int(x) for x in message.touched_technicians if x.isdigit()}

    async def read(self, keys: set[Hashable] | None) -> None:
        ids = None if keys is None else {k for k in keys if isinstance(k, int)}
        ctx = self.ctx
        rows = await asyncio.to_thread(ctx.queries.technician_board, ctx.db, ctx.branch.id, ctx.day, ctx.now(), ids)
        if not self.is_attached or not self.query(KeyedTable):
            return  # the console is closing
        self.table.show(rows, replace_all=ids is None)
        if ids is None and self.free_order is not None:
            await self._read_free()
        if ids is None:
            self._announce_cursor()
            if self._follow is not None:
                self.loaded.set()
                code, self._follow = self._follow, None
                self.focus_technician(code)

    def _announce_cursor(self) -> None:
        code = self.table.cursor_key()
        self.app.post_message(TechnicianSelected(code))

    def on_keyed_table_row_highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        self.app.post_message(TechnicianSelected(event.key))

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        row = self.table.technician(event.key)
        if row is not None and (row.current_job or row.next_job):
            self.app.post_message(OpenJob(row.current_job or row.next_job or ""))

    def on_screen_resume(self) -> None:
        self._announce_cursor()

    def technician_target(self) -> str | None:
        return self.table.cursor_key()

    async def action_free_now(self) -> None:
        """Toggle: only technicians free now or later today, the soonest free first."""
        if self.free_order is not None:
            self.free_order = None
            self.table.set_key_filter(None)
            self.table.sort_on(self.table.sort_by)
            self.app.post_message(Notice("showing every technician"))
            return
        await self._read_free()
        free: list[str] = self.free_order or []
        now = self._free_now_count
        self.app.post_message(Notice(f"{now} free now, {len(free) - now} free later today (f: show all)"))

    async def _read_free(self) -> None:
        ctx = self.ctx
        rows = await asyncio.to_thread(ctx.queries.free_technicians, ctx.db, ctx.now(), branch=ctx.branch.code)
        self.free_order = [r.code for r in rows]
        self._free_now_count = sum(1 for r in rows if r.free_now)
        rank = {code: k for k, code in enumerate(self.free_order)}
        self.table.set_key_filter(self.free_order)
        self.table.set_order(lambda code: (rank.get(code, len(rank)), code))

    def action_sort(self) -> None:
        nxt = SORTS[(SORTS.index(self.table.sort_by) + 1) % len(SORTS)]
        self.table.sort_on(nxt)
        self.app.post_message(Notice(f"technicians sorted by {nxt}"))

    def focus_technician(self, code: str) -> None:
        """Put the cursor on a technician (clearing a filter that hides them); once loaded, if not yet."""
        if not self.loaded.is_set():
            self._follow = code
            return
        if not self.table.is_shown(code) and self.table.filter_text:
            self.action_clear_filter()
        if self.table.move_cursor_to(code):
            self.app.post_message(TechnicianSelected(code))
        else:
            self.app.post_message(Notice(f"no technician {code} in {self.ctx.branch.code}", "warning"))
