"""Read models the CLI and scripts use, checked against a small demo company."""

from __future__ import annotations

from datetime import date

import pytest

from data.db import Database
from data.demo import build_demo
from data.errors import InvalidInput, NotFound
from data.models import JobStatus
from data.queries.jobs import job_detail, list_jobs, parse_statuses
from data.queries.technicians import list_technicians, technician_detail

DAY = date(2026, 11, 25)


@pytest.fixture
def demo(sqlite_db: Database) -> Database:
    build_demo(sqlite_db, seed=4, technicians=12, customers=50, jobs_today=60, history_days=3, today=DAY)
    return sqlite_db


def test_list_jobs_is_the_days_work_with_filters(demo: Database) -> None:
    rows = list_jobs(demo, DAY)
    assert len(rows) == 60  # history days are not today's jobs
    by_branch = [list_jobs(demo, DAY, branch=b) for b in ("HEL-C", "ESP")]
    assert sum(len(r) for r in by_branch) == 60 and all(by_branch)
    open_rows = list_jobs(demo, DAY, unassigned=True)
    assert open_rows and all(r.technician is None and r.status == "new" for r in open_rows)
    assert len(list_jobs(demo, DAY, statuses=[JobStatus.NEW])) == len(open_rows)
    tech = next(r.technician for r in rows if r.technician)
    mine = list_jobs(demo, DAY, technician=tech)
    assert mine and all(r.technician == tech for r in mine)
    starts = [r.planned_start for r in mine]
    assert starts == sorted(s for s in starts if s is not None)
    yesterday = list_jobs(demo, date(2026, 11, 24))
    assert yesterday and {r.status for r in yesterday} <= {"completed", "incomplete", "new"}
    with pytest.raises(NotFound):
        list_jobs(demo, DAY, branch="NOPE")
    with pytest.raises(InvalidInput, match="'done' is not a job status"):
        parse_statuses(["new,done"])


def test_job_detail_and_technician_views(demo: Database) -> None:
    row = next(r for r in list_jobs(demo, DAY) if r.technician)
    detail = job_detail(demo, row.ref)
    assert detail.job.ref == row.ref and detail.site_code == row.site and detail.events == []
    techs = list_technicians(demo, DAY)
    assert len(techs) == 12 and {t.branch for t in techs} == {"HEL-C", "ESP"}
    assert [t.code for t in list_technicians(demo, DAY, "ESP")] == [t.code for t in techs if t.branch == "ESP"]
    view = technician_detail(demo, row.technician or "", DAY)
    assert [j["ref"] for j in view.jobs] == [r.ref for r in list_jobs(demo, DAY, technician=row.technician)]
    assert view.van == f"VAN-{row.technician}" and view.van_stock
    assert view.technician.shift_start is not None and view.weekly_shifts
    with pytest.raises(NotFound):
        technician_detail(demo, "T999", DAY)
