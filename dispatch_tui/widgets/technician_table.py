"""The technician board table: one row per technician, status, jobs, lateness, load bar and skills."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text

from data.queries.console import TechnicianRow
from dispatch_tui.widgets.keyed_table import Column, KeyedTable, Row

SKILLS_WIDTH = 24
COLUMNS = (
    Column("code", "Tech", 6),
    Column("status", "Status", 9),
    Column("current", "Now", 8),
    Column("next", "Next", 14),
    Column("late", "On time", 9),
    Column("load", "Load", 13),
    Column("name", "Name", 18),
    Column("skills", "Skills", SKILLS_WIDTH, fill=True),
)
STATUS_STYLE = {
    "off": "dim",
    "available": "green",
    "en_route": "cyan",
    "on_site": "bold blue",
    "break": "yellow",
    "absent": "bold red",
}
STATUS_LABEL = {"en_route": "en route", "on_site": "on site"}
SORTS = ("code", "status", "late", "load")
BAR_WIDTH = 8


def duration(minutes: int) -> str:
    """Minutes in at most 8 cells: "45 min", "2 h 5 m", "1 d 4 h"."""
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest} m" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def load_bar(ratio: float, ascii_only: bool = False, width: int = BAR_WIDTH) -> str:
    """A bar of `width` cells, in eighths with block characters (or # and . in ASCII)."""
    ratio = max(0.0, min(ratio, 1.0))
    if ascii_only:
        full = round(ratio * width)
        return "#" * full + "." * (width - full)
    eighths = round(ratio * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if full < width else ""
    return ("█" * full + partial).ljust(width)


def render(row: TechnicianRow, zone: tzinfo, ascii_only: bool = False) -> Row:
    status = "absent" if row.absent else row.status
    if row.late_minutes is None:
        late = Text("-", style="dim")
    elif row.late_minutes <= 0:
        late = Text("on time", style="green")
    else:
        late = Text(f"+{duration(row.late_minutes)}", style="bold red")
    nxt = ""
    if row.next_job:
        when = row.next_start.astimezone(zone).strftime("%H:%M") if row.next_start else ""
        nxt = f"{row.next_job} {when}".strip()
    ratio = row.load_ratio
    load_style = "red" if ratio > 1.0 else "yellow" if ratio > 0.85 else "green"
    load_text = f"{load_bar(ratio, ascii_only)}{min(999, round(ratio * 100)):>4}%"
    return (
        Text(row.code, style="bold"),
        Text(STATUS_LABEL.get(status, status), style=STATUS_STYLE.get(status, "")),
        Text(row.current_job or "-"),
        Text(nxt or "-"),
        late,
        Text(load_text, style=load_style),
        Text(row.name),
        Text(" ".join(row.skills)),  # the last column: the table shows what fits
    )


def sort_key(sort: str, row: TechnicianRow) -> tuple[object, ...]:
    if sort == "status":
        return (row.status, row.code)
    if sort == "late":
        return (-(row.late_minutes or 0), row.code)
    if sort == "load":
        return (-row.load_ratio, row.code)
    return (row.code,)


class TechnicianTable(KeyedTable):
    """Technicians keyed by code; the owner passes rows, the sort column and the time zone."""

    def __init__(self, zone: tzinfo, ascii_only: bool = False, *, id: str | None = None) -> None:
        super().__init__(COLUMNS, ascii_only=ascii_only, id=id)
        self.zone = zone
        self.sort_by = "code"
        self._records: dict[str, TechnicianRow] = {}

    def show(self, rows: Iterable[TechnicianRow], *, replace_all: bool = False) -> int:
        rows = list(rows)
        if replace_all:
            self._records.clear()
        self._records.update({r.code: r for r in rows})
        touched = self.put({r.code: render(r, self.zone, self.ascii_only) for r in rows}, replace_all=replace_all)
        if self.sort_by != "code":
            self.resort()
        return touched

    def sort_on(self, sort: str) -> None:
        self.sort_by = sort
        records = self._records
        self.set_order(lambda code: sort_key(sort, records[code]) if code in records else (code,))

    def sort_value(self, key: str, column: str) -> Any:
        """Lateness and load sort by their numbers (the most late, the most loaded last), not their text."""
        row = self._records.get(key)
        if row is not None and column == "late":
            return row.late_minutes if row.late_minutes is not None else -(10**9)
        if row is not None and column == "load":
            return row.load_ratio
        return super().sort_value(key, column)

    def technician(self, code: str) -> TechnicianRow | None:
        return self._records.get(code)

    @staticmethod
    def now_text(now: datetime, zone: tzinfo) -> str:
        return now.astimezone(zone).strftime("%H:%M")
