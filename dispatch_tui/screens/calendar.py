"""The calendar view: a branch's or one technician's week or month; Enter opens that day on the board."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from data.queries.board import CalendarData, calendar_range
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import Notice, ViewRefreshed
from dispatch_tui.screens.base import TargetScreen
from dispatch_tui.widgets.calendar_grid import CalendarGrid, month_grid_start, week_start
from dispatch_tui.widgets.key_bar import KeyBar
from dispatch_tui.widgets.status_line import StatusLine
from dispatch_tui.widgets.title_bar import TitleBar


class CalendarScreen(TargetScreen):
    TITLE = "Calendar"
    CSS_PATH = "calendar.tcss"
    BINDINGS = [
        Binding("w", "mode('week')", "Week", id="calendar.week"),
        Binding("M", "mode('month')", "Month", id="calendar.month"),
        Binding("left_square_bracket", "shift(-1)", "Previous", key_display="[", id="calendar.previous"),
        Binding("right_square_bracket", "shift(1)", "Next", key_display="]", id="calendar.next"),
        Binding("o", "toggle_scope", "Branch/tech", id="calendar.scope"),
        Binding("slash", "search", "Search", key_display="/", id="calendar.search"),
    ]

    def __init__(self, ctx: ConsoleContext, technician_code: str | None = None) -> None:
        super().__init__(name="calendar")
        self.ctx = ctx
        self.technician_code = technician_code
        """Whose calendar: a technician's when set, else the branch's."""
        self.last_technician = technician_code
        self.loaded = asyncio.Event()
        self._context_day = ctx.day

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("", id="calendar-summary", markup=False)
        yield CalendarGrid(id="calendar")
        yield StatusLine()
        yield KeyBar()

    @property
    def grid(self) -> CalendarGrid:
        return self.query_one(CalendarGrid)

    def on_mount(self) -> None:
        self.grid.cursor = self.ctx.day
        self.grid.today = self.ctx.local(self.ctx.now()).date()
        self.grid.ascii_only = self.ctx.ascii_only
        self.grid.focus()
        self._reload_range()

    def range_for(self, day: date, mode: str) -> tuple[date, date]:
        if mode == "week":
            first = week_start(day)
            return first, first + timedelta(days=7)
        first = month_grid_start(day)
        return first, first + timedelta(days=42)

    def reload(self) -> None:
        """Re-read the range on screen; follows the console's day when someone else changed it."""
        if self.ctx.day != self._context_day:
            self._context_day = self.ctx.day
            self.grid.cursor = self.ctx.day
        self._reload_range()

    def _reload_range(self) -> None:
        self.run_worker(self._load(), group="calendar-load", exclusive=True)

    async def _load(self) -> None:
        grid, ctx = self.grid, self.ctx
        start, end = self.range_for(grid.cursor, grid.mode)
        scope = {"technician_code": self.technician_code} if self.technician_code else {"branch_code": ctx.branch_code}
        data: CalendarData = await asyncio.to_thread(
            lambda: calendar_range(ctx.db, start, end, detail=grid.mode == "week", **scope)
        )
        grid.data = data
        self._summary(data)
        self.loaded.set()
        self.app.post_message(ViewRefreshed())

    def _summary(self, data: CalendarData) -> None:
        jobs = sum(d.jobs for d in data.days.values())
        p1 = sum(d.p1 for d in data.days.values())
        last = data.end - timedelta(days=1)
        recurring = sum(e.recurring for e in data.entries)
        text = f" {data.title} · {data.start:%d %b} – {last:%d %b %Y} · {jobs} jobs · {p1} P1"
        if self.grid.mode == "week":
            text += f" · {recurring} recurring (↻)"
        text += f" · {len(data.absences)} absences"
        self.query_one("#calendar-summary", Static).update(text)

    def action_mode(self, mode: str) -> None:
        self.grid.mode = mode
        self._reload_range()

    def action_shift(self, step: int) -> None:
        grid = self.grid
        if grid.mode == "week":
            grid.cursor = grid.cursor + timedelta(days=7 * step)
        else:
            month = grid.cursor.month - 1 + step
            grid.cursor = date(grid.cursor.year + month // 12, month % 12 + 1, 1)
        self._reload_range()

    def action_toggle_scope(self) -> None:
        """Between the branch and the technician selected in any view (the app remembers who)."""
        selected = getattr(self.app, "selected_technician", None) or self.last_technician
        if self.technician_code is None and selected is None:
            self.app.post_message(Notice("select a technician first (in the technicians view or the board)"))
            return
        self.technician_code = None if self.technician_code else selected
        self.last_technician = selected
        self._reload_range()

    def on_calendar_grid_cursor_moved(self, _message: CalendarGrid.CursorMoved) -> None:
        self._reload_range()
