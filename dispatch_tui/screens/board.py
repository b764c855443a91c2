"""The schedule board view: the branch's day as a Gantt chart, kept live row by row from the event feed."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from data.queries.board import BoardDay, board_day, technicians_of_jobs
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import EventsArrived, Notice
from dispatch_tui.screens.base import JobTarget, LiveScreen
from dispatch_tui.widgets.key_bar import KeyBar
from dispatch_tui.widgets.schedule_board import ScheduleBoard
from dispatch_tui.widgets.status_line import StatusLine
from dispatch_tui.widgets.title_bar import TitleBar

NOW_TICK_SECONDS = 30.0
FULL_REFRESH_SECONDS = 60.0
LEGEND = (
    ("scheduled", "job-scheduled"),
    ("dispatched", "job-dispatched"),
    ("driving", "job-en_route"),
    ("on site", "job-on_site"),
    ("done", "job-completed"),
)


class BoardScreen(LiveScreen):
    TITLE = "Schedule board"
    CSS_PATH = "board.tcss"
    BINDINGS = [
        Binding("r", "reload", "Reload", id="board.reload", show=False),
        Binding("slash", "search", "Search", key_display="/", id="board.search"),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(name="board")
        self.ctx = ctx
        self._follow: str | None = None
        """A job chosen in another view, to put the cursor on once the day is drawn."""

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("", id="board-summary", markup=False)
        yield ScheduleBoard(ascii_only=self.ctx.ascii_only, id="board")
        yield StatusLine()
        yield KeyBar()

    @property
    def board(self) -> ScheduleBoard:
        return self.query_one(ScheduleBoard)

    def on_mount(self) -> None:
        self.board.now = self.ctx.now()
        self.set_interval(NOW_TICK_SECONDS, self._tick)
        self.refresh_every(FULL_REFRESH_SECONDS)
        self.board.focus()

    def job_target(self) -> JobTarget | None:
        job = self.board.selected_job()
        return JobTarget(job.ref, job.version) if job is not None else None

    def technician_target(self) -> str | None:
        tech = self.board.selected_technician()
        return tech.code if tech is not None else None

    def follow_job(self, ref: str) -> None:
        """Land on the job the dispatcher chose in the view they came from (now, or once the day is read)."""
        self._follow = ref
        if self.loaded.is_set():
            self._land()

    def _land(self) -> None:
        ref, self._follow = self._follow, None
        if ref is not None and not self.board.focus_job(ref):
            self.app.post_message(
                Notice(f"{ref} is not on the board of {self.ctx.day:%a %d %b} (unassigned or another day)")
            )

    def on_screen_resume(self) -> None:
        board = self.board.board
        if board is not None and board.day != self.ctx.day:
            self.action_reload()

    def _tick(self) -> None:
        self.board.now = self.ctx.now()

    def action_reload(self) -> None:
        self.reload()

    def stale_keys(self, message: EventsArrived) -> set[tuple[str, int]]:
        events = [e for e in message.events if e.type != "technician.position"]
        if not events:
            return set()
        touched = EventsArrived(events)
        techs = {("technician", int(x)) for x in touched.touched_technicians if x.isdigit()}
        return techs | {("job", int(x)) for x in touched.touched_jobs if x.isdigit()}

    async def read(self, keys: set[Hashable] | None) -> None:
        """The whole day, or the rows of the technicians and jobs these keys name."""
        ctx = self.ctx
        if keys is None or (self.board.board is not None and self.board.board.day != ctx.day):
            day = await asyncio.to_thread(board_day, ctx.db, ctx.branch_code, ctx.day)
            self.board.board = day
            self._show_summary(day)
            self.loaded.set()
            self._land()
            return
        techs = {k[1] for k in keys if isinstance(k, tuple) and k[0] == "technician"}
        jobs = {k[1] for k in keys if isinstance(k, tuple) and k[0] == "job"}
        rows = await asyncio.to_thread(self._rows_for, techs, jobs)
        self.board.update_technicians(rows.technicians)

    def _rows_for(self, technician_ids: set[int], job_ids: set[int]) -> BoardDay:
        """The rows these events touch: named technicians, whoever holds the jobs now, and who held them."""
        ids = set(technician_ids)
        ids |= {t for t in technicians_of_jobs(self.ctx.db, job_ids).values() if t is not None}
        current = self.board.board
        if current is not None:
            ids |= {t.id for t in current.technicians if any(j.id in job_ids for j in t.jobs)}
        return board_day(self.ctx.db, self.ctx.branch_code, self.ctx.day, technician_ids=ids)

    def _show_summary(self, day: BoardDay) -> None:
        planned = sum(len(t.jobs) for t in day.technicians)
        text = Text(f" {day.branch_name} · {day.day:%a %d %b} · {len(day.technicians)} techs · ")
        text.append(f"{planned} planned", style="bold")
        text.append(" · ")
        text.append(f"{day.unassigned} unassigned", style="bold #ffaf00" if day.unassigned else "")
        text.append("   ")
        for label, key in LEGEND:
            text.append(" ", style=self.board.get_component_rich_style(f"schedule-board--{key}"))
            text.append(f" {label} ")
        text.append("!", style=self.board.get_component_rich_style("schedule-board--p1"))
        text.append(" P1 · travel ≈ break ")
        text.append("░", style=self.board.get_component_rich_style("schedule-board--absence"))
        text.append(" absent")
        self.query_one("#board-summary", Static).update(text)
