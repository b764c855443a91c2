"""Who is free now: shift, absences, the day's jobs and live status decide; nearest to a site first."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from data.db import Database
from data.errors import NotFound
from data.models import AbsenceKind, JobStatus, JobType
from data.queries.free import free_technicians
from data.services.jobs import JobDraft, assign_job, change_status, create_job
from data.services.technicians import mark_absent
from dispatch_tui.cli import dates
from dispatch_tui.cli.main import app
from tests.factories import DAY, DISPATCHER, SUPERVISOR, build_world, local


@pytest.fixture
def day(sqlite_db: Database) -> Database:
    """T1 on a job 10:00-11:30 at S3, T2 sick until 12:00, T3 free all day."""
    build_world(sqlite_db)
    job = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S3", "Boiler", 90, skills={"hvac": 1}))
    assign_job(sqlite_db, DISPATCHER, job.ref, "T1", local(10))
    mark_absent(sqlite_db, DISPATCHER, "T2", AbsenceKind.SICK, local(0), local(12))
    return sqlite_db


def test_free_now_reads_jobs_absences_and_shifts(day: Database) -> None:
    rows = {r.code: r for r in free_technicians(day, local(10, 30))}
    assert rows["T3"].free_now and rows["T3"].free_until == local(16)
    t1 = rows["T1"]
    assert not t1.free_now and t1.free_from == local(11, 30) and t1.busy_with and t1.busy_with.startswith("J")
    assert t1.location.startswith("after J")  # where the job leaves them
    t2 = rows["T2"]
    assert t2.free_from == local(12) and t2.busy_with == "absence (sick)"
    assert [r.code for r in free_technicians(day, local(10, 30))] == ["T3", "T1", "T2"]  # soonest first
    assert free_technicians(day, local(16)) == []  # every shift over
    assert [r.code for r in free_technicians(day, local(9), skills={"hvac": 2})] == ["T1"]


def test_near_a_site_orders_by_arrival_and_an_overrun_is_not_free(day: Database) -> None:
    near = free_technicians(day, local(7, 0), near_site="S1")
    assert all(r.drive_minutes is not None and r.arrival is not None for r in near)
    arrivals = [r.arrival for r in near]
    assert arrivals == sorted(a for a in arrivals if a is not None)
    ref = next(r.busy_with for r in free_technicians(day, local(10, 30)) if r.code == "T1")
    assert ref is not None
    for status in (JobStatus.DISPATCHED, JobStatus.EN_ROUTE, JobStatus.ON_SITE):
        change_status(day, DISPATCHER, ref, status, at=local(10, 5))
    late = next(r for r in free_technicians(day, local(12)) if r.code == "T1")
    assert not late.free_now and late.free_from == local(12, 15)  # still on site past the planned end
    with pytest.raises(NotFound, match="site S9"):
        free_technicians(day, local(9), near_site="S9")


def test_cli_techs_free(day: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dates, "now", lambda tz: local(10, 30).astimezone(ZoneInfo(tz)))
    runner = CliRunner()
    base = ["--db", day.url, "--as", SUPERVISOR.login, "techs", "free"]
    result = runner.invoke(app, [*base, "--json", "--near", "S1", "--skill", "hvac1"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["code"] for r in rows] == ["T3", "T1"] and rows[0]["free_now"] is True
    later = runner.invoke(app, [*base, "--at", "12:00", "--date", DAY.isoformat()])
    assert later.exit_code == 0, later.output
    assert "T2" in later.stdout and "now" in later.stdout
    bad = runner.invoke(app, [*base, "--at", "25:99"])
    assert bad.exit_code == 2 and "--at" in bad.stderr
