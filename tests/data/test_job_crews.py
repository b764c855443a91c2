"""Crews: a job set to need two technicians is planned as one visit by two, starting together, and stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from data.db import Database
from data.errors import InvalidInput
from data.models import Branch, JobCrewMember, JobType
from data.planning import apply_plan, load_day, schedule_day
from data.queries.board import board_day
from data.queries.console import job_detail
from data.queries.free import free_technicians
from data.services.jobs import JobDraft, create_job, set_crew_size, split_crew_skills
from dispatch_tui.cli.main import app
from optimizer.validate import validate
from tests.factories import DAY, DISPATCHER, build_world


def test_skills_are_shared_between_seats() -> None:
    assert split_crew_skills({"hvac": 2, "electrical": 1, "gas": 1}, 2) == [{"electrical": 1, "hvac": 2}, {"gas": 1}]
    assert split_crew_skills({"hvac": 2}, 3) == [{"hvac": 2}, {}, {}]


def test_a_crew_of_two_is_planned_together_and_stored(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    job = create_job(
        sqlite_db,
        DISPATCHER,
        JobDraft(JobType.INSTALL, "S1", "Heat pump install", 120, skills={"electrical": 1, "plumbing": 1}),
    )
    runner = CliRunner()
    result = runner.invoke(app, ["--db", sqlite_db.url, "--as", "dana", "jobs", "crew", job.ref, "--size", "2"])
    assert result.exit_code == 0 and "needs a crew of 2" in result.stdout, result.output
    planning = load_day(sqlite_db, DAY, "HEL")
    assert {j.id: j.required_skills for j in planning.problem.jobs} == {
        job.ref: {"electrical": 1},
        f"{job.ref}#2": {"plumbing": 1},
    }
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=2)
    assert validate(planning.problem, plan).ok
    placed = plan.assignment()
    assert placed[job.ref][0] == "T1" and placed[f"{job.ref}#2"][0] == "T2"
    assert placed[job.ref][1].start == placed[f"{job.ref}#2"][1].start
    applied = apply_plan(sqlite_db, DISPATCHER, planning, plan)
    assert applied.assigned == [job.ref] and not applied.skipped
    with sqlite_db.read() as s:
        seats = [(m.seat, m.technician_id) for m in s.scalars(select(JobCrewMember))]
    assert len(seats) == 1 and seats[0][0] == 2
    again = load_day(sqlite_db, DAY, "HEL")
    assert validate(again.problem, again.current).ok  # the stored day holds both seats, together
    assert set(again.current.assignment()) == {job.ref, f"{job.ref}#2"}
    start = placed[job.ref][1].start
    busy = {r.code: r for r in free_technicians(sqlite_db, again.at(start + 60))}
    assert not busy["T2"].free_now and busy["T2"].busy_with == job.ref  # the crew member is busy too
    board = board_day(sqlite_db, "HEL", DAY)
    lanes = {t.code: [j.ref for j in t.jobs] for t in board.technicians}
    assert lanes["T1"] == [job.ref] and lanes["T2"] == [job.ref]  # the board draws the crew on both lanes
    assert "crew of 2: T1, T2" in job_detail(sqlite_db, job.ref, again.at(0)).links
    with pytest.raises(InvalidInput, match="1-6"):
        set_crew_size(sqlite_db, DISPATCHER, job.ref, 9)
    set_crew_size(sqlite_db, DISPATCHER, job.ref, 1)
    with sqlite_db.read() as s:
        assert s.scalars(select(JobCrewMember)).all() == []


def _branch_id(db: Database) -> int:
    with db.read() as s:
        return s.scalars(select(Branch.id)).one()
