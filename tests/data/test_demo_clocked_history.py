"""The demo's history days are clocked like the live day: a past day's timesheet pays the clocked shift."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from data.db import Database
from data.demo import build_demo
from data.models import Technician
from data.models.events import Event
from data.models.field import Timesheet
from data.services.attendance import EVENT_TYPES, AttendanceState, ClockAct, attendance
from data.services.timesheets import compute_timesheet
from tests.data.test_demo_company import DAY, SMALL


def test_a_past_demo_day_pays_the_clocked_shift_not_the_report_minutes(sqlite_db: Database) -> None:
    build_demo(sqlite_db, seed=3, **SMALL)
    with sqlite_db.read() as s:
        sheets = list(s.scalars(select(Timesheet).where(Timesheet.day < DAY)))
        codes: dict[int, str] = {i: c for i, c in s.execute(select(Technician.id, Technician.code))}
        clock_ins = s.scalar(
            select(func.count()).select_from(Event).where(Event.type == EVENT_TYPES[ClockAct.CLOCK_IN])
        )
        breaks = s.scalar(
            select(func.count()).select_from(Event).where(Event.type == EVENT_TYPES[ClockAct.BREAK_START])
        )
    assert sheets and clock_ins == len(sheets) and breaks
    for sheet in sheets:
        code = codes[sheet.technician_id]
        figures = compute_timesheet(sqlite_db, code, sheet.day, now=sheet.closed_at)
        assert figures.clock_in is not None and figures.clock_out is not None, (code, sheet.day)
        clocked = int((figures.clock_out - figures.clock_in).total_seconds() // 60)
        # The paid day is the clocked span less the break, within a minute of rounding.
        assert abs(figures.paid_minutes - (clocked - figures.break_minutes)) <= 1, (code, sheet.day)
        # A demo day is 3-5 visits from shift start: hours, not the reports' labour minutes.
        assert figures.paid_minutes >= 120, (code, sheet.day, figures.paid_minutes)
        assert figures.on_site_minutes > 0 and figures.travel_minutes > 0
        # The stored (closed) sheet says what the timesheet service computes from the same log.
        assert (sheet.worked_minutes, sheet.travel_minutes, sheet.break_minutes) == (
            figures.worked_minutes,
            figures.travel_minutes,
            figures.break_minutes,
        ), (code, sheet.day)
        assert sheet.clock_in == figures.clock_in and sheet.clock_out == figures.clock_out
    lunch = [s for s in sheets if s.break_minutes]
    assert lunch and all(s.break_minutes == 30 for s in lunch)
    # Nobody is left clocked in from the history: the live day starts from "off".
    for code in codes.values():
        assert attendance(sqlite_db, code).state is AttendanceState.OFF
    assert all(s.clock_out is not None and s.clock_out - s.clock_in < timedelta(hours=12) for s in sheets)
