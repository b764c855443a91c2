"""The job queue table: late and at-risk jobs first, then unassigned, with SLA, window, skills and age."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any

from rich.text import Text

from data.queries.console import JobRow
from dispatch_tui.widgets.keyed_table import Column, KeyedTable, Row, fit

SKILLS_WIDTH = 15
"""Room for the longest skill with its level ("refrigeration2"); more skills than fit end in "…"."""
COLUMNS = (
    Column("ref", "Job", 8),
    Column("p", "P", 1),
    Column("risk", "Risk", 7),
    Column("sla", "SLA", 5),
    Column("tech", "Tech", 6),
    Column("status", "Status", 10),
    Column("window", "Window", 11),
    Column("skills", "Skills", SKILLS_WIDTH),
    Column("age", "Age", 4),
    Column("customer", "Customer", 22),
    Column("summary", "Summary", 34, fill=True),
)
PRIORITY_STYLE = {1: "bold white on red", 2: "bold red", 3: "yellow", 4: "dim"}
RISK_STYLE = {"late": "bold red", "at risk": "yellow"}


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def _hm(at: datetime | None, zone: tzinfo, day_of: datetime) -> str:
    """HH:MM on the day being looked at, else the date (dd.mm) in the same five cells."""
    if at is None:
        return ""
    local = at.astimezone(zone)
    if local.date() != day_of.astimezone(zone).date():
        return local.strftime("%d.%m")
    return local.strftime("%H:%M")


def render(row: JobRow, zone: tzinfo, now: datetime) -> Row:
    window = ""
    if row.window_start or row.window_end:
        window = f"{_hm(row.window_start, zone, now) or '..'}-{_hm(row.window_end, zone, now) or '..'}"
    return (
        Text(row.ref, style="bold"),
        Text(str(row.priority), style=PRIORITY_STYLE.get(row.priority, "")),
        Text(row.risk or "-", style=RISK_STYLE.get(row.risk, "dim")),
        Text(_hm(row.sla_due, zone, now) or "-"),
        Text(row.technician or "-", style="" if row.technician else "bold magenta"),
        Text(row.status.replace("_", " ")),
        Text(window or "-"),
        Text(fit(" ".join(row.skills), SKILLS_WIDTH) or "-"),
        Text(_age(now - row.created_at)),
        Text(row.customer),
        Text(row.summary),
    )


class JobTable(KeyedTable):
    """Jobs keyed by ref, ordered by urgency (late, at risk, unassigned, priority, SLA)."""

    def __init__(self, zone: tzinfo, *, id: str | None = None) -> None:
        super().__init__(COLUMNS, id=id)
        self.zone = zone
        self._records: dict[str, JobRow] = {}
        records = self._records
        self._order = lambda ref: (*records[ref].urgency(), ref) if ref in records else (9, 9, ref)

    def show(self, rows: Iterable[JobRow], now: datetime, *, replace_all: bool = False) -> int:
        rows = list(rows)
        if replace_all:
            self._records.clear()
        before = {r.ref: self._records[r.ref].urgency() for r in rows if r.ref in self._records}
        self._records.update({r.ref: r for r in rows})
        touched = self.put({r.ref: render(r, self.zone, now) for r in rows}, replace_all=replace_all)
        if any(before.get(r.ref) not in (None, r.urgency()) for r in rows):
            self.resort()
        return touched

    def sort_value(self, key: str, column: str) -> Any:
        """Times and numbers sort as such (no time last), not as their text ("5m" before "3h")."""
        row = self._records.get(key)
        if row is None:
            return super().sort_value(key, column)
        if column == "p":
            return row.priority
        if column in ("sla", "window", "age"):
            at = {"sla": row.sla_due, "window": row.window_start, "age": row.created_at}[column]
            if column == "age" and at is not None:
                return -at.timestamp()  # youngest first, as the numbers read: 5m before 3h
            return at.timestamp() if at is not None else float("inf")
        return super().sort_value(key, column)

    def drop_refs(self, refs: Iterable[str]) -> int:
        refs = list(refs)
        for ref in refs:
            self._records.pop(ref, None)
        return self.drop(refs)

    def job(self, ref: str) -> JobRow | None:
        return self._records.get(ref)
