"""The calendar: a week of hours by days, or a month of day cells shaded by load, drawn by the line API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from data.queries.board import CalendarData, CalendarEntry
from dispatch_tui.messages import DayChosen

FIRST_HOUR = 6
LAST_HOUR = 20  # exclusive
HOUR_COLUMN = 6
HEAT_LEVELS = 5

Cell = tuple[str, str]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_grid_start(day: date) -> date:
    """The Monday on or before the first of the month: the top-left cell of the month view."""
    return week_start(day.replace(day=1))


def heat_level(jobs: int, busiest: int) -> int:
    """0 (no jobs) to HEAT_LEVELS-1 (the busiest day of the range)."""
    if jobs <= 0 or busiest <= 0:
        return 0
    return max(1, min(HEAT_LEVELS - 1, round(jobs / busiest * (HEAT_LEVELS - 1))))


@dataclass(frozen=True)
class WeekSlot:
    """What one (day, time slot) cell of the week view holds."""

    entries: tuple[CalendarEntry, ...]
    absent: bool


def fit_text(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


class CalendarGrid(Widget, can_focus=True):
    """Set `data` (and `mode`); the cursor is a day; Enter posts `DayChosen(day, "board")`."""

    DEFAULT_CSS = (Path(__file__).with_suffix(".tcss")).read_text(encoding="utf-8")

    COMPONENT_CLASSES = {
        "calendar-grid--header",
        "calendar-grid--header-today",
        "calendar-grid--header-cursor",
        "calendar-grid--hour",
        "calendar-grid--empty",
        "calendar-grid--rule",
        "calendar-grid--job",
        "calendar-grid--job-completed",
        "calendar-grid--p1",
        "calendar-grid--recurring",
        "calendar-grid--absence",
        "calendar-grid--outside",
        "calendar-grid--cursor",
        "calendar-grid--today",
        *(f"calendar-grid--heat-{n}" for n in range(HEAT_LEVELS)),
    }

    BINDINGS = [
        Binding("left", "move(-1)", "Prev day", show=False),
        Binding("right", "move(1)", "Next day", show=False),
        Binding("up", "move(-7)", "Prev week", show=False),
        Binding("down", "move(7)", "Next week", show=False),
        Binding("enter", "choose", "Open day on board"),
    ]

    class CursorMoved(Message):
        """The cursor left the days on screen: the screen loads the range around `day`."""

        def __init__(self, day: date) -> None:
            super().__init__()
            self.day = day

    data: reactive[CalendarData | None] = reactive(None, always_update=True)
    mode: reactive[str] = reactive("week")  # or "month"
    cursor: reactive[date] = reactive(date(2000, 1, 1))
    today: reactive[date | None] = reactive(None)
    ascii_only: reactive[bool] = reactive(False)

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._styles: dict[str, Style] = {}
        self._slots: dict[tuple[date, int], list[CalendarEntry]] = {}
        self._slot_key: tuple[date, int] | None = None

    # -- navigation -----------------------------------------------------------------------------

    def shown_days(self) -> list[date]:
        if self.mode == "week":
            first = week_start(self.cursor)
            return [first + timedelta(days=i) for i in range(7)]
        first = month_grid_start(self.cursor)
        return [first + timedelta(days=i) for i in range(42)]

    def action_move(self, days: int) -> None:
        if self.mode == "week" and abs(days) == 7:
            return  # up/down have no meaning in a single week; keep the day
        before = self.shown_days()
        self.cursor = self.cursor + timedelta(days=days)
        if self.cursor not in before or (self.mode == "month" and self.cursor.month != before[10].month):
            self.post_message(self.CursorMoved(self.cursor))

    def action_choose(self) -> None:
        self.post_message(DayChosen(self.cursor, "board"))

    def on_click(self, event: events.Click) -> None:
        """A click moves the cursor to the day under the mouse; a double click opens it on the board."""
        offset = HOUR_COLUMN if self.mode == "week" else 0
        column = (event.x - offset) // self.day_width()
        if not 0 <= column < 7 or event.x < offset:
            return
        days = self.shown_days()
        if self.mode == "week":
            day = days[column]
        else:
            week = max(0, event.y - 1) // max(2, (self.size.height - 1) // 6)
            if week >= 6:
                return
            day = days[week * 7 + column]
        self.cursor = day
        if event.chain >= 2:
            self.action_choose()

    def watch_data(self) -> None:
        self._slot_key = None
        self.refresh()

    def watch_mode(self) -> None:
        self.refresh()

    def watch_cursor(self) -> None:
        self.refresh()

    # -- drawing --------------------------------------------------------------------------------

    def _style(self, key: str) -> Style:
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            for part in key.split("+"):
                style += self.get_component_rich_style(f"calendar-grid--{part}", partial=True)
            self._styles[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _strip(self, cells: list[Cell]) -> Strip:
        segments: list[Segment] = []
        chars: list[str] = []
        current = ""
        for ch, key in cells:
            if chars and key != current:
                segments.append(Segment("".join(chars), self._style(current)))
                chars = []
            current = key
            chars.append(ch)
        if chars:
            segments.append(Segment("".join(chars), self._style(current)))
        return Strip(segments).adjust_cell_length(self.size.width, self.rich_style)

    @staticmethod
    def _text(text: str, key: str) -> list[Cell]:
        return [(ch, key) for ch in text]

    def day_width(self) -> int:
        offset = HOUR_COLUMN if self.mode == "week" else 0
        return max(3, (self.size.width - offset) // 7)

    def render_line(self, y: int) -> Strip:
        if self.data is None:
            return Strip.blank(self.size.width, self.rich_style)
        return self._week_line(y) if self.mode == "week" else self._month_line(y)

    # week view

    def rows_per_hour(self) -> int:
        hours = LAST_HOUR - FIRST_HOUR
        return 2 if self.size.height - 2 >= 2 * hours else 1

    def _zone(self) -> ZoneInfo:
        assert self.data is not None
        return ZoneInfo(self.data.timezone)

    def week_slot(self, day: date, row: int) -> WeekSlot:
        """Entries and absence in the slot `row` (0 = FIRST_HOUR) of a day in the week view."""
        assert self.data is not None
        per_hour = self.rows_per_hour()
        key = (self.data.start, per_hour)
        if self._slot_key != key:
            self._slots = self._index_slots(per_hour)
            self._slot_key = key
        entries = self._slots.get((day, row), ())
        zone = self._zone()
        minutes = 60 // per_hour
        start = datetime.combine(day, datetime.min.time(), zone) + timedelta(minutes=FIRST_HOUR * 60 + row * minutes)
        end = start + timedelta(minutes=minutes)
        absent = any(a.start < end and a.end > start for _code, a in self.data.absences)
        return WeekSlot(tuple(entries), absent)

    def _index_slots(self, per_hour: int) -> dict[tuple[date, int], list[CalendarEntry]]:
        """Each entry filed under every (day, slot) it overlaps, once per data load (a big branch has thousands)."""
        assert self.data is not None
        zone = self._zone()
        minutes = 60 // per_hour
        slots: dict[tuple[date, int], list[CalendarEntry]] = {}
        rows = (LAST_HOUR - FIRST_HOUR) * per_hour
        for entry in self.data.entries:
            local_start, local_end = entry.start.astimezone(zone), entry.end.astimezone(zone)
            day = local_start.date()
            while day <= local_end.date():
                base = datetime.combine(day, datetime.min.time(), zone) + timedelta(minutes=FIRST_HOUR * 60)
                first = max(0, int((entry.start - base).total_seconds() // (minutes * 60)))
                last = min(rows - 1, int(((entry.end - base).total_seconds() - 1) // (minutes * 60)))
                for row in range(first, last + 1):
                    slots.setdefault((day, row), []).append(entry)
                day += timedelta(days=1)
        return slots

    def _header_cells(self, day: date, width: int, line: int) -> list[Cell]:
        assert self.data is not None
        summary = self.data.days.get(day)
        if line == 0:
            text = f" {day:%a %d}"
            key = "header-cursor" if day == self.cursor else ("header-today" if day == self.today else "header")
        else:
            parts = []
            if summary is not None and summary.jobs:
                parts.append(f"{summary.jobs}j")
            if summary is not None and summary.p1:
                parts.append(f"!{summary.p1}")
            if summary is not None and summary.absent:
                parts.append(f"{summary.absent} abs" if self.data.technicians > 1 else "absent")
            text = " " + " ".join(parts)
            key = "header"
        return [*self._text(fit_text(text, width - 1), key), ("│", "rule")]

    def _week_line(self, y: int) -> Strip:
        assert self.data is not None
        days = self.shown_days()
        width = self.day_width()
        per_hour = self.rows_per_hour()
        if y < 2:
            cells: list[Cell] = self._text(fit_text("" if y else " week", HOUR_COLUMN), "hour")
            for day in days:
                cells += self._header_cells(day, width, y)
            return self._strip(cells)
        row = y - 2
        if row >= (LAST_HOUR - FIRST_HOUR) * per_hour:
            return Strip.blank(self.size.width, self.rich_style)
        hour = FIRST_HOUR + row // per_hour
        label = f"{hour:02d}:{(row % per_hour) * (60 // per_hour):02d}" if row % per_hour == 0 else ""
        cells = self._text(fit_text(label, HOUR_COLUMN), "hour")
        single = self.data.technicians <= 1
        busiest = max((d.jobs for d in self.data.days.values()), default=0)
        for day in days:
            slot = self.week_slot(day, row)
            if single:
                cells += [*self._single_slot(slot, day, width - 1, row, per_hour), ("│", "rule")]
            else:
                count = len(slot.entries)
                p1 = sum(e.priority == 1 for e in slot.entries)
                # Shade by the jobs running in this slot relative to a busy slot (a busiest day / 4).
                level = heat_level(count, max(1, busiest // 4))
                text = f" {count}" + (f" !{p1}" if p1 else "") if count else ""
                key = f"heat-{level}"
                cells += [*self._text(fit_text(text, width - 1), key), ("│", "rule")]
        return self._strip(cells)

    def _single_slot(self, slot: WeekSlot, day: date, width: int, row: int, per_hour: int) -> list[Cell]:
        if slot.entries:
            entry = slot.entries[0]
            zone = self._zone()
            slot_start = datetime.combine(day, datetime.min.time(), zone) + timedelta(
                minutes=FIRST_HOUR * 60 + row * (60 // per_hour)
            )
            starts_here = entry.start >= slot_start or row == 0
            mark = "↻" if entry.recurring and not self.ascii_only else ("R" if entry.recurring else " ")
            if starts_here:
                when = f"{entry.start.astimezone(zone):%H:%M} " if width >= 14 else ""
                text = ("!" if entry.priority == 1 else mark) + when + entry.ref
                if len(slot.entries) > 1:
                    text += f" +{len(slot.entries) - 1}"
            else:
                text = " " + entry.customer
            key = "job-completed" if entry.status in ("completed", "incomplete") else "job"
            if entry.priority == 1:
                key += "+p1"
            return self._text(fit_text(text, width), key)
        if slot.absent:
            return self._text("░" * width if not self.ascii_only else "/" * width, "absence")
        return self._text(" " * width, "empty")

    # month view

    def _month_line(self, y: int) -> Strip:
        assert self.data is not None
        days = self.shown_days()
        width = self.day_width()
        if y == 0:
            cells: list[Cell] = []
            for name in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
                cells += [*self._text(fit_text(f" {name}", width - 1), "header"), ("│", "rule")]
            return self._strip(cells)
        cell_height = max(2, (self.size.height - 1) // 6)
        week, line = divmod(y - 1, cell_height)
        if week >= 6:
            return Strip.blank(self.size.width, self.rich_style)
        busiest = max((d.jobs for d in self.data.days.values()), default=0)
        month = self.cursor.month
        cells = []
        for day in days[week * 7 : week * 7 + 7]:
            summary = self.data.days.get(day)
            jobs = summary.jobs if summary else 0
            key = f"heat-{heat_level(jobs, busiest)}"
            if day.month != month:
                key = "outside"
            if line == cell_height - 1:
                cells += [*self._text("─" * (width - 1), "rule"), ("┼", "rule")]
                continue
            absent = summary.absent if summary else 0
            if line == 0:
                text = f" {day.day:>2}" + (f" ░{absent}" if absent and not self.ascii_only else "")
                if absent and self.ascii_only:
                    text += f" /{absent}"
                if day == self.cursor:
                    key = "cursor"
                elif day == self.today:
                    key += "+today"
            elif line == 1:
                text = (f" {jobs} jobs" if width >= 14 else f" {jobs}j") if jobs else " -"
                if summary is not None and summary.p1:
                    text += f" !{summary.p1}"
            elif line == 2 and absent:
                text = f" {absent} absent"
            else:
                text = ""
            cells += [*self._text(fit_text(text, width - 1), key), ("│", "rule")]
        return self._strip(cells)
