"""Opening a job reads what that job needs: never the branch's whole roster of technicians."""

from __future__ import annotations

from data.db import Database
from data.models import JobType
from data.queries.console import job_detail
from data.services.jobs import JobDraft, assign_job, create_job, set_crew_size
from tests.data.test_planning_round_trips import statements
from tests.factories import DISPATCHER, build_world, local


def test_a_job_detail_reads_only_the_technicians_it_names(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    draft = JobDraft(JobType.REPAIR, "S1", "Two-person lift", 60, skills={"hvac": 1})
    ref = create_job(sqlite_db, DISPATCHER, draft).ref
    assign_job(sqlite_db, DISPATCHER, ref, "T1", local(9))
    set_crew_size(sqlite_db, DISPATCHER, ref, 2)
    with statements(sqlite_db) as seen:
        detail = job_detail(sqlite_db, ref, local(8))
    assert detail.links[0] == "crew of 2: T1, -"
    roster = [q for q in seen if "FROM technicians" in q and "WHERE" not in q.split("FROM technicians", 1)[1]]
    assert not roster, roster
