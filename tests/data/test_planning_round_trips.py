"""A branch's day loads in a few queries whatever its size, and a suggestion looks only at who could take
the job, with the same answer as on the whole day."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from decimal import Decimal

from sqlalchemy import event, select

from data.db import Database
from data.models import AbsenceKind, JobType
from data.models.org import Branch
from data.models.workforce import ShiftException, ShiftPattern, Skill, Technician, TechnicianSkill
from data.planning import apply_plan, live_problem, load_day, schedule_day, suggest_for_job, suggestion_day
from data.services.jobs import JobDraft, assign_job, create_job
from data.services.technicians import mark_absent
from optimizer.suggest import suggest
from tests.factories import DAY, DISPATCHER, build_world, local


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _hire(db: Database, n: int, first: int = 0) -> None:
    """`n` more hvac technicians on the same weekly shifts, each with a dated exception and an absence."""
    with db.write_session() as s:
        branch = s.scalar(select(Branch).where(Branch.code == "HEL"))
        hvac = s.scalar(select(Skill).where(Skill.code == "hvac"))
        assert branch is not None and hvac is not None
        for i in range(first, first + n):
            t = Technician(
                code=f"X{i:02d}",
                name=f"Extra {i}",
                branch_id=branch.id,
                home_lat=60.15 + i * 0.001,
                home_lon=24.9,
                hourly_cost=Decimal("38.50"),
            )
            t.skills = [TechnicianSkill(skill=hvac, level=2)]
            t.shifts = [ShiftPattern(weekday=d, start=time(8), end=time(16)) for d in range(5)]
            s.add(t)
            s.flush()
            s.add(ShiftException(technician_id=t.id, day=DAY, start=time(9), end=time(15)))
        s.commit()
    for i in range(first, first + n):
        mark_absent(db, DISPATCHER, f"X{i:02d}", AbsenceKind.SICK, local(13), local(14))


def test_a_day_loads_in_the_same_queries_for_3_or_13_technicians(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _hire(sqlite_db, 1)
    with statements(sqlite_db) as small:
        load_day(sqlite_db, DAY, "HEL", local(7))
    _hire(sqlite_db, 2, first=1)
    _add(sqlite_db, 8)
    with statements(sqlite_db) as large:
        day = load_day(sqlite_db, DAY, "HEL", local(7))
    assert len(day.problem.technicians) == 14
    assert len(large) == len(small)


def _add(db: Database, n: int) -> None:
    with db.write_session() as s:
        branch = s.scalar(select(Branch).where(Branch.code == "HEL"))
        hvac = s.scalar(select(Skill).where(Skill.code == "hvac"))
        assert branch is not None and hvac is not None
        for i in range(n):
            t = Technician(
                code=f"Y{i:02d}",
                name=f"More {i}",
                branch_id=branch.id,
                home_lat=60.14,
                home_lon=24.9 + i * 0.001,
                hourly_cost=Decimal("38.50"),
            )
            t.skills = [TechnicianSkill(skill=hvac, level=1)]
            t.shifts = [ShiftPattern(weekday=d, start=time(8), end=time(16)) for d in range(5)]
            s.add(t)
        s.commit()


def test_an_exception_and_an_absence_still_shape_the_day(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _hire(sqlite_db, 1)
    day = load_day(sqlite_db, DAY, "HEL", None)
    extra = next(t for t in day.problem.technicians if t.id == "X00")
    assert (extra.shift_start, extra.shift_end) == (day.offset(local(9)), day.offset(local(13)))
    assert [(a.start, a.end) for a in extra.absences] == [(day.offset(local(13)), day.offset(local(14)))]


def test_a_suggestion_on_the_part_of_the_day_it_can_touch_matches_the_whole_day(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _add(sqlite_db, 4)
    for i in range(6):
        draft = JobDraft(JobType.REPAIR, f"S{i % 3 + 1}", f"Job {i}", 45, skills={"hvac": 1})
        create_job(sqlite_db, DISPATCHER, draft)
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", now=local(7), time_limit=1)
    apply_plan(sqlite_db, DISPATCHER, planning, plan)
    ref = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "New", 30, skills={"hvac": 1})).ref
    day = load_day(sqlite_db, DAY, "HEL", local(7))
    problem, part = suggestion_day(day, ref)
    assert "T2" not in {t.id for t in problem.technicians}  # a plumber cannot take an hvac job
    whole = suggest(live_problem(day, ref), day.current, ref, 5, one_per_technician=True)
    assert suggest(problem, part, ref, 5, one_per_technician=True) == whole
    assert [s.technician for s in suggest_for_job(sqlite_db, ref, DAY, now=local(7))] == [
        w.technician_id for w in whole
    ]


def test_softening_windows_for_a_suggestion_leaves_the_day_and_its_travel_alone(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    draft = JobDraft(JobType.REPAIR, "S1", "Told", 45, skills={"hvac": 1}, window_start=local(9), window_end=local(11))
    told = create_job(sqlite_db, DISPATCHER, draft).ref
    assign_job(sqlite_db, DISPATCHER, told, "T1", local(9))
    queued = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Queued", 30, skills={"hvac": 1})).ref
    day = load_day(sqlite_db, DAY, "HEL", local(7))
    soft = live_problem(day, queued)
    original = next(j for j in day.problem.jobs if j.id == told)
    assert original.time_windows and not next(j for j in soft.jobs if j.id == told).time_windows
    # What does not soften is shared, never copied (a deep copy took seconds on 500 technicians).
    assert next(j for j in soft.jobs if j.id == queued) is next(j for j in day.problem.jobs if j.id == queued)
    assert soft.technicians[0] is day.problem.technicians[0]
