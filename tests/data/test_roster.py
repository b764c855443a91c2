"""One home for "when does a technician work": shifts, breaks and absences, read in bulk and agreed on by
the planner, the board, the console and the command line."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from data.availability import BREAK_EARLIEST, BREAK_LATEST, break_window, resolve_shift, shift_on
from data.db import Database
from data.models import AbsenceKind, JobType
from data.models.workforce import ShiftException, ShiftPattern, Technician
from data.planning import load_day
from data.queries.board import board_day, place_break
from data.queries.console import technician_board
from data.queries.roster import roster_on
from data.queries.technicians import list_technicians
from data.services.jobs import JobDraft, assign_job, create_job
from data.services.technicians import mark_absent
from tests.factories import DAY, DISPATCHER, TZ, build_world, local, statements_during


def add_technicians(db: Database, n: int) -> None:
    with db.write_session() as s:
        t1 = s.scalar(select(Technician).where(Technician.code == "T1"))
        assert t1 is not None
        for i in range(n):
            t = Technician(
                code=f"X{i:03d}",
                name=f"Extra {i}",
                branch_id=t1.branch_id,
                home_lat=60.2,
                home_lon=24.9,
                hourly_cost=Decimal("30"),
            )
            t.shifts = [ShiftPattern(weekday=d, start=time(7), end=time(15)) for d in range(5)]
            s.add(t)
        s.commit()


def test_the_shift_rule() -> None:
    pattern = (time(8), time(16), 45)
    shift = resolve_shift(DAY, TZ, pattern, None)
    assert shift is not None and shift.start == local(8) and shift.end == local(16) and shift.break_minutes == 45
    assert shift.capacity_minutes == 8 * 60 - 45
    assert resolve_shift(DAY, TZ, pattern, (None, None)) is None  # a dated day off
    moved = resolve_shift(DAY, TZ, pattern, (time(10), time(18)))
    assert moved is not None and moved.start == local(10) and moved.break_minutes == 30  # exceptions: default break
    night = resolve_shift(DAY, TZ, (time(22), time(6), 30), None)
    assert night is not None and night.end == local(6, day=DAY + timedelta(days=1))
    assert resolve_shift(DAY, TZ, None, None) is None


def test_the_break_rule_is_the_planners() -> None:
    assert break_window(local(8), local(13), 30) is None  # five hours: no break
    assert break_window(local(8), local(16), 0) is None
    assert break_window(local(8), local(16), 30) == (local(12) - BREAK_EARLIEST, local(12) + BREAK_LATEST)


def test_the_board_draws_no_break_on_a_day_the_planner_plans_none() -> None:
    assert place_break(local(8), local(13), 30, []) is None


def test_the_board_draws_the_break_inside_the_window_before_a_job_that_crowds_mid_day() -> None:
    brk = place_break(local(8), local(16), 30, [(local(11), local(13, 30))])
    assert brk is not None and brk.start == local(10, 30)  # not 13:30, after the planner's latest start


def test_board_and_planner_agree_on_shifts_and_breaks(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    with sqlite_db.write_session() as s:
        t2 = s.scalar(select(Technician).where(Technician.code == "T2"))
        assert t2 is not None
        s.add(ShiftException(technician_id=t2.id, day=DAY, start=time(9), end=time(14)))  # a five-hour day
        s.commit()
    mark_absent(sqlite_db, DISPATCHER, "T3", AbsenceKind.SICK, local(12), local(16))
    job = create_job(
        sqlite_db, DISPATCHER, JobDraft(type=JobType.REPAIR, site_code="S1", summary="x", duration_minutes=60)
    )
    assign_job(sqlite_db, DISPATCHER, job.ref, "T1", local(9))
    day = load_day(sqlite_db, DAY, "HEL")
    planned = {t.id: t for t in day.problem.technicians}
    board = {t.code: t for t in board_day(sqlite_db, "HEL", DAY).technicians}
    midnight = local(0)
    for code in ("T1", "T2", "T3"):
        rules = planned[code].breaks if code in planned else []
        drawn = board[code].breaks
        assert len(drawn) == len(rules), code
        for rule, brk in zip(rules, drawn, strict=True):
            start = int((brk.start - midnight).total_seconds())
            assert rule.earliest_start <= start <= rule.latest_start, code
    assert board["T2"].breaks == ()  # 09-14: too short for one
    assert board["T3"].shift_start == local(8) and board["T3"].breaks == ()  # sick from 12: 4 h left


def test_the_roster_reads_any_number_of_technicians_in_the_same_queries(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    with sqlite_db.read() as s:
        few = [t for t in s.scalars(select(Technician.id))]
    few_count = statements_during(sqlite_db, lambda: _roster(sqlite_db, few))
    add_technicians(sqlite_db, 40)
    with sqlite_db.read() as s:
        many = [t for t in s.scalars(select(Technician.id))]
    assert statements_during(sqlite_db, lambda: _roster(sqlite_db, many)) == few_count
    days = _roster(sqlite_db, many)
    assert all(days[t].shift is not None for t in many)


def _roster(db: Database, ids: list[int]) -> dict[int, Any]:
    with db.read() as s:
        return roster_on(s, ids, DAY, TZ)


def test_the_technician_list_does_not_query_per_technician(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    few = statements_during(sqlite_db, lambda: list_technicians(sqlite_db, DAY))
    add_technicians(sqlite_db, 40)
    rows: list[Any] = []
    many = statements_during(sqlite_db, lambda: rows.extend(list_technicians(sqlite_db, DAY)))
    assert len(rows) == 43 and many <= few + 2, (few, many)  # skills load in one more query, not 40
    extra = next(r for r in rows if r.code == "X000")
    assert extra.shift_start == local(7) and extra.jobs == 0


def test_one_shift_for_every_reader(sqlite_db: Database) -> None:
    world = build_world(sqlite_db)
    with sqlite_db.write_session() as s:
        t1 = s.scalar(select(Technician).where(Technician.code == "T1"))
        assert t1 is not None
        s.add(ShiftException(technician_id=t1.id, day=DAY, start=time(10), end=time(18)))
        s.commit()
    with sqlite_db.read() as s:
        t1 = s.scalar(select(Technician).where(Technician.code == "T1"))
        assert t1 is not None
        single = shift_on(s, t1, DAY)
    assert single is not None and single.start == local(10)
    listed = next(r for r in list_technicians(sqlite_db, DAY) if r.code == "T1")
    console = next(r for r in technician_board(sqlite_db, world.branch_id, DAY, local(11)) if r.code == "T1")
    board = next(t for t in board_day(sqlite_db, "HEL", DAY).technicians if t.code == "T1")
    assert listed.shift_start == board.shift_start == single.start
    assert console.shift is not None and console.shift.start == single.start
    assert console.capacity_minutes == 8 * 60 - 30
