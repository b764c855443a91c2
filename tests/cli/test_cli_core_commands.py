"""The `dispatch` commands through Typer's runner: output formats, exit codes and the events they leave."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from data.db import Database
from data.feed import tail
from data.models import JobType
from data.services.jobs import JobDraft, add_note, create_job
from data.services.users import os_login
from dispatch_tui.cli.main import app
from tests.factories import DISPATCHER, build_world

DAY = "2026-11-25"
runner = CliRunner()


def run(database: Database, *args: str, who: str = "dana") -> Result:
    return runner.invoke(app, ["--db", database.url, "--as", who, *args])


@pytest.fixture
def world(sqlite_db: Database) -> Database:
    build_world(sqlite_db)
    return sqlite_db


def _create(database: Database, *extra: str) -> str:
    result = run(
        database,
        "jobs", "create", "--site", "S1", "--summary", "Heat pump noisy", "--skills", "hvac:2",
        "--duration", "60", "--date", DAY, "--window-start", "08:00", "--window-end", "12:00", "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ref: str = json.loads(result.stdout)["ref"]
    return ref


def test_jobs_list_json_is_the_days_jobs(world: Database) -> None:
    ref = _create(world)
    assert run(world, "jobs", "assign", ref, "T1", "--start", "09:00", "--date", DAY).exit_code == 0
    result = run(world, "jobs", "list", "--date", DAY, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["ref"] for r in rows] == [ref]
    assert rows[0]["technician"] == "T1" and rows[0]["planned_start"].startswith("2026-11-25T07:00:00")
    assert rows[0]["window_start"].startswith("2026-11-25T06:00:00")  # 08:00 Helsinki is 06:00 UTC
    unassigned = json.loads(run(world, "jobs", "list", "--date", DAY, "--unassigned", "--json").stdout)
    assert unassigned == []
    assert json.loads(run(world, "jobs", "list", "--date", "2026-11-26", "--json").stdout) == []
    human = run(world, "jobs", "list", "--date", DAY)
    assert ref in human.stdout and "T1" in human.stdout


def test_assign_to_unqualified_technician_exits_2_naming_the_skill(world: Database) -> None:
    ref = _create(world)
    result = run(world, "jobs", "assign", ref, "T2", "--start", "09:00", "--date", DAY)
    assert result.exit_code == 2
    assert "lacks skill 'hvac'" in result.stderr
    low = run(world, "jobs", "assign", ref, "T3", "--start", "09:00", "--date", DAY)
    assert low.exit_code == 2 and "hvac" in low.stderr and "level 1" in low.stderr


def test_outside_shift_and_bad_time_exit_2(world: Database) -> None:
    ref = _create(world)
    late = run(world, "jobs", "assign", ref, "T1", "--start", "18:30", "--date", DAY)
    assert late.exit_code == 2 and "works 08:00-16:00" in late.stderr
    naive = run(world, "jobs", "assign", ref, "T1", "--start", "2026-11-25T09:00")
    assert naive.exit_code == 2 and "offset" in naive.stderr


def test_stale_version_exits_3_naming_who_changed_it(world: Database) -> None:
    ref = _create(world)
    seen = str(json.loads(run(world, "jobs", "show", ref, "--json").stdout)["job"]["version"])
    first = run(world, "jobs", "assign", ref, "T1", "--start", "09:00", "--date", DAY, "--expected-version", seen)
    assert first.exit_code == 0, first.output
    second = run(world, "jobs", "assign", ref, "T3", "--start", "10:00", "--date", DAY, "--expected-version", seen)
    assert second.exit_code == 3
    assert "changed by dana" in second.stderr


def test_assign_prints_warnings(world: Database) -> None:
    a, b = _create(world), _create(world)
    assert run(world, "jobs", "assign", a, "T1", "--start", "09:00", "--date", DAY).exit_code == 0
    result = run(world, "jobs", "assign", b, "T1", "--start", "09:30", "--date", DAY, "--pin")
    assert result.exit_code == 0
    assert f"overlaps {a}" in result.stderr
    assert json.loads(run(world, "jobs", "show", b, "--json").stdout)["job"]["pinned"] is True


def test_supervisor_cannot_write(world: Database) -> None:
    ref = _create(world)
    for args in (
        ("jobs", "note", ref, "hello"),
        ("jobs", "assign", ref, "T1"),
        ("techs", "absent", "T1", "--kind", "sick"),
    ):
        result = run(world, *args, who="sam")
        assert result.exit_code == 2, args
        assert "read-only" in result.stderr
    assert run(world, "jobs", "list", "--date", DAY, "--json", who="sam").exit_code == 0


def test_status_note_unassign_and_show_with_history(world: Database) -> None:
    ref = _create(world)
    assert run(world, "jobs", "assign", ref, "T1", "--start", "09:00", "--date", DAY).exit_code == 0
    illegal = run(world, "jobs", "status", ref, "on_site")
    assert illegal.exit_code == 2 and "allowed:" in illegal.stderr
    needs_report = run(world, "jobs", "status", ref, "completed")
    assert needs_report.exit_code == 2 and "dispatch jobs complete" in needs_report.stderr
    assert run(world, "jobs", "status", ref, "dispatched").exit_code == 0
    assert run(world, "jobs", "note", ref, "Customer asks for a call first").exit_code == 0
    assert run(world, "jobs", "unassign", ref).exit_code == 0
    detail = json.loads(run(world, "jobs", "show", ref, "--json").stdout)
    assert detail["job"]["status"] == "new" and detail["job"]["technician"] is None
    assert detail["notes"][0]["body"] == "Customer asks for a call first"
    assert [e["type"] for e in detail["events"]] == [
        "job.created", "job.assigned", "job.status_changed", "job.note_added", "job.unassigned",
    ]  # fmt: skip
    human = run(world, "jobs", "show", ref)
    assert "Customer asks for a call first" in human.stdout and "job.unassigned by dana" in human.stdout
    assert run(world, "jobs", "show", "J999999").exit_code == 2


def test_events_tail_shows_what_commands_did(world: Database) -> None:
    ref = _create(world)
    run(world, "jobs", "assign", ref, "T1", "--start", "09:00", "--date", DAY)
    run(world, "techs", "absent", "T2", "--kind", "sick", "--date", DAY, "--note", "flu")
    lines = run(world, "events", "tail", "--json").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    # (an absence covering the real now also logs technician.status_changed)
    types = [e["type"] for e in events if e["type"] != "technician.status_changed"]
    assert types == ["job.created", "job.assigned", "technician.absent"]
    assert all(e["actor"] == "dana" and e["source"] == "cli" for e in events)
    after = run(world, "events", "tail", "--after", str(events[0]["seq"]), "--type", "job.assigned").stdout
    assert "job.assigned" in after and "job.created" not in after and ref in after


def test_techs_list_show_and_absent(world: Database) -> None:
    rows = json.loads(run(world, "techs", "list", "--date", DAY, "--json").stdout)
    assert [r["code"] for r in rows] == ["T1", "T2", "T3"]
    assert rows[0]["skills"] == {"electrical": 1, "hvac": 3}
    assert rows[0]["shift_start"].startswith("2026-11-25T06:00")
    result = run(
        world, "techs", "absent", "T1", "--kind", "training", "--from", "12:00", "--to", "16:00", "--date", DAY
    )
    assert result.exit_code == 0, result.output
    detail = json.loads(run(world, "techs", "show", "T1", "--date", DAY, "--json").stdout)
    assert detail["absences"][0]["kind"] == "training"
    assert detail["van"] == "VAN-T1"
    assert "hvac:3" in run(world, "techs", "show", "T1", "--date", DAY).stdout
    assert run(world, "techs", "show", "T9").exit_code == 2


def test_users_add_and_list(world: Database) -> None:
    added = run(world, "users", "add", "olli", "--name", "Olli Operator", "--role", "dispatcher", who="ada")
    assert added.exit_code == 0, added.output
    denied = run(world, "users", "add", "eve", "--name", "Eve", "--role", "admin", who="dana")
    assert denied.exit_code == 2 and "only an admin" in denied.stderr
    users = json.loads(run(world, "users", "list", "--json").stdout)
    assert {u["login"]: u["role"] for u in users}["olli"] == "dispatcher"
    assert tail(world)[-1].type == "user.added"


def test_init_creates_the_database_and_an_admin_for_the_os_login(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    result = runner.invoke(app, ["--db", str(path), "init"])
    assert result.exit_code == 0, result.output
    users = json.loads(runner.invoke(app, ["--db", str(path), "users", "list", "--json"]).stdout)
    assert [u["role"] for u in users] == ["admin"] and users[0]["os_login"] == os_login()
    again = runner.invoke(app, ["--db", str(path), "init"])
    assert again.exit_code == 0 and "already exist" in again.stdout


def test_demo_command_builds_a_separate_database(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite"
    args = ["--db", str(path), "demo", "--technicians", "6", "--customers", "30", "--jobs", "20"]
    result = runner.invoke(app, [*args, "--history-days", "2", "--no-clock"])
    assert result.exit_code == 0, result.output
    assert "jobs today: assigned" in result.stdout
    kept = runner.invoke(app, args)
    assert kept.exit_code == 0 and "already exists" in kept.stdout
    rebuilt = runner.invoke(app, [*args, "--fresh", "--seed", "8", "--history-days", "0"])
    assert rebuilt.exit_code == 0 and "seed 8" in rebuilt.output  # a piped table's title is on stderr
    jobs = json.loads(runner.invoke(app, ["--db", str(path), "--as", "dana", "jobs", "list", "--json"]).stdout)
    assert len(jobs) == 20


def test_sqlite_backup_restore_round_trip(world: Database, tmp_path: Path) -> None:
    ref = _create(world)
    backup = tmp_path / "backup.sqlite"
    assert run(world, "db", "backup", str(backup)).exit_code == 0
    run(world, "jobs", "note", ref, "written after the backup")
    restored = run(world, "db", "restore", str(backup), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "previous contents saved" in restored.stdout
    assert [e.type for e in tail(world)] == ["job.created"]
    not_a_backup = tmp_path / "junk.sqlite"
    not_a_backup.write_text("hello")
    assert run(world, "db", "restore", str(not_a_backup), "--yes").exit_code == 2
    assert run(world, "db", "upgrade").exit_code == 0


@pytest.mark.postgres
def test_postgres_backup_restore_round_trip(pg_db: Database, tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed")
    build_world(pg_db)
    job = create_job(pg_db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Leak", 30))
    backup = tmp_path / "backup.dump"
    result = run(pg_db, "db", "backup", str(backup))
    assert result.exit_code == 0, result.output
    run(pg_db, "jobs", "note", job.ref, "after the backup")
    pg_db.dispose()
    restored = run(pg_db, "db", "restore", str(backup), "--yes")
    assert restored.exit_code == 0, restored.output
    assert [e.type for e in tail(pg_db)] == ["job.created"]


def test_events_tail_follow_wakes_on_new_events(world: Database) -> None:
    ref = _create(world)
    outcome: dict[str, Result] = {}

    def follow() -> None:
        outcome["result"] = run(world, "events", "tail", "--follow", "--json", "--count", "3")

    thread = threading.Thread(target=follow)
    thread.start()
    # No pause needed: notes written before the command starts are read as history, later ones as they come.
    # Written through the service, not the runner: CliRunner swaps sys.stdout for the whole process.
    add_note(world, DISPATCHER, ref, "first")
    add_note(world, DISPATCHER, ref, "second")
    thread.join(timeout=30)
    assert not thread.is_alive()
    lines = [json.loads(line) for line in outcome["result"].stdout.splitlines()]
    assert [e["type"] for e in lines] == ["job.created", "job.note_added", "job.note_added"]
    assert lines[2]["payload"]["body"] == "second"
