"""Timesheets from the day itself: clock-in to clock-out less breaks, split into travel, on site and waiting by the
jobs' status events; absences, public holidays, rest days; a week approved, locked and handed to payroll."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from data.db import Database
from data.errors import IllegalTransition, InvalidInput, PermissionDenied
from data.feed import last_seq, tail
from data.models import JobStatus, JobType
from data.models.field import TimesheetStatus
from data.models.workforce import AbsenceKind
from data.services.attendance import ClockAct, record_act
from data.services.completion import CompletionInput, complete_job
from data.services.jobs import JobDraft, assign_job, change_status, create_job
from data.services.record_kinds import BRANCH
from data.services.records import edit_record
from data.services.technicians import mark_absent
from data.services.timesheets import (
    approve_week,
    close_due_timesheets,
    compute_timesheet,
    list_timesheets,
    parse_week,
)
from tests.factories import DAY, DISPATCHER, SUPERVISOR, build_world, local

MONDAY = DAY - timedelta(days=DAY.weekday())  # 2026-11-23, ISO week 2026-W48
AFTER_WEEK = local(1, 0, MONDAY + timedelta(days=7))


def clock(db: Database, act: ClockAct, at: datetime, tech: str = "T2") -> None:
    record_act(db, DISPATCHER, tech, act, at)


def clocked_day(
    db: Database, day: date, start: tuple[int, int], end: tuple[int, int], breaks: tuple[tuple[int, int], ...] = ()
) -> None:
    clock(db, ClockAct.CLOCK_IN, local(*start, day))
    for brk_start, brk_minutes in breaks:
        at = local(brk_start, 0, day)
        clock(db, ClockAct.BREAK_START, at)
        clock(db, ClockAct.BREAK_END, at + timedelta(minutes=brk_minutes))
    clock(db, ClockAct.CLOCK_OUT, local(*end, day))


def visit(db: Database, leave: datetime, arrive: datetime, done: datetime, *, travel: int, labour: int) -> str:
    job = create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Visit", 60, created_at=leave - timedelta(hours=2)))
    assign_job(db, DISPATCHER, job.ref, "T2", arrive)
    change_status(db, DISPATCHER, job.ref, JobStatus.DISPATCHED, at=leave)
    change_status(db, DISPATCHER, job.ref, JobStatus.EN_ROUTE, at=leave)
    change_status(db, DISPATCHER, job.ref, JobStatus.ON_SITE, at=arrive)
    complete_job(db, DISPATCHER, job.ref, CompletionInput(arrive, done, labour, travel, "OK"))
    return job.ref


def test_an_eight_and_a_half_hour_shift_is_paid_as_clocked_not_as_one_visit(db: Database) -> None:
    """The T020 case: one visit reported (60 min labour + 29 travel) on a day clocked 08:00-16:30 (both engines)."""
    build_world(db)
    clock(db, ClockAct.CLOCK_IN, local(8))
    visit(db, local(8), local(8, 29), local(9, 29), travel=29, labour=60)
    clock(db, ClockAct.BREAK_START, local(11, 30))
    clock(db, ClockAct.BREAK_END, local(12))
    clock(db, ClockAct.CLOCK_OUT, local(16, 30))
    fig = compute_timesheet(db, "T2", DAY, now=local(18))
    assert fig.source == "attendance" and fig.clock_in == local(8) and fig.clock_out == local(16, 30)
    assert (fig.travel_minutes, fig.on_site_minutes, fig.break_minutes) == (29, 60, 30)
    assert fig.waiting_minutes == 510 - 30 - 29 - 60
    assert fig.paid_minutes == 480 and fig.worked_minutes == 451
    assert fig.overtime_minutes == 0
    # The stored open timesheet followed the clock-out, so payroll and `timesheets list` see the same day.
    [sheet] = list_timesheets(db, DAY, DAY, "T2")
    assert (sheet.worked_minutes, sheet.travel_minutes, sheet.break_minutes) == (451, 29, 30)
    assert (sheet.clock_in, sheet.clock_out, sheet.on_site_minutes) == (local(8), local(16, 30), 60)


def test_still_clocked_in_counts_up_to_now_and_a_paused_job_is_waiting(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    clock(sqlite_db, ClockAct.CLOCK_IN, local(8))
    job = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Visit", 60, created_at=local(6)))
    assign_job(sqlite_db, DISPATCHER, job.ref, "T2", local(8, 30))
    steps = ((JobStatus.DISPATCHED, local(8)), (JobStatus.EN_ROUTE, local(8)), (JobStatus.ON_SITE, local(8, 30)))
    for status, at in steps:
        change_status(sqlite_db, DISPATCHER, job.ref, status, at=at)
    change_status(sqlite_db, DISPATCHER, job.ref, JobStatus.PAUSED, at=local(9))
    fig = compute_timesheet(sqlite_db, "T2", DAY, now=local(10))
    assert fig.clock_out is None and fig.paid_minutes == 120
    assert (fig.travel_minutes, fig.on_site_minutes, fig.waiting_minutes) == (30, 30, 60)


def test_daily_overtime_and_weekly_overtime_from_clocked_days(sqlite_db: Database) -> None:
    world = build_world(sqlite_db)
    edit_record(sqlite_db, DISPATCHER, BRANCH, "HEL", {"overtime_weekly_after": "1200"})
    assert world.branch_id
    clocked_day(sqlite_db, MONDAY, (7, 0), (18, 0))  # 660 paid: 180 daily overtime
    mon = compute_timesheet(sqlite_db, "T2", MONDAY, now=AFTER_WEEK)
    assert (mon.split.regular, mon.split.daily) == (480, 180)
    tuesday = MONDAY + timedelta(days=1)
    clocked_day(sqlite_db, tuesday, (8, 0), (16, 30), ((12, 30),))  # 480 paid
    clocked_day(sqlite_db, DAY, (8, 0), (16, 30), ((12, 30),))  # 480 paid, 240 past the 1200 weekly threshold
    wed = compute_timesheet(sqlite_db, "T2", DAY, now=AFTER_WEEK)
    assert (wed.split.regular, wed.split.weekly, wed.split.daily) == (240, 240, 0)


def test_rest_days_and_public_holidays_pay_at_their_own_rates(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    edit_record(
        sqlite_db,
        DISPATCHER,
        BRANCH,
        "HEL",
        {"holiday_country": "fi", "holiday_rate": "2.5", "holiday_dates": "2026-11-26"},
    )
    thursday = DAY + timedelta(days=1)  # the company's own holiday
    clocked_day(sqlite_db, thursday, (9, 0), (12, 0))
    thu = compute_timesheet(sqlite_db, "T2", thursday, now=AFTER_WEEK)
    assert thu.holiday == "company holiday" and thu.split.holiday == 180 and thu.split.regular == 0
    assert thu.split.breakdown(thu.rules)["holiday"] == {"minutes": 180, "multiplier": "2.5"}
    saturday = MONDAY + timedelta(days=5)
    clocked_day(sqlite_db, saturday, (9, 0), (13, 0))
    sat = compute_timesheet(sqlite_db, "T2", saturday, now=AFTER_WEEK)
    assert not sat.rostered and sat.split.rest_day == 240 and sat.holiday is None
    christmas_eve = date(2026, 12, 24)  # a Thursday: Finland's calendar from the holidays package
    clocked_day(sqlite_db, christmas_eve, (8, 0), (10, 0))
    eve = compute_timesheet(sqlite_db, "T2", christmas_eve, now=local(12, 0, christmas_eve))
    assert eve.holiday == "Christmas Eve" and eve.split.holiday == 120
    with pytest.raises(InvalidInput, match="branch HEL: holiday_country: 'XX' is not a country"):
        edit_record(sqlite_db, DISPATCHER, BRANCH, "HEL", {"holiday_country": "XX"})
    with pytest.raises(InvalidInput, match="holiday_dates: '2026-13-01' is not a date"):
        edit_record(sqlite_db, DISPATCHER, BRANCH, "HEL", {"holiday_dates": "2026-12-31,2026-13-01"})


def test_an_absence_inside_the_shift_is_counted_beside_paid_time(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    mark_absent(sqlite_db, DISPATCHER, "T2", AbsenceKind.SICK, local(8), local(16))
    fig = compute_timesheet(sqlite_db, "T2", DAY, now=AFTER_WEEK)
    assert fig.absences == {"sick": 480} and fig.paid_minutes == 0 and fig.overtime_minutes == 0


def test_approving_the_week_closes_locks_and_publishes_each_day(db: Database) -> None:
    build_world(db)
    clocked_day(db, MONDAY, (8, 0), (16, 30), ((12, 30),))
    clocked_day(db, DAY, (8, 0), (17, 30), ((12, 30),))
    mark_absent(db, DISPATCHER, "T2", AbsenceKind.LEAVE, local(8, 0, DAY + timedelta(days=1)),
                local(16, 0, DAY + timedelta(days=1)))  # fmt: skip
    with pytest.raises(InvalidInput, match=r"timesheet week 2026-W48 of T1: week: 2026-W48 ends .*once it is over"):
        approve_week(db, DISPATCHER, "2026-W48", branch="HEL", now=local(12, 0, DAY))
    with pytest.raises(PermissionDenied):
        approve_week(db, SUPERVISOR, "2026-W48", technician="T2", now=AFTER_WEEK)
    [approval] = approve_week(db, DISPATCHER, "2026-W48", technician="T2", now=AFTER_WEEK)
    assert approval.week == "2026-W48"
    assert [f.day for f in approval.days] == [MONDAY, DAY, DAY + timedelta(days=1)]
    assert approval.payload()["paid_minutes"] == 480 + 540
    assert approval.payload()["overtime_minutes"] == 60
    events = [e for e in tail(db) if e.type.startswith("timesheet.")]
    assert [e.type for e in events] == ["timesheet.closed", "timesheet.approved"] * 3 + ["timesheet.week_approved"]
    approved = [e.payload for e in events if e.type == "timesheet.approved"]
    assert approved[1]["overtime"]["daily"] == {"minutes": 60, "multiplier": "1.5"}
    assert approved[1]["clock_in"] == local(8).isoformat() and approved[2]["absences"] == {"leave": 480}
    assert {p["approved_by"] for p in approved} == {"dana"} and {p["week"] for p in approved} == {"2026-W48"}
    sheets = list_timesheets(db, MONDAY, MONDAY + timedelta(days=6), "T2")
    assert len(sheets) == 3 and all(r.status is TimesheetStatus.CLOSED and r.approved_by == "dana" for r in sheets)
    # Locked: no more clocking on its days, no second approval, and the refusal writes nothing.
    seq = last_seq(db)
    with pytest.raises(IllegalTransition, match="approved by dana"):
        clock(db, ClockAct.CLOCK_IN, local(18, 0, DAY))
    with pytest.raises(IllegalTransition, match="approved by dana"):
        approve_week(db, DISPATCHER, "2026-W48", technician="T2", now=AFTER_WEEK)
    assert last_seq(db) == seq


def test_a_week_with_someone_still_clocked_in_is_refused_whole(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    clocked_day(sqlite_db, MONDAY, (8, 0), (16, 0))
    clock(sqlite_db, ClockAct.CLOCK_IN, local(8), tech="T3")
    seq = last_seq(sqlite_db)
    with pytest.raises(IllegalTransition, match="T3 never clocked out on 2026-11-25"):
        approve_week(sqlite_db, DISPATCHER, "2026-W48", branch="HEL", now=AFTER_WEEK)
    assert last_seq(sqlite_db) == seq
    assert all(s.approved_at is None for s in list_timesheets(sqlite_db, MONDAY, DAY))
    clock(sqlite_db, ClockAct.CLOCK_OUT, local(12), tech="T3")
    approvals = approve_week(sqlite_db, DISPATCHER, "2026-W48", branch="HEL", now=AFTER_WEEK)
    assert [a.technician for a in approvals] == ["T2", "T3"]  # T1 had no time that week: nothing to approve


def test_a_night_shift_past_midnight_stays_open_until_its_clock_out(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    clock(sqlite_db, ClockAct.CLOCK_IN, local(22))
    after_midnight = local(0, 30, DAY + timedelta(days=1))
    assert close_due_timesheets(sqlite_db, DISPATCHER, after_midnight) == []
    clock(sqlite_db, ClockAct.CLOCK_OUT, local(6, 0, DAY + timedelta(days=1)))
    [closed] = close_due_timesheets(sqlite_db, DISPATCHER, local(7, 0, DAY + timedelta(days=1)))
    assert (
        closed.day == DAY and closed.worked_minutes == 480 and closed.clock_out == local(6, 0, DAY + timedelta(days=1))
    )


@pytest.mark.parametrize("bad", ["2026-48", "2026-W54", "W48", ""])
def test_a_bad_week_names_the_field(bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"timesheet week: week: .* is not an ISO week"):
        parse_week(bad)


def test_holiday_rate_defaults_to_double(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    fig = compute_timesheet(sqlite_db, "T2", DAY, now=AFTER_WEEK)
    assert fig.rules.holiday_multiplier == Decimal("2.0") and fig.holiday is None and fig.source == "reports"
