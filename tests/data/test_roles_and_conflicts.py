"""Roles are enforced by services; concurrent writers get a conflict naming who won; failures leave nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from data.actor import Actor
from data.db import Database
from data.errors import PermissionDenied, ShiftConflict, StaleJob, TechnicianAbsent
from data.feed import tail
from data.models import AbsenceKind, Job, JobType, Role
from data.services.jobs import JobDraft, add_note, assign_job, create_job, unassign_job
from data.services.stock import move_stock
from data.services.technicians import mark_absent
from data.uow import UnitOfWork
from tests.factories import DAY, DISPATCHER, SUPERVISOR, build_world, local


def _job(db: Database) -> str:
    return create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "No heat", 90, skills={"hvac": 1})).ref


def test_supervisor_cannot_write_anything(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = _job(sqlite_db)
    before = len(tail(sqlite_db))
    with pytest.raises(PermissionDenied, match="sam is a supervisor: read-only"):
        create_job(sqlite_db, SUPERVISOR, JobDraft(JobType.REPAIR, "S1", "x", 30))
    with pytest.raises(PermissionDenied):
        assign_job(sqlite_db, SUPERVISOR, ref, "T1", local(9))
    with pytest.raises(PermissionDenied):
        add_note(sqlite_db, SUPERVISOR, ref, "hello")
    with pytest.raises(PermissionDenied):
        mark_absent(sqlite_db, SUPERVISOR, "T1", AbsenceKind.SICK, local(9), local(12))
    with pytest.raises(PermissionDenied):
        move_stock(sqlite_db, SUPERVISOR, "FLT-01", 1, from_location="WH-HEL", to_location="VAN-T1", reason="x")
    assert len(tail(sqlite_db)) == before


def test_technician_acts_only_on_own_jobs(sqlite_db: Database) -> None:
    world = build_world(sqlite_db)
    ref = _job(sqlite_db)
    assign_job(sqlite_db, DISPATCHER, ref, "T1", local(9))
    other = Actor("t3", Role.TECHNICIAN, "api", technician_id=world.technician_ids["T3"])
    with pytest.raises(PermissionDenied):
        add_note(sqlite_db, other, ref, "not mine")
    own = Actor("t1", Role.TECHNICIAN, "api", technician_id=world.technician_ids["T1"])
    assert add_note(sqlite_db, own, ref, "gate code 1234").author == "t1"


def test_second_writer_gets_conflict_naming_first(db: Database) -> None:
    """Two real sessions read the same version; the slower one is refused, never a silent overwrite."""
    build_world(db)
    ref = _job(db)
    other = Actor("dario", Role.DISPATCHER, "console")
    version = assign_job(db, DISPATCHER, ref, "T1", local(9)).job.version
    # dario read `version`, then dana moves the job first.
    assign_job(db, DISPATCHER, ref, "T3", local(10), expected_version=version)
    with pytest.raises(StaleJob, match=r"changed by dana at \d{4}-\d\d-\d\d"):
        assign_job(db, other, ref, "T1", local(11), expected_version=version)


def test_concurrent_flush_is_detected_by_version_column(pg_db: Database) -> None:
    """Without an expected version, the ORM's version check still catches the race between two sessions.

    PostgreSQL only: SQLite writers take the write lock up front, so there the second simply queues.
    """
    db = pg_db
    build_world(db)
    ref = _job(db)
    assign_job(db, DISPATCHER, ref, "T1", local(9))
    slow = UnitOfWork(db, Actor("dario", Role.DISPATCHER, "console")).__enter__()
    job = slow.session.scalar(select(Job).where(Job.ref == ref))
    assert job is not None
    slow.job_for_update(job.id)
    unassign_job(db, DISPATCHER, ref)  # dana wins the race
    job.summary = "dario's edit"
    slow.touch(job)
    with pytest.raises(StaleJob, match="changed by dana"):
        slow.__exit__(None, None, None)


def test_failed_service_leaves_no_change_and_no_event(db: Database) -> None:
    build_world(db)
    ref = _job(db)
    before_events = len(tail(db))
    with pytest.raises(RuntimeError), UnitOfWork(db, DISPATCHER) as uow:
        job = uow.session.scalar(select(Job).where(Job.ref == ref))
        assert job is not None
        job.summary = "half-written"
        uow.emit("job.updated", "job", job.id, {"ref": ref})
        uow.session.flush()
        raise RuntimeError("crash mid-way")
    assert len(tail(db)) == before_events
    with db.read() as s:
        assert s.scalar(select(Job.summary).where(Job.ref == ref)) == "No heat"


def test_refusals_name_the_reason(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = _job(sqlite_db)
    with pytest.raises(ShiftConflict, match="works 08:00-16:00"):
        assign_job(sqlite_db, DISPATCHER, ref, "T1", local(6))
    mark_absent(sqlite_db, DISPATCHER, "T3", AbsenceKind.LEAVE, local(8), local(16))
    with pytest.raises(TechnicianAbsent, match="on leave"):
        assign_job(sqlite_db, DISPATCHER, ref, "T3", local(9))
    # Overtime within the allowance is a warning, not a refusal; past it, a refusal.
    result = assign_job(sqlite_db, DISPATCHER, ref, "T1", local(15))
    assert any("overtime" in w for w in result.warnings)
    with pytest.raises(ShiftConflict):
        assign_job(sqlite_db, DISPATCHER, ref, "T1", local(15, 45), reassign=True)


def test_overlap_is_a_warning(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    a, b = _job(sqlite_db), _job(sqlite_db)
    assign_job(sqlite_db, DISPATCHER, a, "T1", local(9))
    result = assign_job(sqlite_db, DISPATCHER, b, "T1", local(9) + timedelta(minutes=30))
    assert result.job.ref == b and result.job.planned_start == local(9) + timedelta(minutes=30)
    assert [w for w in result.warnings if a in w] == [f"overlaps {a} on T1"]


def test_default_start_is_next_free_slot(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    a, b = _job(sqlite_db), _job(sqlite_db)
    first = assign_job(sqlite_db, DISPATCHER, a, "T1", local(9))
    second = assign_job(sqlite_db, DISPATCHER, b, "T1", not_before=local(7))
    assert second.job.planned_start == first.job.planned_end == local(10, 30)
    # Late in the day the next free slot rolls on to the next rostered day.
    third = assign_job(sqlite_db, DISPATCHER, _job(sqlite_db), "T1", not_before=local(15, 30))
    assert third.job.planned_start == local(8, 0, DAY.replace(day=26))
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 3
