"""When a technician can work: the weekly pattern, dated exceptions, absences and the break, in the branch's zone.

The one home of these rules: the planner, the board, the console, the command line and the KPIs all read
shifts through `resolve_shift`/`shifts_on` and breaks through `break_window`, so none can draw what another
would not plan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models.org import Branch
from data.models.workforce import Absence, ShiftException, ShiftPattern, Technician

DEFAULT_BREAK_MINUTES = 30  # a dated exception's break: exceptions carry times only
BREAK_DAY = timedelta(hours=6)  # shorter working days have no break
BREAK_EARLIEST = timedelta(minutes=90)  # a break may start this long before the middle of the working day
BREAK_LATEST = timedelta(minutes=60)  # ... and at the latest this long after it


@dataclass(frozen=True)
class Shift:
    start: datetime  # UTC-aware
    end: datetime
    break_minutes: int

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end

    @property
    def capacity_minutes(self) -> int:
        return max(0, int((self.end - self.start).total_seconds() // 60) - self.break_minutes)


def resolve_shift(
    day: date,
    tz: str,
    pattern: tuple[time, time, int] | None,
    exception: tuple[time | None, time | None] | None,
) -> Shift | None:
    """The one shift rule: a dated exception replaces the weekly pattern (no times: not working that day,
    break the default); a shift that ends before it starts ends the next morning."""
    start_t: time | None
    end_t: time | None
    if exception is not None:
        (start_t, end_t), break_minutes = exception, DEFAULT_BREAK_MINUTES
    elif pattern is not None:
        start_t, end_t, break_minutes = pattern
    else:
        return None
    if start_t is None or end_t is None:
        return None
    zone = ZoneInfo(tz)
    start = datetime.combine(day, start_t, zone)
    end = datetime.combine(day, end_t, zone)
    if end <= start:  # a night shift ends the next morning
        end += timedelta(days=1)
    utc = ZoneInfo("UTC")
    return Shift(start.astimezone(utc), end.astimezone(utc), break_minutes)


def shifts_on(session: Session, technician_ids: Collection[int], day: date, tz: str) -> dict[int, Shift]:
    """Each rostered technician's shift on a local day, in two queries; the unrostered are left out."""
    if not technician_ids:
        return {}
    ids = list(technician_ids)
    exceptions = {
        row.technician_id: (row.start, row.end)
        for row in session.execute(
            select(ShiftException.technician_id, ShiftException.start, ShiftException.end).where(
                ShiftException.technician_id.in_(ids), ShiftException.day == day
            )
        )
    }
    patterns = {
        row.technician_id: (row.start, row.end, row.break_minutes)
        for row in session.execute(
            select(ShiftPattern.technician_id, ShiftPattern.start, ShiftPattern.end, ShiftPattern.break_minutes).where(
                ShiftPattern.technician_id.in_(ids), ShiftPattern.weekday == day.weekday()
            )
        )
    }
    out: dict[int, Shift] = {}
    for tid in ids:
        shift = resolve_shift(day, tz, patterns.get(tid), exceptions.get(tid))
        if shift is not None:
            out[tid] = shift
    return out


def working_span(
    shift: Shift, absences: Iterable[tuple[datetime, datetime]]
) -> tuple[datetime, datetime, datetime | None]:
    """What absences leave of a shift: its start, its end (cut by an absence that begins during it) and, when
    an absence covers the start, the moment the technician is back. Start == end: away all day."""
    start, end, back = shift.start, shift.end, None
    for a_start, a_end in absences:
        if a_start <= start and a_end >= end:
            start = end
        elif a_start <= start:
            back = max(back or start, a_end)
        else:
            end = min(end, a_start)
    return start, end, back


def break_window(start: datetime, end: datetime, minutes: int) -> tuple[datetime, datetime] | None:
    """When the break of a working day from `start` to `end` may begin (earliest, latest), or None when the day
    has none; the planner plans inside this window and the board draws inside it."""
    if minutes <= 0 or end - start < BREAK_DAY:
        return None
    middle = start + (end - start) / 2
    return middle - BREAK_EARLIEST, middle + BREAK_LATEST


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants that open and close a local calendar day."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time.min, zone)
    return start.astimezone(ZoneInfo("UTC")), (start + timedelta(days=1)).astimezone(ZoneInfo("UTC"))


def local_date(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()


def shift_on(session: Session, technician: Technician, day: date, tz: str | None = None) -> Shift | None:
    """The technician's shift on a local day, or None when they are not rostered."""
    if tz is None:
        branch = session.get(Branch, technician.branch_id)
        assert branch is not None
        tz = branch.timezone
    return shifts_on(session, [technician.id], day, tz).get(technician.id)


def absences_overlapping(session: Session, technician_id: int, start: datetime, end: datetime) -> list[Absence]:
    return list(
        session.scalars(
            select(Absence).where(
                Absence.technician_id == technician_id, Absence.starts_at < end, Absence.ends_at > start
            )
        )
    )
