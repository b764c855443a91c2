"""Timesheets for payroll: paid minutes per technician per local day from field data, split by overtime rules.

Closing a timesheet is a write: dispatchers and admins close them (supervisors are read-only
everywhere in Dispatch), and `close_due_timesheets` closes every open one whose day has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.availability import local_date, local_day_bounds, shift_on
from data.db import Database
from data.errors import IllegalTransition
from data.models.base import utcnow
from data.models.field import CompletionReport, OvertimeRules, Timesheet, TimesheetStatus
from data.models.jobs import Job
from data.models.org import Branch
from data.models.workforce import Technician
from data.services.jobs import find_technician
from data.uow import UnitOfWork


@dataclass(frozen=True)
class Rules:
    daily_threshold_minutes: int = 480
    weekly_threshold_minutes: int = 2400
    daily_multiplier: Decimal = Decimal("1.5")
    weekly_multiplier: Decimal = Decimal("1.5")
    rest_day_multiplier: Decimal = Decimal("2.0")


@dataclass(frozen=True)
class OvertimeSplit:
    """A day's paid minutes: regular plus the three kinds of overtime, which never overlap."""

    regular: int
    daily: int
    weekly: int
    rest_day: int

    @property
    def overtime(self) -> int:
        return self.daily + self.weekly + self.rest_day

    @property
    def paid(self) -> int:
        return self.regular + self.overtime

    def breakdown(self, rules: Rules) -> dict[str, Any]:
        return {
            "daily": {"minutes": self.daily, "multiplier": str(rules.daily_multiplier)},
            "weekly": {"minutes": self.weekly, "multiplier": str(rules.weekly_multiplier)},
            "rest_day": {"minutes": self.rest_day, "multiplier": str(rules.rest_day_multiplier)},
        }


def split_overtime(paid_minutes: int, rostered: bool, week_regular_before: int, rules: Rules) -> OvertimeSplit:
    """Rest days pay every minute at the rest-day rate; otherwise minutes past the daily threshold are
    daily overtime, and regular minutes that push the week's regular total past the weekly threshold
    become weekly overtime (never counted twice)."""
    paid = max(paid_minutes, 0)
    if not rostered:
        return OvertimeSplit(0, 0, 0, paid)
    daily = max(0, paid - rules.daily_threshold_minutes)
    regular = paid - daily
    room = max(0, rules.weekly_threshold_minutes - max(week_regular_before, 0))
    weekly = max(0, regular - room)
    return OvertimeSplit(regular - weekly, daily, weekly, 0)


@dataclass(frozen=True)
class TimesheetFigures:
    technician_id: int
    technician_code: str
    day: date
    rostered: bool
    worked_minutes: int
    travel_minutes: int
    break_minutes: int
    split: OvertimeSplit
    rules: Rules

    @property
    def overtime_minutes(self) -> int:
        return self.split.overtime

    def payload(self) -> dict[str, Any]:
        return {
            "technician": self.technician_code,
            "technician_id": self.technician_id,
            "day": self.day,
            "rostered": self.rostered,
            "worked_minutes": self.worked_minutes,
            "travel_minutes": self.travel_minutes,
            "break_minutes": self.break_minutes,
            "regular_minutes": self.split.regular,
            "overtime_minutes": self.split.overtime,
            "overtime": self.split.breakdown(self.rules),
        }


def rules_for(session: Session, branch_id: int) -> Rules:
    row = session.scalar(select(OvertimeRules).where(OvertimeRules.branch_id == branch_id))
    if row is None:
        return Rules()
    return Rules(
        row.daily_threshold_minutes,
        row.weekly_threshold_minutes,
        row.daily_multiplier,
        row.weekly_multiplier,
        row.rest_day_multiplier,
    )


