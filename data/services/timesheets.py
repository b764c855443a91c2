"""Timesheets for payroll: paid minutes per technician per local day, split by the branch's overtime rules.

A day the technician clocked in on is built from the day itself (`workday.py`: clock-in to clock-out less
breaks, split into travel, on site and waiting by their jobs' status events); a day without clocking falls back
to the completion reports. Absences inside the rostered shift are counted beside the paid time; a public holiday
(the branch's calendar) pays every minute at the holiday rate, a day off the roster at the rest-day rate.

Closing a timesheet is a write: dispatchers and admins close them (supervisors are read-only
everywhere in Dispatch), and `close_due_timesheets` closes every open one whose day has ended.
`approve_week` is the dispatcher's sign-off: it closes what is still open, locks every day of the week
(no clocking, no recalculation) and emits one `timesheet.approved` per day, which payroll connectors publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.availability import local_date, local_day_bounds, shift_on
from data.db import Database
from data.errors import IllegalTransition, InvalidInput
from data.models.base import utcnow
from data.models.field import CompletionReport, OvertimeRules, Timesheet, TimesheetStatus
from data.models.jobs import Job, JobStatus
from data.models.org import Branch
from data.models.workforce import Technician
from data.public_holidays import holiday_name
from data.services.attendance import AttendanceEvent
from data.services.jobs import find_technician
from data.services.workday import Span, Workday, absence_minutes, attendance_events, status_changes, workday_in
from data.uow import PendingEvent, UnitOfWork


@dataclass(frozen=True)
class Rules:
    daily_threshold_minutes: int = 480
    weekly_threshold_minutes: int = 2400
    daily_multiplier: Decimal = Decimal("1.5")
    weekly_multiplier: Decimal = Decimal("1.5")
    rest_day_multiplier: Decimal = Decimal("2.0")
    holiday_multiplier: Decimal = Decimal("2.0")
    holiday_country: str | None = None
    holiday_dates: tuple[str, ...] = ()

    def holiday(self, day: date) -> str | None:
        return holiday_name(self.holiday_country, self.holiday_dates, day)


@dataclass(frozen=True)
class OvertimeSplit:
    """A day's paid minutes: regular plus the four kinds of overtime, which never overlap."""

    regular: int
    daily: int
    weekly: int
    rest_day: int
    holiday: int = 0

    @property
    def overtime(self) -> int:
        return self.daily + self.weekly + self.rest_day + self.holiday

    @property
    def paid(self) -> int:
        return self.regular + self.overtime

    def breakdown(self, rules: Rules) -> dict[str, Any]:
        return {
            "daily": {"minutes": self.daily, "multiplier": str(rules.daily_multiplier)},
            "weekly": {"minutes": self.weekly, "multiplier": str(rules.weekly_multiplier)},
            "rest_day": {"minutes": self.rest_day, "multiplier": str(rules.rest_day_multiplier)},
            "holiday": {"minutes": self.holiday, "multiplier": str(rules.holiday_multiplier)},
        }


def split_overtime(
    paid_minutes: int, rostered: bool, week_regular_before: int, rules: Rules, *, holiday: bool = False
) -> OvertimeSplit:
    """A public holiday pays every minute at the holiday rate, a rest day at the rest-day rate; otherwise
    minutes past the daily threshold are daily overtime, and regular minutes that push the week's regular
    total past the weekly threshold become weekly overtime (never counted twice)."""
    paid = max(paid_minutes, 0)
    if holiday:
        return OvertimeSplit(0, 0, 0, 0, paid)
    if not rostered:
        return OvertimeSplit(0, 0, 0, paid)
    daily = max(0, paid - rules.daily_threshold_minutes)
    regular = paid - daily
    room = max(0, rules.weekly_threshold_minutes - max(week_regular_before, 0))
    weekly = max(0, regular - room)
    return OvertimeSplit(regular - weekly, daily, weekly, 0)


