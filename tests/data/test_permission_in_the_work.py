"""The permission check lives in the function that does the work, so a caller of the unit-of-work variant
cannot forget it (the unit of work carries the actor)."""

from __future__ import annotations

import pytest

from data.db import Database
from data.errors import PermissionDenied
from data.models import JobType
from data.services.jobs import JobDraft, assign_job, create_job, create_job_in, unassign_in
from data.uow import UnitOfWork
from tests.factories import DISPATCHER, SUPERVISOR, build_world, local


def test_creating_a_job_inside_a_unit_of_work_checks_the_actor(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    draft = JobDraft(type=JobType.REPAIR, site_code="S1", summary="Leak", duration_minutes=30)
    with pytest.raises(PermissionDenied, match="create jobs"), UnitOfWork(sqlite_db, SUPERVISOR) as uow:
        create_job_in(uow, draft)


def test_unassigning_inside_a_unit_of_work_checks_the_actor(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    job = create_job(
        sqlite_db, DISPATCHER, JobDraft(type=JobType.REPAIR, site_code="S1", summary="Leak", duration_minutes=30)
    )
    assign_job(sqlite_db, DISPATCHER, job.ref, "T1", local(9))
    with pytest.raises(PermissionDenied, match=f"unassign job {job.ref}"), UnitOfWork(sqlite_db, SUPERVISOR) as uow:
        unassign_in(uow, job.ref)
