"""First end-to-end checks of the service layer on both engines."""

from __future__ import annotations

import pytest

from data.db import Database
from data.errors import SkillMismatch
from data.feed import tail
from data.models import JobType
from data.services.jobs import JobDraft, assign_job, create_job
from tests.factories import DISPATCHER, build_world, local


def test_create_and_assign_logs_events(db: Database) -> None:
    build_world(db)
    job = create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Heat pump noisy", 60, skills={"hvac": 2}))
    assert job.ref.startswith("J") and job.sla_due is not None
    result = assign_job(db, DISPATCHER, job.ref, "T1", local(9))
    assert result.job.technician_id is not None
    with pytest.raises(SkillMismatch, match="lacks skill 'hvac'"):
        assign_job(db, DISPATCHER, job.ref, "T2", local(9), reassign=True)
    assert [e.type for e in tail(db)] == ["job.created", "job.assigned"]
