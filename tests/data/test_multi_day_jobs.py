"""Multi-day jobs: planning visit 1 pins visit 2 to the same technician on the next day (single-day planner)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from data.db import Database
from data.errors import InvalidInput
from data.models import Job, JobType
from data.planning import apply_plan, load_day, schedule_day
from data.queries.console import job_detail
from data.services.jobs import JobDraft, assign_job, create_job, split_into_visits, unassign_job
from dispatch_tui.cli.main import app
from tests.factories import DAY, DISPATCHER, build_world, local

THURSDAY = DAY + timedelta(days=1)


def _visit(db: Database, ref: str) -> Job:
    with db.read() as s:
        job = s.scalar(select(Job).where(Job.ref == ref))
        assert job is not None
        return job


def test_day_one_planned_pins_day_two_to_the_same_technician(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    job = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.INSTALL, "S2", "Boiler room", 240, skills={"plumbing": 1}))
    runner = CliRunner()
    result = runner.invoke(app, ["--db", sqlite_db.url, "--as", "dana", "jobs", "visits", job.ref, "--days", "2"])
    assert result.exit_code == 0, result.output
    second = f"{job.ref}-2"
    assert f"visits {job.ref}, {second}" in result.stdout
    today = load_day(sqlite_db, DAY, "HEL")
    assert [j.id for j in today.problem.jobs] == [job.ref]  # day 2 is not planned on its own
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    assert plan.assignment()[job.ref][0] == "T2"
    apply_plan(sqlite_db, DISPATCHER, planning, plan)
    day2 = _visit(sqlite_db, second)
    assert day2.technician_id == _visit(sqlite_db, job.ref).technician_id and day2.pinned
    assert day2.planned_start == local(8, day=THURSDAY)  # T2's shift start the next day
    links = job_detail(sqlite_db, second, local(7)).links
    assert links == (f"day 2 of 2: {job.ref} T2 2026-11-25; {second} T2 2026-11-26",)
    tomorrow = load_day(sqlite_db, THURSDAY, "HEL")
    pinned = tomorrow.problem.job(second)
    assert pinned.pinned_technician == "T2" and pinned.pinned_start == tomorrow.offset(local(8, day=THURSDAY))
    # Moving day 1 by hand carries day 2 along; taking it off frees day 2.
    assign_job(sqlite_db, DISPATCHER, job.ref, "T2", local(10), force=True, reassign=True)
    assert _visit(sqlite_db, second).planned_start == local(8, day=THURSDAY)
    unassign_job(sqlite_db, DISPATCHER, job.ref)
    assert _visit(sqlite_db, second).technician_id is None
    with pytest.raises(InvalidInput, match="already part of a multi-day job"):
        split_into_visits(sqlite_db, DISPATCHER, job.ref, 3)


def test_no_shift_on_the_next_day_is_a_warning(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    friday = DAY + timedelta(days=2)
    job = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.INSTALL, "S2", "Pipes", 120, skills={"plumbing": 1}))
    split_into_visits(sqlite_db, DISPATCHER, job.ref, 2)
    result = assign_job(sqlite_db, DISPATCHER, job.ref, "T2", local(9, day=friday))
    assert any("does not work on" in w for w in result.warnings)
    assert _visit(sqlite_db, f"{job.ref}-2").technician_id is None
