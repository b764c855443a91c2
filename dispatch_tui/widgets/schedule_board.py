"""The schedule board: one Gantt row per technician drawn by the line API, so 500 rows cost what is visible."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from data.queries.board import BoardDay, BoardJob, BoardTechnician
from dispatch_tui.messages import JobSelected, OpenJob, TechnicianSelected

# Seconds per column at each zoom; a ruler step is four columns, which names the zoom.
ZOOM_SECONDS = (225, 450, 900)
ZOOM_NAMES = ("15 min", "30 min", "1 h")
DEFAULT_ZOOM = 1
HEADER_LINES = 2
STATUS_GLYPH = "●"

Cell = tuple[str, str]  # (character, style key; "a+b" combines styles)
# Plain-ASCII stand-ins for the board's glyphs (`--ascii`, terminals without good Unicode fonts).
ASCII_GLYPHS = str.maketrans({"╎": ":", "≈": "~", "░": "/", "·": ".", "│": "|", "▼": "v", "╷": "'", "●": "*", "…": "~"})


@dataclass(frozen=True)
class TimeScale:
    """Where instants fall on the board: column 0 is local midnight of the viewed day."""

    day_start: datetime
    seconds_per_cell: int

    def col(self, at: datetime) -> int:
        return round((at - self.day_start).total_seconds() / self.seconds_per_cell)

    def at(self, col: int) -> datetime:
        return self.day_start + timedelta(seconds=col * self.seconds_per_cell)

    def cells_for(self, day_end: datetime) -> int:
        return math.ceil((day_end - self.day_start).total_seconds() / self.seconds_per_cell)

    @property
    def cells_per_hour(self) -> float:
        return 3600 / self.seconds_per_cell


@dataclass(frozen=True)
class BlockSpan:
    """Columns a job occupies on its row: the travel run [travel_from, start) and the block [start, end)."""

    travel_from: int
    start: int
    end: int


def block_spans(jobs: Sequence[BoardJob], scale: TimeScale) -> list[BlockSpan]:
    """Columns of each job's block and of the travel before it; a block is at least one column wide.

    Travel never overwrites the previous block, but any planned travel shows at least one `·` when a
    free column is there, so a dispatcher always sees that the technician drives.
    """
    spans: list[BlockSpan] = []
    previous_end = -(10**6)
    for job in jobs:
        start = scale.col(job.start)
        end = max(start + 1, scale.col(job.end))
        travel_from = start
        if job.travel_minutes > 0:
            travel_from = scale.col(job.start - timedelta(minutes=job.travel_minutes))
            travel_from = min(travel_from, start - 1)
            travel_from = max(travel_from, previous_end)
        spans.append(BlockSpan(min(travel_from, start), start, end))
        previous_end = max(previous_end, end)
    return spans


def job_label(job: BoardJob, width: int) -> str:
    """Text inside a block: the ref, then the customer when there is room, cut with an ellipsis."""
    text = job.ref if width < len(job.ref) + 4 else f"{job.ref} {job.customer}"
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]
    return text.ljust(width)


def row_cells(technician: BoardTechnician, scale: TimeScale, n_cells: int) -> list[Cell]:
    """One technician's day, column by column, before the cursor and the now-line are laid over it."""
    hour_cells = scale.cells_per_hour
    cells: list[Cell] = []
    for c in range(n_cells):
        on_hour = hour_cells >= 2 and (c % round(hour_cells) == 0)
        cells.append(("╎" if on_hour else " ", "off-grid" if on_hour else "off"))
    if technician.shift_start is not None and technician.shift_end is not None:
        for c in range(max(0, scale.col(technician.shift_start)), min(n_cells, scale.col(technician.shift_end))):
            ch, style = cells[c]
            cells[c] = (ch, "shift-grid" if style == "off-grid" else "shift")
    for brk in technician.breaks:
        for c in range(max(0, scale.col(brk.start)), min(n_cells, max(scale.col(brk.start) + 1, scale.col(brk.end)))):
            cells[c] = ("≈", "break")
    for absence in technician.absences:
        for c in range(max(0, scale.col(absence.start)), min(n_cells, scale.col(absence.end))):
            cells[c] = ("░", "absence")
    for job, span in zip(technician.jobs, block_spans(technician.jobs, scale), strict=True):
        for c in range(max(0, span.travel_from), min(n_cells, span.start)):
            cells[c] = ("·", "travel")
        width = span.end - span.start
        style = f"job-{job.status}"
        if width >= 3:
            lead = "!" if job.priority == 1 else ("*" if job.pinned else " ")
            text = lead + job_label(job, width - 1)
        else:
            text = "!" * width if job.priority == 1 else job_label(job, width)
        for i, ch in enumerate(text):
            c = span.start + i
            if 0 <= c < n_cells:
                first_flag = i == 0 and job.priority == 1
                cells[c] = (ch, f"{style}+p1" if first_flag else style)
    return cells


