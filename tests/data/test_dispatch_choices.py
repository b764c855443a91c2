"""What the console offers a dispatcher is true: free slots keep windows, absent people are not offered,
suggestions name each technician once with what the place costs."""

from __future__ import annotations

import pytest

from data.db import Database
from data.errors import OutsideWindow
from data.models import JobType
from data.models.workforce import AbsenceKind
from data.planning import suggest_for_job
from data.queries.console import branch_info, technician_board, technician_choices
from data.services.jobs import JobDraft, assign_job, create_job
from data.services.technicians import mark_absent
from tests.factories import ADMIN, DAY, DISPATCHER, build_world, local


def _job(db: Database, ref: str, skill: str, minutes: int, **kw: object) -> str:
    draft = JobDraft(JobType.REPAIR, "S1", f"Job {ref}", minutes, skills={skill: 1}, ref=ref, created_at=local(7), **kw)  # type: ignore[arg-type]
    return create_job(db, DISPATCHER, draft).ref


def test_the_next_free_slot_is_refused_when_it_would_miss_the_window(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _job(sqlite_db, "J-BUSY", "plumbing", 90)
    assign_job(sqlite_db, DISPATCHER, "J-BUSY", "T2", local(10))  # T2 is busy until 11:30
    _job(sqlite_db, "J-WIN", "plumbing", 60, window_start=local(9), window_end=local(12))
    with pytest.raises(OutsideWindow, match=r"next free slot is 2026-11-25 11:30-12:30, after job J-WIN's window"):
        assign_job(sqlite_db, DISPATCHER, "J-WIN", "T2", not_before=local(10, 30))
    fits = assign_job(sqlite_db, DISPATCHER, "J-WIN", "T2", local(9), not_before=local(10, 30))  # a time by hand
    assert fits.job.planned_start == local(9)


def test_the_next_free_slot_inside_the_window_is_kept(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _job(sqlite_db, "J-WIN", "plumbing", 60, window_start=local(13), window_end=local(15))
    result = assign_job(sqlite_db, DISPATCHER, "J-WIN", "T2", not_before=local(10, 30))
    assert result.job.planned_start == local(13)


def test_an_absent_technician_is_not_offered_as_qualified(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _job(sqlite_db, "J-H", "hvac", 30)
    mark_absent(sqlite_db, ADMIN, "T1", AbsenceKind.SICK, local(10), local(18))
    branch = branch_info(sqlite_db, "HEL")
    choices = {c.code: c for c in technician_choices(sqlite_db, branch.id, "J-H", local(10, 30))}
    assert choices["T1"].unavailable == "sick until 18:00" and not choices["T1"].qualified
    assert choices["T3"].qualified
    assert technician_choices(sqlite_db, branch.id, "J-H", local(10, 30))[0].code == "T3"


def test_an_absent_technician_shows_no_lateness_and_no_current_or_next_job(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _job(sqlite_db, "J-P", "plumbing", 45)
    assign_job(sqlite_db, DISPATCHER, "J-P", "T2", local(9))  # overdue at 10:30: late if T2 were working
    mark_absent(sqlite_db, ADMIN, "T2", AbsenceKind.SICK, local(10), local(18))
    branch = branch_info(sqlite_db, "HEL")
    [row] = [r for r in technician_board(sqlite_db, branch.id, DAY, local(10, 30)) if r.code == "T2"]
    assert row.absent and row.late_minutes is None and row.current_job is None and row.next_job is None


def test_suggestions_name_each_technician_once(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    for i in range(3):
        ref = _job(sqlite_db, f"J-{i}", "hvac", 45, window_start=local(8), window_end=local(16))
        assign_job(sqlite_db, DISPATCHER, ref, "T1" if i < 2 else "T3", local(9 + 2 * i))
    _job(sqlite_db, "J-NEW", "hvac", 30, window_start=local(8), window_end=local(16))
    options = suggest_for_job(sqlite_db, "J-NEW", DAY, now=local(7))
    codes = [o.technician for o in options]
    assert len(codes) == len(set(codes)) and set(codes) == {"T1", "T3"}
    assert {o.technician_name for o in options} == {"Tech T1", "Tech T3"}
