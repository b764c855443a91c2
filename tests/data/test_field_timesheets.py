"""Timesheets: paid minutes from field data, overtime rules (daily, weekly, rest day), closing for payroll."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data.db import Database
from data.errors import IllegalTransition, PermissionDenied
from data.feed import tail
from data.models import JobStatus, JobType
from data.models.field import OvertimeRules, TimesheetStatus
from data.services.completion import CompletionInput, complete_job
from data.services.jobs import JobDraft, assign_job, change_status, create_job
from data.services.timesheets import (
    Rules,
    close_due_timesheets,
    close_timesheet,
    compute_timesheet,
    split_overtime,
)
from tests.factories import DAY, DISPATCHER, SUPERVISOR, build_world, local

rules_st = st.builds(
    Rules,
    daily_threshold_minutes=st.integers(60, 720),
    weekly_threshold_minutes=st.integers(600, 3000),
)


@given(st.integers(0, 1440), st.booleans(), st.integers(0, 4000), rules_st)
def test_overtime_split_accounts_for_every_minute_once(paid: int, rostered: bool, before: int, rules: Rules) -> None:
    split = split_overtime(paid, rostered, before, rules)
    assert split.paid == paid
    assert min(split.regular, split.daily, split.weekly, split.rest_day) >= 0
    if not rostered:
        assert split.rest_day == paid and split.regular == 0
    else:
        assert split.rest_day == 0
        assert split.daily == max(0, paid - rules.daily_threshold_minutes)
        assert split.regular <= rules.daily_threshold_minutes
        assert before + split.regular <= max(rules.weekly_threshold_minutes, before)


@given(st.lists(st.integers(0, 720), min_size=5, max_size=5), rules_st)
def test_a_week_never_pays_more_regular_than_the_weekly_threshold(days: list[int], rules: Rules) -> None:
    regular = 0
    for minutes in days:
        split = split_overtime(minutes, True, regular, rules)
        regular += split.regular
    assert regular <= rules.weekly_threshold_minutes
    assert regular + sum(max(0, m - rules.daily_threshold_minutes) for m in days) <= sum(days)


def test_hand_checked_split() -> None:
    rules = Rules()
    assert split_overtime(540, True, 0, rules).daily == 60
    s = split_overtime(480, True, 2100, rules)  # 35 h already this week: 5 h regular room left
    assert (s.regular, s.weekly, s.daily) == (300, 180, 0)
    assert split_overtime(200, False, 0, rules).rest_day == 200


def _visit(db: Database, day: date, start: datetime, labour: int, travel: int) -> None:
    job = create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Visit", 60, created_at=start - timedelta(hours=1)))
    assign_job(db, DISPATCHER, job.ref, "T2", start)
    for status in (JobStatus.DISPATCHED, JobStatus.EN_ROUTE, JobStatus.ON_SITE):
        change_status(db, DISPATCHER, job.ref, status, at=start)
    complete_job(
        db, DISPATCHER, job.ref, CompletionInput(start, start + timedelta(minutes=labour), labour, travel, "OK")
    )


def test_timesheet_from_completions_with_daily_overtime_and_close(db: Database) -> None:
    build_world(db)
    # Two visits: 300 + 180 labour, 30 + 30 travel = 540 paid -> 60 min daily overtime at 1.5x.
    _visit(db, DAY, local(8), 300, 30)
    _visit(db, DAY, local(13, 30), 180, 30)
    fig = compute_timesheet(db, "T2", DAY)
    assert (fig.worked_minutes, fig.travel_minutes, fig.break_minutes) == (480, 60, 30)
    assert fig.split.daily == 60 and fig.overtime_minutes == 60 and fig.rostered
    with pytest.raises(PermissionDenied, match="read-only"):
        close_timesheet(db, SUPERVISOR, "T2", DAY)
    sheet = close_timesheet(db, DISPATCHER, "T2", DAY, now=local(18))
    assert sheet.status is TimesheetStatus.CLOSED and sheet.closed_by == "dana"
    assert sheet.overtime_breakdown["daily"] == {"minutes": 60, "multiplier": "1.5"}
    event = next(e for e in tail(db) if e.type == "timesheet.closed")
    assert event.payload["technician"] == "T2" and event.payload["overtime_minutes"] == 60
    assert event.payload["worked_minutes"] == 480 and event.payload["day"] == DAY.isoformat()
    with pytest.raises(IllegalTransition, match="closed by dana"):
        close_timesheet(db, DISPATCHER, "T2", DAY)


def test_rest_day_and_branch_rules(sqlite_db: Database) -> None:
    world = build_world(sqlite_db)
    with sqlite_db.write_session() as s:
        s.add(OvertimeRules(branch_id=world.branch_id, daily_threshold_minutes=120, rest_day_multiplier=Decimal("2.5")))
        s.commit()
    saturday = date(2026, 11, 28)
    fig = compute_timesheet(sqlite_db, "T2", saturday)
    assert fig.overtime_minutes == 0 and not fig.rostered
    _visit(sqlite_db, DAY, local(9), 150, 10)
    fig = compute_timesheet(sqlite_db, "T2", DAY)
    assert fig.split.daily == 40 and fig.split.breakdown(fig.rules)["rest_day"]["multiplier"] == "2.5"


def test_close_due_closes_only_ended_days(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _visit(sqlite_db, DAY, local(9), 60, 10)
    assert close_due_timesheets(sqlite_db, DISPATCHER, local(23)) == []
    closed = close_due_timesheets(sqlite_db, DISPATCHER, local(0, 5, DAY + timedelta(days=1)))
    assert [c.day for c in closed] == [DAY]
    assert close_due_timesheets(sqlite_db, DISPATCHER, local(1, 0, DAY + timedelta(days=1))) == []


def test_weekly_overtime_counts_earlier_days_of_the_week(sqlite_db: Database) -> None:
    world = build_world(sqlite_db)
    with sqlite_db.write_session() as s:
        s.add(OvertimeRules(branch_id=world.branch_id, weekly_threshold_minutes=1200))
        s.commit()
    # Monday, Tuesday and Wednesday (DAY): 450 labour + 30 travel = 480 paid each, no daily overtime.
    for back in (2, 1, 0):
        day = DAY - timedelta(days=back)
        _visit(sqlite_db, day, local(8, 0, day), 450, 30)
    assert compute_timesheet(sqlite_db, "T2", DAY - timedelta(days=1)).split.weekly == 0
    fig = compute_timesheet(sqlite_db, "T2", DAY)
    # 960 regular minutes before Wednesday leave 240 under the 1200 weekly threshold: 240 regular, 240 weekly.
    assert (fig.split.regular, fig.split.weekly, fig.split.daily) == (240, 240, 0)
    assert fig.split.breakdown(fig.rules)["weekly"] == {"minutes": 240, "multiplier": "1.5"}
