"""`dispatch jobs edit`: the office changes a job's window, duration, priority and summary, with the rules of every
other job write: named bad input (exit 2, nothing written), a version conflict (exit 3), an event."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from data.db import Database
from data.feed import tail
from data.models import Job
from data.models.jobs import JobStatus, JobType
from data.services.jobs import JobDraft, create_job
from dispatch_tui.cli.commands import jobs as jobs_command
from dispatch_tui.cli.main import app
from tests.factories import DAY, DISPATCHER, build_world, local

runner = CliRunner()


@pytest.fixture
def world(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    build_world(sqlite_db)
    monkeypatch.setattr(jobs_command, "now", lambda tz: local(7, 0))
    create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Leak", 60, ref="A1"))
    return sqlite_db


def _edit(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["--db", db.url, "--as", "dana", "jobs", "edit", "A1", "--date", DAY.isoformat(), *args]
    )
    return result.exit_code, result.stdout, result.stderr


def _job(db: Database) -> Job:
    with db.read() as s:
        job = s.scalar(select(Job).where(Job.ref == "A1"))
        assert job is not None
        return job


def test_edit_changes_window_duration_priority_summary_with_an_event(world: Database) -> None:
    code, stdout, stderr = _edit(
        world, "--window-start", "10:00", "--window-end", "12:00", "--duration", "45", "--priority", "2",
        "--summary", "Leak under the sink", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    done = json.loads(stdout)
    assert done["changed"] == ["duration_minutes", "priority", "summary", "window_end", "window_start"]
    assert done["warnings"] == [] and done["version"] == 2
    job = _job(world)
    assert (job.window_start, job.window_end) == (local(10), local(12))
    assert (job.duration_minutes, job.priority, job.summary) == (45, 2, "Leak under the sink")
    event = tail(world)[-1]
    assert event.type == "job.updated" and event.actor == "dana"


def test_bad_values_name_the_field_exit_2_and_change_nothing(world: Database) -> None:
    before = len(tail(world))
    for args, message in [
        (["--window-start", "12:00", "--window-end", "10:00"], "job A1: window_end: must be after window_start"),
        (["--priority", "7"], "job A1: priority: must be 1 (emergency) to 4"),
        (["--duration", "0"], "job A1: duration_minutes: must be between 1 and 1440 minutes"),
        (["--window-start", "25:99"], "option: --window-start: '25:99' is not a time (HH:MM)"),
        (["--skills", "welding:2"], "job A1: skills: unknown skill 'welding'"),
        ([], "name something to change"),
    ]:
        code, _, stderr = _edit(world, *args)
        assert code == 2, args
        assert message in stderr, stderr
    assert len(tail(world)) == before and _job(world).version == 1


def test_an_edit_from_an_older_version_is_a_conflict_naming_who_changed_it(world: Database) -> None:
    assert _edit(world, "--priority", "2")[0] == 0
    code, _, stderr = _edit(world, "--summary", "Mine", "--expected-version", "1")
    assert code == 3 and "dana" in stderr
    assert _job(world).summary == "Leak"


def test_a_past_window_warns_and_a_closed_job_is_not_edited(world: Database) -> None:
    code, stdout, stderr = _edit(world, "--window-start", "05:00", "--window-end", "06:00", "--json")
    assert code == 0 and json.loads(stdout)["warnings"] == ["its time window is already over"]
    assert "warning: its time window is already over" in stderr
    with world.write_session() as s:
        job = s.scalar(select(Job).where(Job.ref == "A1"))
        assert job is not None
        job.status = JobStatus.CANCELLED
        s.commit()
    code, _, stderr = _edit(world, "--priority", "1")
    assert code == 2 and "job A1 is cancelled" in stderr


def test_create_warns_of_an_sla_due_before_the_window_closes(world: Database) -> None:
    result = runner.invoke(
        app,
        ["--db", world.url, "--as", "dana", "jobs", "create", "--site", "S1", "--summary", "Boiler", "--date",
         DAY.isoformat(), "--window-start", "10:00", "--window-end", "14:00", "--sla-due", "12:00"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "warning: its SLA falls due before its time window closes" in result.stderr