def ruler_lines(scale: TimeScale, n_cells: int, zone: tzinfo) -> tuple[list[Cell], list[Cell]]:
    """The two header lines: hour labels, and ticks every ruler step (four columns)."""
    labels: list[Cell] = [(" ", "ruler")] * n_cells
    ticks: list[Cell] = [(" ", "ruler")] * n_cells
    hour = round(scale.cells_per_hour)
    for c in range(n_cells):
        if c % 4 == 0:
            ticks[c] = ("╷", "ruler-tick")
    for c in range(0, n_cells, hour):
        ticks[c] = ("│", "ruler-hour")
        local = scale.at(c).astimezone(zone)
        text = f"{local:%H:%M}" if hour >= 8 else f"{local:%H}"
        if hour < 3 and local.hour % 2:
            continue
        for i, ch in enumerate(text):
            if c + i < n_cells:
                labels[c + i] = (ch, "ruler")
    return labels, ticks


class ScheduleBoard(ScrollView, can_focus=True):
    """Technicians as rows, the day as columns; the cursor moves block to block and row to row."""

    DEFAULT_CSS = (Path(__file__).with_suffix(".tcss")).read_text(encoding="utf-8")

    STATUSES = ("new", "scheduled", "dispatched", "en_route", "on_site", "paused", "completed", "incomplete")
    TECH_STATUSES = ("off", "available", "en_route", "on_site", "break", "absent")
    COMPONENT_CLASSES = {
        "schedule-board--ruler",
        "schedule-board--ruler-tick",
        "schedule-board--ruler-hour",
        "schedule-board--name",
        "schedule-board--name-cursor",
        "schedule-board--name-off",
        "schedule-board--off",
        "schedule-board--off-grid",
        "schedule-board--shift",
        "schedule-board--shift-grid",
        "schedule-board--break",
        "schedule-board--absence",
        "schedule-board--travel",
        "schedule-board--now",
        "schedule-board--now-mark",
        "schedule-board--cursor",
        "schedule-board--p1",
        *(f"schedule-board--job-{s}" for s in STATUSES),
        *(f"schedule-board--tech-{s}" for s in TECH_STATUSES),
    }

    BINDINGS = [
        Binding("left", "block(-1)", "Prev job", show=False),
        Binding("right", "block(1)", "Next job", show=False),
        Binding("up", "row(-1)", "Prev tech", show=False),
        Binding("down", "row(1)", "Next tech", show=False),
        Binding("pageup", "row(-10)", "Page up", show=False),
        Binding("pagedown", "row(10)", "Page down", show=False),
        Binding("home", "edge(-1)", "First job", show=False),
        Binding("end", "edge(1)", "Last job", show=False),
        Binding("shift+left,less_than_sign", "scroll_time(-1)", "Earlier", key_display="<"),
        Binding("shift+right,greater_than_sign", "scroll_time(1)", "Later", key_display=">"),
        Binding("plus,equals_sign", "zoom(-1)", "Zoom in", key_display="+"),
        Binding("minus", "zoom(1)", "Zoom out", key_display="-"),
        Binding("full_stop", "to_now", "Now", key_display="."),
        Binding("enter", "open_job", "Open job"),
    ]

    board: reactive[BoardDay | None] = reactive(None, always_update=True)
    zoom: reactive[int] = reactive(DEFAULT_ZOOM)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self, *, ascii_only: bool = False, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.ascii_only = ascii_only
        self.cursor_row = 0
        self.cursor_job: int | None = None
        self.view_col = 0
        self._cells: dict[int, list[Cell]] = {}
        self._strips: dict[int, Strip] = {}
        self._styles: dict[str, Style] = {}
        self._header: tuple[list[Cell], list[Cell]] | None = None
        self._placed = False

    # -- model ----------------------------------------------------------------------------------

    @property
    def scale(self) -> TimeScale | None:
        if self.board is None:
            return None
        return TimeScale(self.board.day_start, ZOOM_SECONDS[self.zoom])

    @property
    def n_cells(self) -> int:
        scale = self.scale
        return 0 if scale is None or self.board is None else scale.cells_for(self.board.day_end)

    @property
    def technicians(self) -> tuple[BoardTechnician, ...]:
        return () if self.board is None else self.board.technicians

    @property
    def name_width(self) -> int:
        return 22 if self.size.width >= 120 else 15

    @property
    def timeline_width(self) -> int:
        return max(1, self.size.width - self.name_width - 1)

    def selected_job(self) -> BoardJob | None:
        techs = self.technicians
        if not techs or self.cursor_job is None:
            return None
        jobs = techs[self.cursor_row].jobs
        return jobs[self.cursor_job] if 0 <= self.cursor_job < len(jobs) else None

    def selected_technician(self) -> BoardTechnician | None:
        techs = self.technicians
        return techs[self.cursor_row] if techs else None

    def focus_job(self, ref: str) -> bool:
        """Put the cursor on this job's block (scrolled into view); False when the day does not show it."""
        for row, tech in enumerate(self.technicians):
            for index, job in enumerate(tech.jobs):
                if job.ref == ref:
                    old, self.cursor_row, self.cursor_job = self.cursor_row, row, index
                    self._redraw_rows(old, row)
                    self._cursor_moved()
                    return True
        return False

    # -- live updates ---------------------------------------------------------------------------

    def update_technicians(self, rows: Sequence[BoardTechnician]) -> list[int]:
        """Replace the rows of these technicians and redraw only those lines; returns the row indexes."""
        if self.board is None:
            return []
        index = {t.id: i for i, t in enumerate(self.board.technicians)}
        techs = list(self.board.technicians)
        changed: list[int] = []
        for row in rows:
            i = index.get(row.id)
            if i is not None:
                techs[i] = row
                changed.append(i)
        if not changed:
            return []
        self.set_reactive(ScheduleBoard.board, replace(self.board, technicians=tuple(techs)))
        if self.cursor_row in changed:
            jobs = techs[self.cursor_row].jobs
            self.cursor_job = None if not jobs else min(self.cursor_job or 0, len(jobs) - 1)
        for i in changed:
            self._cells.pop(i, None)
            self._strips.pop(i, None)
            self.refresh_line(i + HEADER_LINES)
        return changed

    # -- reactivity -----------------------------------------------------------------------------

    def watch_board(self, old: BoardDay | None, new: BoardDay | None) -> None:
        self._cells.clear()
        self._strips.clear()
        self._header = None
        if new is None:
            self.virtual_size = Size(self.size.width, HEADER_LINES)
            self.refresh()
            return
        self.cursor_row = min(self.cursor_row, max(0, len(new.technicians) - 1))
        jobs = new.technicians[self.cursor_row].jobs if new.technicians else ()
        if self.cursor_job is not None:
            self.cursor_job = min(self.cursor_job, len(jobs) - 1) if jobs else None
        self.virtual_size = Size(self.size.width, len(new.technicians) + HEADER_LINES)
        if old is None or old.day != new.day or not self._placed:
            self._place_initial_view()
        self.refresh()

    def watch_zoom(self, old: int, new: int) -> None:
        scale_old = TimeScale(self.board.day_start, ZOOM_SECONDS[old]) if self.board else None
        centre = scale_old.at(self.view_col + self.timeline_width // 2) if scale_old else None
        self._cells.clear()
        self._strips.clear()
        self._header = None
        if centre is not None and self.scale is not None:
            self._set_view_col(self.scale.col(centre) - self.timeline_width // 2)
        self.refresh()

    def watch_now(self, old: datetime | None, new: datetime | None) -> None:
        scale = self.scale
        if scale is not None and old is not None and new is not None and scale.col(old) == scale.col(new):
            return
        self._strips.clear()
        self.refresh()

    def on_resize(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(self.technicians) + HEADER_LINES)
        self._set_view_col(self.view_col)

    def _place_initial_view(self) -> None:
        """Open on the working day: from an hour before the earliest shift (or now, if later)."""
        scale = self.scale
        if scale is None or self.board is None or self.size.width == 0:
            return
        starts = [t.shift_start for t in self.board.technicians if t.shift_start is not None]
        anchor = min(starts) - timedelta(hours=1) if starts else self.board.day_start + timedelta(hours=7)
        if self.now is not None and self.board.day_start <= self.now < self.board.day_end:
            anchor = max(anchor, self.now - timedelta(hours=2))
        self._set_view_col(scale.col(anchor))
        self._placed = True

    def on_mount(self) -> None:
        if self.board is not None and not self._placed:
            self.call_after_refresh(self._place_initial_view)

    def _set_view_col(self, col: int) -> None:
        col = max(0, min(col, self.n_cells - self.timeline_width))
        if col != self.view_col:
            self.view_col = col
            self._strips.clear()
            self.refresh()

    # -- cursor ---------------------------------------------------------------------------------

    def _cursor_moved(self) -> None:
        tech = self.selected_technician()
        job = self.selected_job()
        self.post_message(TechnicianSelected(tech.code if tech else None))
        self.post_message(JobSelected(job.ref if job else None, job.version if job else None))
        scale = self.scale
        if job is not None and scale is not None:
            start, end = scale.col(job.start), scale.col(job.end)
            if start < self.view_col or end > self.view_col + self.timeline_width:
                self._set_view_col(start - 2)
        visible = max(1, self.size.height - HEADER_LINES)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def _redraw_rows(self, *rows: int) -> None:
        for row in set(rows):
            self._strips.pop(row, None)
            self.refresh_line(row + HEADER_LINES)

    def action_block(self, step: int) -> None:
        tech = self.selected_technician()
        if tech is None:
            return
        if not tech.jobs:
            self.action_scroll_time(step)
            return
        if self.cursor_job is None:
            self.cursor_job = 0 if step > 0 else len(tech.jobs) - 1
        else:
            self.cursor_job = max(0, min(len(tech.jobs) - 1, self.cursor_job + step))
        self._redraw_rows(self.cursor_row)
        self._cursor_moved()

    def action_edge(self, side: int) -> None:
        tech = self.selected_technician()
        if tech is None or not tech.jobs:
            return
        self.cursor_job = 0 if side < 0 else len(tech.jobs) - 1
        self._redraw_rows(self.cursor_row)
        self._cursor_moved()

    def action_row(self, step: int) -> None:
        techs = self.technicians
        if not techs:
            return
        old_row = self.cursor_row
        current = self.selected_job()
        scale = self.scale
        assert scale is not None
        reference = current.start if current else scale.at(self.view_col + self.timeline_width // 3)
        self.cursor_row = max(0, min(len(techs) - 1, self.cursor_row + step))
        jobs = techs[self.cursor_row].jobs
        if jobs:
            # The block nearest in time to where the cursor was, so up/down walks down a column.
            self.cursor_job = min(range(len(jobs)), key=lambda i: abs((jobs[i].start - reference).total_seconds()))
            start = scale.col(jobs[self.cursor_job].start)
            if not self.view_col <= start < self.view_col + self.timeline_width:
                self.cursor_job = None if current is None else self.cursor_job
        else:
            self.cursor_job = None
        self._redraw_rows(old_row, self.cursor_row)
        self._cursor_moved()

    def action_scroll_time(self, hours: int) -> None:
        scale = self.scale
        if scale is not None:
            self._set_view_col(self.view_col + round(hours * scale.cells_per_hour))

    def action_zoom(self, step: int) -> None:
        self.zoom = max(0, min(len(ZOOM_SECONDS) - 1, self.zoom + step))

    def action_to_now(self) -> None:
        scale = self.scale
        if scale is not None and self.now is not None:
            self._set_view_col(scale.col(self.now) - self.timeline_width // 3)

    def action_open_job(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.post_message(JobSelected(job.ref, job.version))
            self.post_message(OpenJob(job.ref))

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the block (or row) under the mouse; a double click opens the job."""
        if event.y < HEADER_LINES or self.scale is None:
            return
        row = round(self.scroll_y) + event.y - HEADER_LINES
        techs = self.technicians
        if not 0 <= row < len(techs):
            return
        col = self.view_col + event.x - self.name_width - 1
        spans = block_spans(techs[row].jobs, self.scale)
        hit = next((i for i, span in enumerate(spans) if span.start <= col < span.end), None)
        old, self.cursor_row, self.cursor_job = self.cursor_row, row, hit
        self._redraw_rows(old, row)
        self._cursor_moved()
        if hit is not None and event.chain >= 2:
            self.action_open_job()

    def select(self, technician_code: str | None = None, job_ref: str | None = None) -> bool:
        """Put the cursor on a job (by ref) or a technician (by code); False when neither is on the board."""
        for r, tech in enumerate(self.technicians):
            for j, job in enumerate(tech.jobs):
                if job_ref is not None and job.ref == job_ref:
                    old, self.cursor_row, self.cursor_job = self.cursor_row, r, j
                    self._redraw_rows(old, r)
                    self._cursor_moved()
                    return True
            if job_ref is None and technician_code is not None and tech.code == technician_code:
                old, self.cursor_row, self.cursor_job = self.cursor_row, r, (0 if tech.jobs else None)
                self._redraw_rows(old, r)
                self._cursor_moved()
                return True
        return False

    # -- drawing --------------------------------------------------------------------------------

    def _style(self, key: str) -> Style:
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            for part in key.split("+"):
                style += self.get_component_rich_style(f"schedule-board--{part}", partial=True)
            self._styles[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _segments(self, cells: Sequence[Cell]) -> list[Segment]:
        segments: list[Segment] = []
        chars: list[str] = []
        current = ""
        for ch, key in cells:
            if chars and key != current:
                segments.append(Segment(self._glyphs("".join(chars)), self._style(current)))
                chars = []
            current = key
            chars.append(ch)
        if chars:
            segments.append(Segment(self._glyphs("".join(chars)), self._style(current)))
        return segments

    def _glyphs(self, text: str) -> str:
        return text.translate(ASCII_GLYPHS) if self.ascii_only else text

    def _now_col(self) -> int | None:
        scale = self.scale
        if scale is None or self.now is None or self.board is None:
            return None
        if not self.board.day_start <= self.now < self.board.day_end:
            return None
        return scale.col(self.now)

    def _visible(self, cells: list[Cell]) -> list[Cell]:
        return cells[self.view_col : self.view_col + self.timeline_width]

    def _header_strip(self, y: int) -> Strip:
        scale = self.scale
        width = self.size.width
        if scale is None or self.board is None:
            return Strip.blank(width, self._style("ruler"))
        if self._header is None:
            self._header = ruler_lines(scale, self.n_cells, ZoneInfo(self.board.timezone))
        full = self._header[y]
        line = list(self._visible(full))
        if y == 0:
            # Blank a time label cut by the left edge rather than show half of it ("0:00").
            i = 0
            while (
                i < len(line) and self.view_col + i > 0 and full[self.view_col + i - 1][0] != " " and line[i][0] != " "
            ):
                line[i] = (" ", "ruler")
                i += 1
        now_col = self._now_col()
        if y == 1 and now_col is not None and 0 <= now_col - self.view_col < len(line):
            line[now_col - self.view_col] = ("▼", "now-mark")
        title = f"{self.board.day:%a %d %b}" if y == 0 else f"zoom {ZOOM_NAMES[self.zoom]}"
        name = [(ch, "ruler") for ch in title[: self.name_width].ljust(self.name_width)] + [("│", "ruler-hour")]
        return Strip(self._segments(name + line)).adjust_cell_length(width, self._style("ruler"))

    def _name_cells(self, tech: BoardTechnician, cursor: bool) -> list[Cell]:
        width = self.name_width
        name = tech.name if len(tech.name) <= width - 2 else tech.name[: width - 3] + "…"
        base = "name-cursor" if cursor else ("name-off" if tech.shift_start is None else "name")
        cells: list[Cell] = [(STATUS_GLYPH, f"{base}+tech-{tech.status}"), (" ", base)]
        cells += [(ch, base) for ch in name.ljust(width - 2)]
        cells.append(("│", "ruler-hour"))
        return cells

    def render_line(self, y: int) -> Strip:
        if y < HEADER_LINES:
            return self._header_strip(y)
        row = round(self.scroll_y) + y - HEADER_LINES
        techs = self.technicians
        if not 0 <= row < len(techs):
            return Strip.blank(self.size.width, self.rich_style)
        strip = self._strips.get(row)
        if strip is not None:
            return strip
        scale = self.scale
        assert scale is not None
        tech = techs[row]
        cells = self._cells.get(row)
        if cells is None:
            cells = self._cells[row] = row_cells(tech, scale, self.n_cells)
        visible = list(self._visible(cells))
        if row == self.cursor_row and self.cursor_job is not None and self.cursor_job < len(tech.jobs):
            span = block_spans(tech.jobs, scale)[self.cursor_job]
            for c in range(span.start, span.end):
                i = c - self.view_col
                if 0 <= i < len(visible):
                    visible[i] = (visible[i][0], visible[i][1] + "+cursor")
        now_col = self._now_col()
        if now_col is not None and 0 <= now_col - self.view_col < len(visible):
            i = now_col - self.view_col
            ch, key = visible[i]
            visible[i] = ("│", key + "+now") if ch.strip() in ("", "╎") else (ch, key + "+now")
        strip = Strip(self._segments(self._name_cells(tech, row == self.cursor_row) + visible))
        strip = strip.adjust_cell_length(self.size.width, self.rich_style)
        self._strips[row] = strip
        return strip
