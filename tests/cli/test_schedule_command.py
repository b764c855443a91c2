"""`dispatch schedule` from the database: a dry run writes nothing, --apply writes one plan with events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.db import Database
from data.feed import tail
from data.models import JobStatus, JobType
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
    assert [e.type for e in tail(sqlite_db)[before:]] == ["plan.solved"]  # the solve is recorded, nothing planned
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


def _evening_world(db: Database) -> list[str]:
    """Nov 25 at 23:30: every shift (08-16) is over, J0 is still on site with T1, T2 has overlapping pins."""
    from data.services.jobs import assign_job, change_status

    build_world(db)
    refs = [
        create_job(
            db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", f"Job {i}", 60, skills={"hvac": 1} if i == 0 else {})
        ).ref
        for i in range(4)
    ]
    assign_job(db, DISPATCHER, refs[0], "T1", local(15))
    for status in (JobStatus.DISPATCHED, JobStatus.EN_ROUTE, JobStatus.ON_SITE):
        change_status(db, DISPATCHER, refs[0], status)
    assign_job(db, DISPATCHER, refs[1], "T2", local(13), pinned=True)
    assign_job(db, DISPATCHER, refs[2], "T2", local(13, 30), pinned=True, force=True)
    return refs


def test_schedule_late_evening_with_work_under_way_and_overlapping_pins(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = _evening_world(sqlite_db)
    monkeypatch.setattr("dispatch_tui.cli.commands.schedule.utcnow", lambda: local(23, 30))
    base = ["--db", sqlite_db.url, "schedule", "--date", "2026-11-25", "--time-limit", "1"]
    result = CliRunner().invoke(app, [*base, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["branches"][0]
    assert summary["violations"] == []
    assert isinstance(summary["solve"]["time_limit_reached"], bool)
    conflicts = {c["job"]: c["message"] for c in summary["conflicts"]}
    assert refs[0] in conflicts and "under way with T1" in conflicts[refs[0]]
    assert "T2 is only available from 23:30" in conflicts[refs[2]]  # the pinned times are past
    assert {u["job"] for u in summary["unassigned"]} >= {refs[1], refs[2], refs[3]}
    monkeypatch.setattr("dispatch_tui.cli.commands.schedule.utcnow", lambda: local(7))
    morning = CliRunner().invoke(app, [*base, "--json"])
    assert morning.exit_code == 0, morning.output
    summary = json.loads(morning.stdout)["branches"][0]
    conflicts = {c["job"]: c["message"] for c in summary["conflicts"]}
    assert conflicts[refs[2]] == f"{refs[2]} is pinned on T2 13:30 but {refs[1]} is pinned on T2 13:00-14:00"
    text = CliRunner().invoke(app, base)
    assert text.exit_code == 0, text.output
    assert "solve:" in text.stdout and "conflict:" in text.stdout
    assert "Traceback" not in text.output and "absl" not in text.output


def test_overlapping_pin_is_refused_unless_forced(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    a, b = (create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", f"Job {i}", 60)).ref for i in range(2))
    runner = CliRunner()
    base = ["--db", sqlite_db.url, "--as", "dana", "jobs", "assign"]
    assert runner.invoke(app, [*base, a, "T2", "--start", "13:00", "--date", "2026-11-25", "--pin"]).exit_code == 0
    refused = runner.invoke(app, [*base, b, "T2", "--start", "13:30", "--date", "2026-11-25", "--pin"])
    assert refused.exit_code == 2
    assert a in refused.stderr and b in refused.stderr
    forced = runner.invoke(app, [*base, b, "T2", "--start", "13:30", "--date", "2026-11-25", "--pin", "--force"])
    assert forced.exit_code == 0, forced.output


def test_replan_after_a_sick_call_late_evening_never_fails(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = _evening_world(sqlite_db)
    monkeypatch.setattr("dispatch_tui.cli.commands.schedule.utcnow", lambda: local(23, 30))
    base = ["--db", sqlite_db.url, "--as", "dana", "replan", "--date", "2026-11-25", "--time-limit", "1"]
    for scope in ("minimal", "branch"):
        result = CliRunner().invoke(app, [*base, "--absent", "T1", "--scope", scope, "--json", "--apply"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)["branch"]
        assert summary["violations"] == []
        assert refs[0] in {c["job"] for c in summary["conflicts"]}
    bad = CliRunner().invoke(app, [*base, "--scope", "everything"])
    assert bad.exit_code == 2
