"""Every legal transition is accepted and every illegal one refused, with a message naming both states."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from data.actor import Actor
from data.db import Database
from data.errors import IllegalTransition
from data.feed import tail
from data.models import TRANSITIONS, Job, JobStatus, JobType
from data.services.jobs import JobDraft, assign_job, change_status_in, create_job
from data.uow import UnitOfWork
from tests.factories import DISPATCHER, build_world, local

# A path of legal moves that reaches each status from NEW, with the job assigned where needed.
PATH_TO = {
    JobStatus.NEW: [],
    JobStatus.SCHEDULED: ["assign"],
    JobStatus.DISPATCHED: ["assign", JobStatus.DISPATCHED],
    JobStatus.EN_ROUTE: ["assign", JobStatus.DISPATCHED, JobStatus.EN_ROUTE],
    JobStatus.ON_SITE: ["assign", JobStatus.DISPATCHED, JobStatus.EN_ROUTE, JobStatus.ON_SITE],
    JobStatus.PAUSED: ["assign", JobStatus.DISPATCHED, JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.PAUSED],
    JobStatus.COMPLETED: ["assign", JobStatus.DISPATCHED, JobStatus.ON_SITE, JobStatus.COMPLETED],
    JobStatus.INCOMPLETE: ["assign", JobStatus.DISPATCHED, JobStatus.ON_SITE, JobStatus.INCOMPLETE],
    JobStatus.CANCELLED: [JobStatus.CANCELLED],
}


def _change(db: Database, actor: Actor, ref: str, status: JobStatus, **kw: Any) -> Job:
    """The state machine itself (completion reaches COMPLETED through it; `change_status` asks for the report)."""
    with UnitOfWork(db, actor) as uow:
        return change_status_in(uow, ref, status, **kw)


def _job_in(db: Database, status: JobStatus) -> str:
    job = create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Leaking valve", 60, skills={"hvac": 1}))
    for step in PATH_TO[status]:
        if step == "assign":
            assign_job(db, DISPATCHER, job.ref, "T1", local(9))
        else:
            assert isinstance(step, JobStatus)
            _change(db, DISPATCHER, job.ref, step)
    return job.ref


ALL_PAIRS = list(itertools.product(JobStatus, JobStatus))


@pytest.mark.parametrize(("start", "target"), ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_transition(sqlite_db: Database, start: JobStatus, target: JobStatus) -> None:
    build_world(sqlite_db)
    ref = _job_in(sqlite_db, start)
    before = len(tail(sqlite_db))
    if start is JobStatus.NEW and target is JobStatus.SCHEDULED:
        # Legal in the machine, but only assignment schedules a job: a bare status change is refused.
        with pytest.raises(IllegalTransition, match="has no technician: assign it first"):
            _change(sqlite_db, DISPATCHER, ref, target)
    elif target in TRANSITIONS[start]:
        job = _change(sqlite_db, DISPATCHER, ref, target)
        assert job.status is target
        assert tail(sqlite_db)[before].type == "job.status_changed"
    else:
        with pytest.raises(IllegalTransition, match=f"from {start.value} to {target.value}"):
            _change(sqlite_db, DISPATCHER, ref, target)
        assert len(tail(sqlite_db)) == before
        with sqlite_db.read() as s:
            job_row = s.query(Job).filter_by(ref=ref).one()
            assert job_row.status is start


def test_final_states_have_no_exit() -> None:
    for final in (JobStatus.COMPLETED, JobStatus.INCOMPLETE, JobStatus.CANCELLED):
        assert TRANSITIONS[final] == frozenset()


def test_on_site_records_arrival_and_completion_records_end(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = _job_in(sqlite_db, JobStatus.EN_ROUTE)
    job = _change(sqlite_db, DISPATCHER, ref, JobStatus.ON_SITE, at=local(9, 20))
    assert job.arrived_at == local(9, 20) and job.actual_start == local(9, 20)
    job = _change(sqlite_db, DISPATCHER, ref, JobStatus.COMPLETED, at=local(10, 5))
    assert job.actual_end == local(10, 5)
