"""Who works when on a local day, for any set of technicians at once: shift, absences and the break window.

Every reader of "which hours does T017 work today" (the board, the console's technician list, the command
line) builds on this, in three queries whatever the number of technicians; the rules themselves live in
`data.availability`, which the planner uses too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.availability import Shift, break_window, local_day_bounds, shifts_on, working_span
from data.models.workforce import Absence


@dataclass(frozen=True)
class AbsenceSpan:
    kind: str  # leave, sick, training, ...
    starts_at: datetime
    ends_at: datetime
    note: str | None


@dataclass(frozen=True)
class RosterDay:
    """One technician's local day: the shift (None when not rostered), the absences touching the day, what
    they leave of the shift (None when not rostered or away all of it), and when the break may start (None when
    that working day has none)."""

    technician_id: int
    shift: Shift | None
    absences: tuple[AbsenceSpan, ...]
    working: tuple[datetime, datetime] | None
    break_window: tuple[datetime, datetime] | None


def absences_on(
    session: Session, technician_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, list[AbsenceSpan]]:
    """Each technician's absences overlapping [start, end), in start order, in one query."""
    out: dict[int, list[AbsenceSpan]] = defaultdict(list)
    if not technician_ids:
        return out
    stmt = (
        select(Absence.technician_id, Absence.kind, Absence.starts_at, Absence.ends_at, Absence.note)
        .where(Absence.technician_id.in_(list(technician_ids)), Absence.starts_at < end, Absence.ends_at > start)
        .order_by(Absence.starts_at)
    )
    for tid, kind, starts_at, ends_at, note in session.execute(stmt):
        out[tid].append(AbsenceSpan(str(kind), starts_at, ends_at, note))
    return out


def roster_on(session: Session, technician_ids: Collection[int], day: date, tz: str) -> dict[int, RosterDay]:
    """Every given technician's day (local `day` in zone `tz`), in three queries."""
    ids = list(technician_ids)
    shifts = shifts_on(session, ids, day, tz)
    day_start, day_end = local_day_bounds(day, tz)
    until = max([day_end, *(s.end for s in shifts.values())])  # a night shift runs past midnight
    absences = absences_on(session, ids, day_start, until)
    out: dict[int, RosterDay] = {}
    for tid in ids:
        shift = shifts.get(tid)
        away = tuple(absences.get(tid, ()))
        working = window = None
        if shift is not None:
            start, end, _back = working_span(shift, [(a.starts_at, a.ends_at) for a in away])
            if start < end:
                working, window = (start, end), break_window(start, end, shift.break_minutes)
        out[tid] = RosterDay(tid, shift, away, working, window)
    return out
