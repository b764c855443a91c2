"""When a technician can work: the weekly pattern, dated exceptions and absences, in the branch's zone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models.org import Branch
from data.models.workforce import Absence, ShiftException, Technician


@dataclass(frozen=True)
class Shift:
    start: datetime  # UTC-aware
    end: datetime
    break_minutes: int

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


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
    exception = session.scalar(
        select(ShiftException).where(ShiftException.technician_id == technician.id, ShiftException.day == day)
    )
    return shift_from(technician, day, tz, exception)


def shift_exceptions_on(session: Session, technician_ids: Iterable[int], day: date) -> dict[int, ShiftException]:
    """Technician id -> their dated exception on `day`, for many technicians in one query."""
    ids = list(technician_ids)
    query = select(ShiftException).where(ShiftException.technician_id.in_(ids), ShiftException.day == day)
    rows = session.scalars(query)
    return {row.technician_id: row for row in rows}


def shift_from(technician: Technician, day: date, tz: str, exception: ShiftException | None) -> Shift | None:
    """The shift on a local day from the weekly pattern, unless the day's exception says otherwise."""
    zone = ZoneInfo(tz)
    break_minutes = 30
    if exception is not None:
        if exception.start is None or exception.end is None:
            return None
        start_t, end_t = exception.start, exception.end
    else:
        pattern = next((s for s in technician.shifts if s.weekday == day.weekday()), None)
        if pattern is None:
            return None
        start_t, end_t, break_minutes = pattern.start, pattern.end, pattern.break_minutes
    start = datetime.combine(day, start_t, zone)
    end = datetime.combine(day, end_t, zone)
    if end <= start:  # a night shift ends the next morning
        end += timedelta(days=1)
    utc = ZoneInfo("UTC")
    return Shift(start.astimezone(utc), end.astimezone(utc), break_minutes)


def absences_between(
    session: Session, technician_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[Absence]]:
    """Technician id -> their absences overlapping [start, end), for many technicians in one query."""
    ids = list(technician_ids)
    out: dict[int, list[Absence]] = {}
    query = select(Absence).where(Absence.technician_id.in_(ids), Absence.starts_at < end, Absence.ends_at > start)
    for absence in session.scalars(query.order_by(Absence.starts_at, Absence.id)):
        out.setdefault(absence.technician_id, []).append(absence)
    return out


def absences_overlapping(session: Session, technician_id: int, start: datetime, end: datetime) -> list[Absence]:
    return list(
        session.scalars(
            select(Absence).where(
                Absence.technician_id == technician_id, Absence.starts_at < end, Absence.ends_at > start
            )
        )
    )
