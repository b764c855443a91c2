"""The console's search: one query over a branch's jobs (by ref, customer, site, address) and technicians."""

from __future__ import annotations

from data.db import Database
from data.models.jobs import JobType
from data.queries.search import search
from data.services.jobs import JobDraft, create_job
from tests.factories import DISPATCHER, build_world, local


def test_search_finds_jobs_by_ref_customer_and_address_and_technicians_by_code_and_name(db: Database) -> None:
    world = build_world(db)
    draft = JobDraft(JobType.REPAIR, "S2", "Leaking tap", 45, ref="J-PLUMB", created_at=local(7))
    create_job(db, DISPATCHER, draft)
    create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Noisy fan", 60, ref="J-FAN", created_at=local(8)))
    branch = world.branch_id
    assert [(h.kind, h.key) for h in search(db, branch, "j-plumb")] == [("job", "J-PLUMB")]
    assert {h.key for h in search(db, branch, "kallio bakery")} == {"J-PLUMB", "J-FAN"}  # the customer's jobs
    hit = search(db, branch, "fleminginkatu 2")[0]
    assert (hit.key, hit.title) == ("J-PLUMB", "Leaking tap")
    assert "Fleminginkatu 2" in hit.detail
    assert [(h.kind, h.key) for h in search(db, branch, "tech t1")] == [("technician", "T1")]
    assert search(db, branch, "t2")[0].key == "T2"  # an exact code first
    assert search(db, branch, "100%") == []  # typed wildcards are text
    assert len(search(db, branch, "e", limit=2)) == 2
    assert search(db, branch, "  ") == []
