"""Progress of slow commands: the data layer counts through a callback, the bar stays off stdout."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from data.db import Database
from data.services.maintenance import PlanInput, create_plan, generate_due_jobs
from data.transfer import importer
from data.transfer.csv_formats import Entity
from data.transfer.exporter import export_text
from data.transfer.importer import import_file
from dispatch_tui.cli import context
from dispatch_tui.cli.commands import db as db_commands
from dispatch_tui.cli.main import app
from tests.factories import DISPATCHER, build_world

runner = CliRunner()
HEADER = "ref,type,priority,summary,site,skills,duration_minutes"


def _jobs_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "jobs.csv"
    rows = [f"A{n},repair,2,Leak,S1,plumbing:1,30" for n in range(count)]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _run(database: Database, *args: str) -> Result:
    return runner.invoke(app, ["--db", database.url, "--as", "dana", *args])


@pytest.fixture
def stderr_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stderr taken for a terminal, so the bars really draw (to stderr) while stdout is captured."""
    monkeypatch.setattr(context.err, "_force_terminal", True)


def test_import_reports_rows_after_each_batch(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(sqlite_db)
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    seen: list[int] = []
    report = import_file(sqlite_db, DISPATCHER, Entity.JOBS, _jobs_file(tmp_path, 5), progress=seen.append)
    assert report.created == 5
    assert seen == [2, 4, 5]


def test_export_reports_its_stages_in_order(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    seen: list[tuple[int, int]] = []
    export_text(sqlite_db, Entity.TECHNICIANS, "csv", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 2), (1, 2), (2, 2)]


def test_maintenance_generation_reports_each_plan(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    for code in ("P1", "P2"):
        create_plan(
            sqlite_db, DISPATCHER, PlanInput(code, "S1", "Service", 12, date(2026, 12, 1), 60, asset_serial="HP-001")
        )
    seen: list[tuple[int, int]] = []
    generate_due_jobs(sqlite_db, DISPATCHER, 30, date(2026, 11, 25), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]


def test_sqlite_backup_reports_pages_copied(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(sqlite_db)
    monkeypatch.setattr(db_commands, "BACKUP_PAGES_PER_STEP", 1)
    seen: list[tuple[int, int]] = []
    db_commands.backup_database(sqlite_db, tmp_path / "copy.sqlite", progress=lambda d, t: seen.append((d, t)))
    copied = [done for done, _ in seen]
    assert len(seen) > 1 and copied == sorted(copied) and len(set(copied)) == len(copied)
    assert seen[-1][0] == seen[-1][1]


def test_bars_draw_on_stderr_and_json_on_stdout_stays_clean(
    sqlite_db: Database, tmp_path: Path, stderr_terminal: None
) -> None:
    build_world(sqlite_db)
    imported = _run(sqlite_db, "import", "jobs", str(_jobs_file(tmp_path, 3)), "--json")
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["created"] == 3
    assert "\x1b[?25l" in imported.stderr  # the bar was live (cursor hidden) on stderr, then erased itself
    assert "\x1b" not in imported.stdout
    generated = _run(sqlite_db, "maintenance", "generate", "--today", "2026-11-25", "--json")
    assert generated.exit_code == 0, generated.output
    assert json.loads(generated.stdout) == []
    exported = _run(sqlite_db, "export", "jobs", "--format", "json")
    assert exported.exit_code == 0, exported.output
    assert len(json.loads(exported.stdout)) == 3
    backup = _run(sqlite_db, "db", "backup", str(tmp_path / "copy.sqlite"))
    assert backup.exit_code == 0, backup.output
    assert backup.stdout.startswith("backed up to ") and "\x1b" not in backup.stdout
