"""A technician's working day as the event log tells it: clocked spans, breaks, and the time spent travelling,
on site and waiting in between, read from attendance events and the status changes of their jobs.

Reads only: `timesheets.py` turns a `Workday` into paid minutes. Events not yet committed (the transaction that
is asking) are passed in as `pending`, so a completion or a clock-out sees itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from data.models.events import Event
from data.models.jobs import Job, JobStatus
from data.models.workforce import Absence, Technician
from data.services.attendance import EVENT_TYPES, AttendanceEvent, ClockAct
from data.uow import PendingEvent

STATUS_CHANGED = "job.status_changed"


class Activity(StrEnum):
    TRAVEL = "travel"
    ON_SITE = "on_site"
    WAITING = "waiting"  # clocked in, neither travelling nor on site: paused jobs, the depot, between visits


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


@dataclass(frozen=True)
class Workday:
    """One local day of clocked time; minutes are whole and add up: travel + on_site + waiting = paid."""

    clock_in: datetime
    clock_out: datetime | None  # None while still clocked in (counted up to `now`)
    travel_minutes: int
    on_site_minutes: int
    waiting_minutes: int
    break_minutes: int

    @property
    def paid_minutes(self) -> int:
        return self.travel_minutes + self.on_site_minutes + self.waiting_minutes


def _payloads(rows: Iterable[Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(type_, subject, payload) for type_, _, subject, payload in rows]


def attendance_events(
    session: Session, tech: Technician, first: date, last: date, pending: Sequence[PendingEvent] = ()
) -> list[AttendanceEvent]:
    """The technician's clock acts for the local days `first`..`last`, in log order, then the asking transaction's.

    Chosen by the payload's `local_day`, not by the time an event was recorded: a phone's offline batch, or the
    demo's fast clock, records an act at a time that says nothing about the day it belongs to.
    """
    types = list(EVENT_TYPES.values())
    local_day = Event.payload["local_day"].as_string()
    stored = session.execute(
        select(Event.type, Event.subject_type, Event.subject_id, Event.payload)
        .where(
            Event.subject_type == "technician",
            Event.subject_id == str(tech.id),
            Event.type.in_(types),
            local_day.between(first.isoformat(), last.isoformat()),
        )
        .order_by(Event.seq)
    )
    rows = _payloads(stored.all()) + [
        (p.type, p.subject_id, p.payload)
        for p in pending
        if p.subject_type == "technician"
        and p.subject_id == str(tech.id)
        and p.type in types
        and first.isoformat() <= str(p.payload.get("local_day")) <= last.isoformat()
    ]
    return [AttendanceEvent.from_payload(payload) for _, _, payload in rows]


def clocked_spans(events: Sequence[AttendanceEvent], day: date, now: datetime) -> tuple[list[Span], list[Span]]:
    """(work spans, break spans) of the shifts that began on `day`; an open one runs to `now`."""
    work: list[Span] = []
    breaks: list[Span] = []
    opened: datetime | None = None
    on_break: datetime | None = None
    for event in events:
        if event.local_day != day:
            continue
        if event.act is ClockAct.CLOCK_IN:
            opened = event.at
        elif event.act is ClockAct.BREAK_START and opened is not None:
            work.append(Span(opened, event.at))
            opened, on_break = None, event.at
        elif event.act is ClockAct.BREAK_END and on_break is not None:
            breaks.append(Span(on_break, event.at))
            opened, on_break = event.at, None
        elif event.act is ClockAct.CLOCK_OUT and opened is not None:
            work.append(Span(opened, event.at))
            opened = None
    if opened is not None:
        work.append(Span(opened, max(opened, now)))
    if on_break is not None:
        breaks.append(Span(on_break, max(on_break, now)))
    return work, breaks


def status_changes(
    session: Session, tech: Technician, lo: datetime, hi: datetime, pending: Sequence[PendingEvent]
) -> list[tuple[datetime, int, JobStatus]]:
    """(when, job id, new status) for the technician's jobs around the span, in time order."""
    job_ids = list(
        session.scalars(
            select(Job.id).where(
                Job.technician_id == tech.id,
                or_(
                    Job.planned_start.between(lo, hi),
                    Job.actual_start.between(lo, hi),
                    Job.arrived_at.between(lo, hi),
                    Job.actual_end.between(lo, hi),
                ),
            )
        )
    )
    subjects = [str(i) for i in job_ids]
    rows: list[tuple[str, str, dict[str, Any]]] = []
    if subjects:
        stored = session.execute(
            select(Event.type, Event.subject_type, Event.subject_id, Event.payload)
            .where(Event.subject_type == "job", Event.subject_id.in_(subjects), Event.type == STATUS_CHANGED)
            .order_by(Event.seq)
        )
        rows = _payloads(stored.all())
    rows += [
        (p.type, p.subject_id, p.payload)
        for p in pending
        if p.type == STATUS_CHANGED and p.subject_type == "job" and p.payload.get("technician_id") == tech.id
    ]
    changes = []
    for order, (_, subject, payload) in enumerate(rows):
        at = payload.get("at")
        if at is None:
            continue
        changes.append((datetime.fromisoformat(str(at)), order, int(subject), JobStatus(payload["to"])))
    changes.sort()
    return [(at, job_id, status) for at, _, job_id, status in changes]