def field_minutes(session: Session, tech: Technician, day: date, tz: str) -> tuple[int, int]:
    """(worked, travel) minutes on a local day: the completion reports of visits started that day,
    plus finished visits without a report (their on-site span, no travel known)."""
    start, end = local_day_bounds(day, tz)
    worked = travel = 0
    reports = session.scalars(
        select(CompletionReport).where(
            CompletionReport.technician_id == tech.id,
            CompletionReport.actual_start >= start,
            CompletionReport.actual_start < end,
        )
    )
    reported: set[int] = set()
    for report in reports:
        worked += report.labour_minutes
        travel += report.travel_minutes
        reported.add(report.job_id)
    jobs = session.scalars(
        select(Job).where(
            Job.technician_id == tech.id,
            Job.actual_start >= start,
            Job.actual_start < end,
            Job.actual_end.is_not(None),
        )
    )
    for job in jobs:
        if job.id not in reported and job.actual_start is not None and job.actual_end is not None:
            worked += max(0, int((job.actual_end - job.actual_start).total_seconds() // 60))
    return worked, travel


def compute_in(session: Session, tech: Technician, day: date) -> TimesheetFigures:
    branch = session.get(Branch, tech.branch_id)
    assert branch is not None
    rules = rules_for(session, branch.id)
    monday = day - timedelta(days=day.weekday())
    regular_before = 0
    current = monday
    while True:
        worked, travel = field_minutes(session, tech, current, branch.timezone)
        shift = shift_on(session, tech, current, branch.timezone)
        split = split_overtime(worked + travel, shift is not None, regular_before, rules)
        if current == day:
            break_minutes = shift.break_minutes if shift is not None and worked + travel > 0 else 0
            return TimesheetFigures(
                tech.id, tech.code, day, shift is not None, worked, travel, break_minutes, split, rules
            )
        regular_before += split.regular
        current += timedelta(days=1)


def compute_timesheet(db: Database, technician: str | int, day: date) -> TimesheetFigures:
    with db.read() as session:
        return compute_in(session, find_technician(session, technician), day)


def _apply(sheet: Timesheet, figures: TimesheetFigures) -> None:
    sheet.worked_minutes = figures.worked_minutes
    sheet.travel_minutes = figures.travel_minutes
    sheet.break_minutes = figures.break_minutes
    sheet.overtime_minutes = figures.overtime_minutes
    sheet.overtime_breakdown = figures.split.breakdown(figures.rules)


def refresh_in(uow: UnitOfWork, tech: Technician, day: date) -> Timesheet:
    """Bring the day's open timesheet up to date (creating it); a closed one is left as payroll saw it."""
    s = uow.session
    s.flush()
    sheet = s.scalar(select(Timesheet).where(Timesheet.technician_id == tech.id, Timesheet.day == day))
    if sheet is None:
        sheet = Timesheet(technician_id=tech.id, day=day, status=TimesheetStatus.OPEN)
        s.add(sheet)
    if sheet.status is TimesheetStatus.OPEN:
        _apply(sheet, compute_in(s, tech, day))
    s.flush()
    return sheet


def refresh_for_visit_in(uow: UnitOfWork, technician_id: int, at: datetime) -> Timesheet:
    tech = uow.session.get(Technician, technician_id)
    assert tech is not None
    branch = uow.session.get(Branch, tech.branch_id)
    assert branch is not None
    return refresh_in(uow, tech, local_date(at, branch.timezone))


def _close_in(uow: UnitOfWork, tech: Technician, day: date, now: datetime) -> Timesheet:
    s = uow.session
    sheet = s.scalar(select(Timesheet).where(Timesheet.technician_id == tech.id, Timesheet.day == day))
    if sheet is not None and sheet.status is TimesheetStatus.CLOSED:
        at = sheet.closed_at.isoformat() if sheet.closed_at else "?"
        raise IllegalTransition(
            f"timesheet of {tech.code} for {day.isoformat()} was closed by {sheet.closed_by} at {at}"
        )
    if sheet is None:
        sheet = Timesheet(technician_id=tech.id, day=day)
        s.add(sheet)
    figures = compute_in(s, tech, day)
    _apply(sheet, figures)
    sheet.status = TimesheetStatus.CLOSED
    sheet.closed_by = uow.actor.login
    sheet.closed_at = now
    s.flush()
    uow.emit(
        "timesheet.closed",
        "timesheet",
        sheet.id,
        figures.payload() | {"closed_by": uow.actor.login, "closed_at": now},
        idempotency_key=f"timesheet.closed:{tech.id}:{day.isoformat()}",
    )
    return sheet


def close_timesheet(
    db: Database, actor: Actor, technician: str | int, day: date, *, now: datetime | None = None
) -> Timesheet:
    """Close a day for payroll (dispatchers and admins; supervisors are read-only)."""
    actor.require_write("close timesheets")
    with UnitOfWork(db, actor) as uow:
        tech = find_technician(uow.session, technician)
        return _close_in(uow, tech, day, now or utcnow())


def close_due_timesheets(db: Database, actor: Actor, now: datetime) -> list[Timesheet]:
    """Close every open timesheet whose local day has ended by `now` (the end-of-day run)."""
    actor.require_write("close timesheets")
    closed: list[Timesheet] = []
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        open_sheets = list(
            s.scalars(
                select(Timesheet)
                .where(Timesheet.status == TimesheetStatus.OPEN)
                .order_by(Timesheet.day, Timesheet.technician_id)
            )
        )
        for sheet in open_sheets:
            tech = s.get(Technician, sheet.technician_id)
            assert tech is not None
            branch = s.get(Branch, tech.branch_id)
            assert branch is not None
            _, day_end = local_day_bounds(sheet.day, branch.timezone)
            if day_end <= now:
                closed.append(_close_in(uow, tech, sheet.day, now))
    return closed


def list_timesheets(db: Database, day_from: date, day_to: date, technician: str | None = None) -> list[Timesheet]:
    with db.read() as session:
        query = select(Timesheet).where(Timesheet.day >= day_from, Timesheet.day <= day_to)
        if technician:
            query = query.where(Timesheet.technician_id == find_technician(session, technician).id)
        return list(session.scalars(query.order_by(Timesheet.day, Timesheet.technician_id)))