@dataclass(frozen=True)
class TimesheetFigures:
    """A day's timesheet. worked = on site + waiting (paid time that is not travel); paid = worked + travel."""

    technician_id: int
    technician_code: str
    day: date
    rostered: bool
    worked_minutes: int
    travel_minutes: int
    break_minutes: int
    split: OvertimeSplit
    rules: Rules
    source: str = "reports"  # "attendance" when the day was clocked
    clock_in: datetime | None = None
    clock_out: datetime | None = None
    on_site_minutes: int = 0
    waiting_minutes: int = 0
    absences: dict[str, int] | None = None
    holiday: str | None = None

    @property
    def overtime_minutes(self) -> int:
        return self.split.overtime

    @property
    def paid_minutes(self) -> int:
        return self.worked_minutes + self.travel_minutes

    @property
    def is_empty(self) -> bool:
        return self.paid_minutes == 0 and not self.absences and self.clock_in is None

    def payload(self) -> dict[str, Any]:
        return {
            "technician": self.technician_code,
            "technician_id": self.technician_id,
            "day": self.day,
            "source": self.source,
            "rostered": self.rostered,
            "holiday": self.holiday,
            "clock_in": self.clock_in,
            "clock_out": self.clock_out,
            "paid_minutes": self.paid_minutes,
            "worked_minutes": self.worked_minutes,
            "on_site_minutes": self.on_site_minutes,
            "waiting_minutes": self.waiting_minutes,
            "travel_minutes": self.travel_minutes,
            "break_minutes": self.break_minutes,
            "absences": dict(self.absences or {}),
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
        row.holiday_multiplier,
        row.holiday_country,
        tuple(row.holiday_dates or ()),
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


def _day_figures(
    session: Session,
    tech: Technician,
    branch: Branch,
    rules: Rules,
    day: date,
    regular_before: int,
    now: datetime,
    clocked: Sequence[AttendanceEvent],
    changes: Sequence[tuple[datetime, int, JobStatus]],
) -> TimesheetFigures:
    shift = shift_on(session, tech, day, branch.timezone)
    holiday = rules.holiday(day)
    lived: Workday | None = workday_in(day, clocked, changes, now)
    absences = absence_minutes(session, tech, Span(shift.start, shift.end)) if shift is not None else {}
    is_holiday = holiday is not None
    if lived is not None:
        split = split_overtime(lived.paid_minutes, shift is not None, regular_before, rules, holiday=is_holiday)
        return TimesheetFigures(
            tech.id,
            tech.code,
            day,
            shift is not None,
            lived.on_site_minutes + lived.waiting_minutes,
            lived.travel_minutes,
            lived.break_minutes,
            split,
            rules,
            "attendance",
            lived.clock_in,
            lived.clock_out,
            lived.on_site_minutes,
            lived.waiting_minutes,
            absences,
            holiday,
        )
    worked, travel = field_minutes(session, tech, day, branch.timezone)
    split = split_overtime(worked + travel, shift is not None, regular_before, rules, holiday=is_holiday)
    break_minutes = shift.break_minutes if shift is not None and worked + travel > 0 else 0
    return TimesheetFigures(
        tech.id,
        tech.code,
        day,
        shift is not None,
        worked,
        travel,
        break_minutes,
        split,
        rules,
        on_site_minutes=worked,
        absences=absences,
        holiday=holiday,
    )


def week_in(
    session: Session, tech: Technician, monday: date, *, now: datetime, pending: Sequence[PendingEvent] = ()
) -> list[TimesheetFigures]:
    """The seven days of an ISO week, Monday first; weekly overtime counts the regular minutes of the days before."""
    branch = session.get(Branch, tech.branch_id)
    assert branch is not None
    rules = rules_for(session, branch.id)
    sunday = monday + timedelta(days=6)
    clocked = attendance_events(session, tech, monday, sunday, pending)
    changes: Sequence[tuple[datetime, int, JobStatus]] = ()
    if clocked:  # the jobs' status timeline around the week (a night shift runs into the next day)
        week_start, _ = local_day_bounds(monday, branch.timezone)
        _, week_end = local_day_bounds(sunday + timedelta(days=1), branch.timezone)
        changes = status_changes(session, tech, week_start - timedelta(days=1), week_end, pending)
    days: list[TimesheetFigures] = []
    regular_before = 0
    for offset in range(7):
        day = monday + timedelta(days=offset)
        figures = _day_figures(session, tech, branch, rules, day, regular_before, now, clocked, changes)
        days.append(figures)
        regular_before += figures.split.regular
    return days


def compute_in(
    session: Session,
    tech: Technician,
    day: date,
    *,
    now: datetime | None = None,
    pending: Sequence[PendingEvent] = (),
) -> TimesheetFigures:
    monday = day - timedelta(days=day.weekday())
    return week_in(session, tech, monday, now=now or utcnow(), pending=pending)[day.weekday()]


def compute_timesheet(
    db: Database, technician: str | int, day: date, *, now: datetime | None = None
) -> TimesheetFigures:
    with db.read() as session:
        return compute_in(session, find_technician(session, technician), day, now=now)


def _apply(sheet: Timesheet, figures: TimesheetFigures) -> None:
    sheet.worked_minutes = figures.worked_minutes
    sheet.travel_minutes = figures.travel_minutes
    sheet.break_minutes = figures.break_minutes
    sheet.overtime_minutes = figures.overtime_minutes
    sheet.overtime_breakdown = figures.split.breakdown(figures.rules)
    sheet.clock_in = figures.clock_in
    sheet.clock_out = figures.clock_out
    sheet.on_site_minutes = figures.on_site_minutes
    sheet.waiting_minutes = figures.waiting_minutes
    sheet.absences = dict(figures.absences or {})
    sheet.holiday = figures.holiday


def refresh_in(uow: UnitOfWork, tech: Technician, day: date, *, now: datetime | None = None) -> Timesheet:
    """Bring the day's open timesheet up to date (creating it); a closed one is left as payroll saw it."""
    s = uow.session
    s.flush()
    sheet = s.scalar(select(Timesheet).where(Timesheet.technician_id == tech.id, Timesheet.day == day))
    if sheet is None:
        sheet = Timesheet(technician_id=tech.id, day=day, status=TimesheetStatus.OPEN)
        s.add(sheet)
    if sheet.status is TimesheetStatus.OPEN:
        _apply(sheet, compute_in(s, tech, day, now=now, pending=uow.events))
    s.flush()
    return sheet


def check_not_approved(session: Session, tech: Technician, day: date) -> None:
    """An approved week is locked: nothing may change the time of its days."""
    sheet = session.scalar(select(Timesheet).where(Timesheet.technician_id == tech.id, Timesheet.day == day))
    if sheet is not None and sheet.approved_at is not None:
        raise IllegalTransition(
            f"timesheet of {tech.code} for {day.isoformat()} is in a week approved by {sheet.approved_by} at "
            f"{sheet.approved_at.isoformat()}; it is locked"
        )


def refresh_for_visit_in(uow: UnitOfWork, technician_id: int, at: datetime) -> Timesheet:
    tech = uow.session.get(Technician, technician_id)
    assert tech is not None
    branch = uow.session.get(Branch, tech.branch_id)
    assert branch is not None
    return refresh_in(uow, tech, local_date(at, branch.timezone))


def _close_in(
    uow: UnitOfWork, tech: Technician, day: date, now: datetime, figures: TimesheetFigures | None = None
) -> Timesheet:
    """Close one day with its figures (computed here unless the caller, working through a week, has them)."""
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
    if figures is None:
        figures = compute_in(s, tech, day, now=now, pending=uow.events)
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
    """Close every open timesheet whose local day has ended by `now` (the end-of-day run); a shift still clocked in
    (a night shift past midnight) stays open until its clock-out."""
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
            if day_end > now:
                continue
            figures = compute_in(s, tech, sheet.day, now=now, pending=uow.events)
            if figures.source == "attendance" and figures.clock_out is None:
                continue
            closed.append(_close_in(uow, tech, sheet.day, now, figures))
    return closed


def list_timesheets(db: Database, day_from: date, day_to: date, technician: str | None = None) -> list[Timesheet]:
    with db.read() as session:
        query = select(Timesheet).where(Timesheet.day >= day_from, Timesheet.day <= day_to)
        if technician:
            query = query.where(Timesheet.technician_id == find_technician(session, technician).id)
        return list(session.scalars(query.order_by(Timesheet.day, Timesheet.technician_id)))


def decimal_hours(minutes: int) -> Decimal:
    """Minutes as hours with two decimals, half up: what payroll systems take (7 h 30 min -> 7.50)."""
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def parse_week(text: str) -> date:
    """'2026-W48' -> the Monday of that ISO week."""
    value = text.strip().upper()
    year, sep, week = value.partition("-W")
    try:
        if not sep:
            raise ValueError
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise InvalidInput(
            f"'{text}' is not an ISO week like 2026-W48", record="timesheet week", field="week"
        ) from None


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class WeekApproval:
    technician: str
    week: str
    days: list[TimesheetFigures]  # the days with time or absences, now approved

    def payload(self) -> dict[str, Any]:
        return {
            "technician": self.technician,
            "week": self.week,
            "days": [f.day for f in self.days],
            "paid_minutes": sum(f.paid_minutes for f in self.days),
            "overtime_minutes": sum(f.overtime_minutes for f in self.days),
        }


def technicians_in_scope(
    session: Session, technician: str | None, branch: str | None, *, everyone: bool = False
) -> list[Technician]:
    """One technician by code, or every technician of a branch (by code) who is not archived; with neither,
    every technician when `everyone`, else refused."""
    if (technician is not None and branch is not None) or (technician is None and branch is None and not everyone):
        raise InvalidInput("give --technician or --branch (one of them)", record="timesheet week", field="scope")
    if technician is not None:
        return [find_technician(session, technician)]
    query = select(Technician).where(Technician.archived_at.is_(None)).order_by(Technician.code)
    if branch is not None:
        found = session.scalar(select(Branch).where(Branch.code == branch))
        if found is None:
            raise InvalidInput(f"no branch {branch}", record="timesheet week", field="branch")
        query = query.where(Technician.branch_id == found.id)
    return list(session.scalars(query))


def approve_week(
    db: Database,
    actor: Actor,
    week: str,
    *,
    technician: str | None = None,
    branch: str | None = None,
    now: datetime | None = None,
) -> list[WeekApproval]:
    """The dispatcher signs off a week: all technicians in scope or none (one transaction).

    Refused while the week has not ended in the branch's zone, while a technician is still clocked in to one of
    its days, or when the week was approved before. Open days are closed first (`timesheet.closed`), then every
    day with time or absences gets its `timesheet.approved`, what payroll connectors publish; a technician with
    neither that week is left out.
    """
    actor.require_write("approve timesheets")
    monday = parse_week(week)
    label = week_label(monday)
    when = now or utcnow()
    approvals: list[WeekApproval] = []
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        for tech in technicians_in_scope(s, technician, branch):
            branch_row = s.get(Branch, tech.branch_id)
            assert branch_row is not None
            _, week_end = local_day_bounds(monday + timedelta(days=6), branch_row.timezone)
            if when < week_end:
                raise InvalidInput(
                    f"{label} ends {week_end.isoformat()}; approve it once it is over",
                    record=f"timesheet week {label} of {tech.code}",
                    field="week",
                )
            for offset in range(7):
                check_not_approved(s, tech, monday + timedelta(days=offset))
            figures = week_in(s, tech, monday, now=when, pending=uow.events)
            still_in = [f for f in figures if f.source == "attendance" and f.clock_out is None]
            if still_in:
                raise IllegalTransition(
                    f"{tech.code} never clocked out on {still_in[0].day.isoformat()}: clock them out first "
                    f"(`dispatch techs clock {tech.code} clock_out --at ...`)"
                )
            approved = []
            for day_figures in figures:
                sheet = s.scalar(
                    select(Timesheet).where(Timesheet.technician_id == tech.id, Timesheet.day == day_figures.day)
                )
                if day_figures.is_empty and sheet is None:
                    continue
                if sheet is None or sheet.status is TimesheetStatus.OPEN:
                    sheet = _close_in(uow, tech, day_figures.day, when, day_figures)
                sheet.approved_by = actor.login
                sheet.approved_at = when
                s.flush()
                stored = from_sheet(sheet, day_figures)
                approved.append(stored)
                uow.emit(
                    "timesheet.approved",
                    "timesheet",
                    sheet.id,
                    stored.payload() | {"week": label, "approved_by": actor.login, "approved_at": when},
                    idempotency_key=f"timesheet.approved:{tech.id}:{day_figures.day.isoformat()}",
                )
            if not approved:  # no time and no absence that week: nothing to lock or to pay
                continue
            approval = WeekApproval(tech.code, label, approved)
            summary = approval.payload() | {"approved_by": actor.login}
            uow.emit("timesheet.week_approved", "technician", tech.id, summary)
            approvals.append(approval)
    return approvals


def from_sheet(sheet: Timesheet, computed: TimesheetFigures) -> TimesheetFigures:
    """A closed day as stored: what payroll gets (a day closed earlier keeps the numbers it was closed with)."""
    breakdown = sheet.overtime_breakdown or {}

    def minutes(kind: str) -> int:
        return int((breakdown.get(kind) or {}).get("minutes", 0))

    daily, weekly, rest_day, holiday = minutes("daily"), minutes("weekly"), minutes("rest_day"), minutes("holiday")
    regular = sheet.worked_minutes + sheet.travel_minutes - daily - weekly - rest_day - holiday
    return TimesheetFigures(
        computed.technician_id,
        computed.technician_code,
        sheet.day,
        computed.rostered,
        sheet.worked_minutes,
        sheet.travel_minutes,
        sheet.break_minutes,
        OvertimeSplit(max(regular, 0), daily, weekly, rest_day, holiday),
        computed.rules,
        computed.source,
        sheet.clock_in,
        sheet.clock_out,
        sheet.on_site_minutes,
        sheet.waiting_minutes,
        dict(sheet.absences or {}),
        sheet.holiday,
    )
