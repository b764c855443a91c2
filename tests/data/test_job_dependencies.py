"""A job that must wait for another: set from the CLI, planned after it (both or neither), refused loops."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from data.db import Database
from data.errors import InvalidInput
from data.models import JobType
from data.planning import load_day, schedule_day
from data.queries.console import job_detail
from data.services.jobs import JobDraft, create_job, set_dependency
from dispatch_tui.cli.main import app
from optimizer.model import Dependency
from optimizer.validate import validate
from tests.factories import DAY, DISPATCHER, build_world, local


def _jobs(db: Database) -> tuple[str, str]:
    a = create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Strip out", 60, skills={"plumbing": 1}))
    b = create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Refit", 60, skills={"hvac": 1}))
    return a.ref, b.ref


def test_cli_sets_a_dependency_and_the_plan_keeps_it(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    a, b = _jobs(sqlite_db)
    runner = CliRunner()
    base = ["--db", sqlite_db.url, "--as", "dana", "jobs", "depend"]
    result = runner.invoke(app, [*base, b, "--after", a, "--gap", "90"])
    assert result.exit_code == 0, result.output
    assert f"starts at least 90 min after {a} ends" in result.stdout
    planning = load_day(sqlite_db, DAY, "HEL")
    assert planning.problem.job(b).after == [Dependency(a, 90 * 60)]
    planning, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=2)
    assert validate(planning.problem, plan).ok
    placed = plan.assignment()
    assert b in placed, (plan.unassigned, planning.problem.jobs)
    assert placed[b][1].start >= placed[a][1].end + 90 * 60
    assert placed[a][0] == "T2" and placed[b][0] in ("T1", "T3")  # another technician
    assert job_detail(sqlite_db, b, local(7)).links == (f"after {a} ends + 90 min (new)",)
    assert job_detail(sqlite_db, a, local(7)).links == (f"{b} wait(s) for it",)
    shown = runner.invoke(app, ["--db", sqlite_db.url, "jobs", "show", b])
    assert f"linked    after {a} ends + 90 min (new)" in shown.stdout
    loop = runner.invoke(app, [*base, a, "--after", b])
    assert loop.exit_code == 2 and "loop" in loop.stderr
    neither = runner.invoke(app, [*base, a])
    assert neither.exit_code == 2 and "--after" in neither.stderr
    cleared = runner.invoke(app, [*base, b, "--clear"])
    assert cleared.exit_code == 0 and load_day(sqlite_db, DAY, "HEL").problem.job(b).after == []


def test_a_done_or_unplanned_predecessor_sets_the_earliest_start(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    a, b = _jobs(sqlite_db)
    set_dependency(sqlite_db, DISPATCHER, b, a, 30)
    with pytest.raises(InvalidInput, match="0 or more"):
        set_dependency(sqlite_db, DISPATCHER, b, a, -5)
    # A planned tomorrow: B cannot be done today.
    from data.services.jobs import assign_job

    assign_job(sqlite_db, DISPATCHER, a, "T2", local(9, day=DAY + timedelta(days=1)))
    today = load_day(sqlite_db, DAY, "HEL")
    assert all(j.id != a for j in today.problem.jobs)
    assert (today.problem.job(b).earliest_start or 0) >= 86_400
    _, plan = schedule_day(sqlite_db, DAY, "HEL", time_limit=1)
    assert b not in plan.assignment()