def _activity(states: dict[int, JobStatus]) -> Activity:
    if JobStatus.ON_SITE in states.values():
        return Activity.ON_SITE
    if JobStatus.EN_ROUTE in states.values():
        return Activity.TRAVEL
    return Activity.WAITING


def activity_seconds(work: Sequence[Span], changes: Sequence[tuple[datetime, int, JobStatus]]) -> dict[Activity, float]:
    """Seconds of each activity inside the work spans, from the jobs' status timeline."""
    totals = dict.fromkeys(Activity, 0.0)
    for span in work:
        states: dict[int, JobStatus] = {}
        cursor = span.start
        for at, job_id, status in changes:
            if at <= span.start:
                states[job_id] = status
                continue
            if at >= span.end:
                break
            totals[_activity(states)] += (at - cursor).total_seconds()
            states[job_id] = status
            cursor = at
        totals[_activity(states)] += max(0.0, (span.end - cursor).total_seconds())
    return totals


def _minutes(seconds: float) -> int:
    return round(seconds / 60)


def workday_in(
    day: date,
    events: Sequence[AttendanceEvent],
    changes: Sequence[tuple[datetime, int, JobStatus]],
    now: datetime,
) -> Workday | None:
    """The clocked day (from `attendance_events` and the `status_changes` around it), or None when the technician
    did not clock in on it."""
    work, breaks = clocked_spans(events, day, now)
    if not work:
        return None
    seconds = activity_seconds(work, changes)
    paid = _minutes(sum(span.seconds for span in work))
    travel = min(paid, _minutes(seconds[Activity.TRAVEL]))
    on_site = min(paid - travel, _minutes(seconds[Activity.ON_SITE]))
    day_events = [e for e in events if e.local_day == day]
    clock_out = day_events[-1].at if day_events and day_events[-1].act is ClockAct.CLOCK_OUT else None
    return Workday(
        work[0].start,
        clock_out,
        travel,
        on_site,
        paid - travel - on_site,
        _minutes(sum(span.seconds for span in breaks)),
    )


def absence_minutes(session: Session, tech: Technician, window: Span) -> dict[str, int]:
    """Minutes of each kind of absence inside a window (the rostered shift), by kind."""
    found: dict[str, int] = {}
    rows = session.scalars(
        select(Absence).where(
            Absence.technician_id == tech.id, Absence.starts_at < window.end, Absence.ends_at > window.start
        )
    )
    for absence in rows:
        overlap = Span(max(absence.starts_at, window.start), min(absence.ends_at, window.end))
        minutes = _minutes(overlap.seconds)
        if minutes:
            found[absence.kind.value] = found.get(absence.kind.value, 0) + minutes
    return dict(sorted(found.items()))
