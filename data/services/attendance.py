"""Clock in, clock out and breaks: what the technician says about their working time, as events.

Each act is one event on the technician (`technician.clocked_in`, `technician.break_started`,
`technician.break_ended`, `technician.clocked_out`) whose payload is an `AttendanceEvent`: the
technician, the act, when, the local day and the moment the shift began, so timesheets can be built
from the log alone. The order is enforced (no break while clocked out, no second clock-in), and the
state is read back from the latest of these events, so there is no second place it could disagree.
Each act also brings the day's open timesheet up to date; a day in an approved week takes no more acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.availability import local_date
from data.db import Database
from data.errors import IllegalTransition, InvalidInput
from data.models.base import utcnow
from data.models.events import Event
from data.models.org import Branch
from data.models.workforce import Technician
from data.services.jobs import find_technician
from data.uow import UnitOfWork


class ClockAct(StrEnum):
    CLOCK_IN = "clock_in"
    BREAK_START = "break_start"
    BREAK_END = "break_end"
    CLOCK_OUT = "clock_out"


class AttendanceState(StrEnum):
    OFF = "off"
    WORKING = "working"
    ON_BREAK = "on_break"


EVENT_TYPES: dict[ClockAct, str] = {
    ClockAct.CLOCK_IN: "technician.clocked_in",
    ClockAct.BREAK_START: "technician.break_started",
    ClockAct.BREAK_END: "technician.break_ended",
    ClockAct.CLOCK_OUT: "technician.clocked_out",
}
ACT_OF_TYPE = {v: k for k, v in EVENT_TYPES.items()}
# From each state, the acts that make sense, and where they lead.
MOVES: dict[AttendanceState, dict[ClockAct, AttendanceState]] = {
    AttendanceState.OFF: {ClockAct.CLOCK_IN: AttendanceState.WORKING},
    AttendanceState.WORKING: {ClockAct.BREAK_START: AttendanceState.ON_BREAK, ClockAct.CLOCK_OUT: AttendanceState.OFF},
    AttendanceState.ON_BREAK: {ClockAct.BREAK_END: AttendanceState.WORKING},
}


@dataclass(frozen=True)
class AttendanceEvent:
    """The payload of every attendance event, one shape for all four."""

    technician: str
    technician_id: int
    act: ClockAct
    at: datetime
    local_day: date  # the branch-local day the shift began on (a night shift keeps its start day)
    shift_started_at: datetime  # the clock-in this act belongs to
    state: AttendanceState  # the state after the act

    def payload(self) -> dict[str, Any]:
        return {
            "technician": self.technician,
            "technician_id": self.technician_id,
            "act": self.act.value,
            "at": self.at,
            "local_day": self.local_day,
            "shift_started_at": self.shift_started_at,
            "state": self.state.value,
        }

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> AttendanceEvent:
        return cls(
            p["technician"],
            int(p["technician_id"]),
            ClockAct(p["act"]),
            datetime.fromisoformat(p["at"]),
            date.fromisoformat(p["local_day"]),
            datetime.fromisoformat(p["shift_started_at"]),
            AttendanceState(p["state"]),
        )


@dataclass(frozen=True)
class Attendance:
    state: AttendanceState
    last: AttendanceEvent | None

    @property
    def since(self) -> datetime | None:
        return self.last.at if self.last is not None else None


def attendance_of(session: Session, technician_id: int) -> Attendance:
    event = session.scalar(
        select(Event)
        .where(
            Event.subject_type == "technician",
            Event.subject_id == str(technician_id),
            Event.type.in_(list(EVENT_TYPES.values())),
        )
        .order_by(Event.seq.desc())
        .limit(1)
    )
    if event is None:
        return Attendance(AttendanceState.OFF, None)
    last = AttendanceEvent.from_payload(event.payload)
    return Attendance(last.state, last)


def record_act_in(uow: UnitOfWork, tech: Technician, act: ClockAct, at: datetime) -> AttendanceEvent:
    record = f"{act.value} of {tech.code}"
    if at.tzinfo is None:
        raise InvalidInput("needs a time zone", record=record, field="at")
    uow.actor.require_field(tech.id, act.value.replace("_", " "))
    now = attendance_of(uow.session, tech.id)
    target = MOVES[now.state].get(act)
    if target is None:
        allowed = ", ".join(a.value for a in MOVES[now.state])
        since = f" since {now.since:%Y-%m-%d %H:%M} UTC" if now.since else ""
        raise IllegalTransition(f"{tech.code} is {now.state.value.replace('_', ' ')}{since}: {allowed} only")
    if now.last is not None and at < now.last.at:
        raise InvalidInput(
            f"{at.isoformat()} is before the previous {now.last.act.value} at {now.last.at.isoformat()}",
            record=record,
            field="at",
        )
    branch = uow.session.get(Branch, tech.branch_id)
    assert branch is not None
    if act is ClockAct.CLOCK_IN or now.last is None:
        shift_start, day = at, local_date(at, branch.timezone)
    else:
        shift_start, day = now.last.shift_started_at, now.last.local_day
    # timesheets.py reads these events back (through workday.py), hence the import here
    from data.services.timesheets import check_not_approved, refresh_in

    check_not_approved(uow.session, tech, day)
    event = AttendanceEvent(tech.code, tech.id, act, at, day, shift_start, target)
    uow.emit(EVENT_TYPES[act], "technician", tech.id, event.payload())
    refresh_in(uow, tech, day, now=max(at, utcnow()))
    return event


def record_act(
    db: Database, actor: Actor, technician: str | int, act: ClockAct, at: datetime | None = None
) -> AttendanceEvent:
    """Clock in or out, start or end a break: for the technician themself, or a dispatcher for them."""
    with UnitOfWork(db, actor) as uow:
        tech = find_technician(uow.session, technician)
        return record_act_in(uow, tech, act, at or utcnow())


def attendance(db: Database, technician: str | int) -> Attendance:
    with db.read() as session:
        return attendance_of(session, find_technician(session, technician).id)
