"""`dispatch schedule` from the database: a dry run writes nothing, --apply writes one plan with events."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from data.db import Database
from data.feed import tail
from data.models import JobType
from data.services.jobs import JobDraft, create_job
from dispatch_tui.cli.main import app
from tests.factories import DISPATCHER, build_world, local


def test_schedule_dry_run_then_apply(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    for i in range(4):
        create_job(
            sqlite_db,
            DISPATCHER,
            JobDraft(
                JobType.REPAIR, "S1", f"Job {i}", 60, skills={"hvac": 1}, window_start=local(8), window_end=local(16)
            ),
        )
    runner = CliRunner()
    base = ["--db", sqlite_db.url, "--as", "dana", "schedule", "--date", "2026-11-25", "--time-limit", "1"]
    before = len(tail(sqlite_db))
    dry = runner.invoke(app, [*base, "--json"])
    assert dry.exit_code == 0, dry.output
    summary = json.loads(dry.stdout)["branches"][0]
    assert summary["assigned"] == 4 and summary["violations"] == []
    assert len(tail(sqlite_db)) == before
    applied = runner.invoke(app, [*base, "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "applied HEL: 4 assigned" in applied.stdout
    assert tail(sqlite_db)[-1].type == "plan.applied"


def test_supervisor_cannot_apply(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    result = CliRunner().invoke(
        app, ["--db", sqlite_db.url, "--as", "sam", "schedule", "--date", "2026-11-25", "--apply", "--time-limit", "1"]
    )
    assert result.exit_code == 2
    assert "read-only" in result.stderr


def test_schedule_needs_a_source() -> None:
    result = CliRunner().invoke(app, ["schedule"])
    assert result.exit_code == 2


def test_database_day_replays_from_a_problem_file(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    for i in range(3):
        create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", f"Job {i}", 45, skills={"hvac": 1}))
    problem, plan = tmp_path / "day.json", tmp_path / "plan.json"
    runner = CliRunner()
    exported = runner.invoke(
        app,
        ["--db", sqlite_db.url, "schedule", "--date", "2026-11-25", "--time-limit", "1", "--problem-out", str(problem)],
    )
    assert exported.exit_code == 0, exported.output
    replayed = runner.invoke(app, ["schedule", "--problem", str(problem), "--out", str(plan), "--time-limit", "1"])
    assert replayed.exit_code == 0, replayed.output
    routes = json.loads(plan.read_text())["routes"]
    assert sum(len(r["visits"]) for r in routes) == 3


def test_bad_problem_file_names_the_job_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "format": "dispatch.problem/1",
                "horizon_start": "2026-11-25T00:00:00Z",
                "technicians": [],
                "jobs": [{"id": "J1", "location": {"lat": 95, "lon": 1}, "duration_seconds": 60}],
            }
        )
    )
    result = CliRunner().invoke(app, ["schedule", "--problem", str(bad)])
    assert result.exit_code == 2
    assert "job J1: location.lat" in result.stderr
