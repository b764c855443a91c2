"""`dispatch export company` / `dispatch import company`: a whole company out to a folder and into an empty database,
in one step or not at all, and back out byte for byte."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from data.db import Database, create_database_engine
from data.demo import build_demo
from data.models import Job, User
from data.transfer.company import company_tables
from dispatch_tui.cli.main import app

runner = CliRunner()
DAY = date(2026, 11, 25)


def _ok(db: Database, *args: str) -> str:
    result = runner.invoke(app, ["--db", db.url, *args])
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.stdout


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """A small demo company with history (reports, invoices, timesheets), exported once for the module."""
    work = tmp_path_factory.mktemp("company")
    path = work / "demo.sqlite"
    shutil.copy(sqlite_template, path)
    source = Database(f"sqlite:///{path}", create_database_engine(f"sqlite:///{path}"))
    now = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
    build_demo(source, seed=5, technicians=6, customers=30, jobs_today=20, history_days=4, today=DAY, now=now)
    folder = work / "exported"
    _ok(source, "export", "company", "--out", str(folder))
    source.dispose()
    return folder


def test_export_demo_init_import_export_gives_identical_files(
    demo_folder: Path, sqlite_db: Database, tmp_path: Path
) -> None:
    manifest = json.loads((demo_folder / "manifest.json").read_text())
    for table in ("jobs", "completion_reports", "invoice_drafts", "timesheets", "technicians", "maintenance_plans"):
        assert manifest["tables"][table] > 0, table
    assert "events" not in manifest["tables"] and not (demo_folder / "events.jsonl").exists()
    _ok(sqlite_db, "init")
    done = json.loads(_ok(sqlite_db, "import", "company", str(demo_folder), "--json"))
    assert done["tables"] == manifest["tables"]
    again = tmp_path / "again"
    _ok(sqlite_db, "export", "company", "--out", str(again))
    assert _files(again) == _files(demo_folder)
    assert json.loads(_ok(sqlite_db, "jobs", "list", "--json"))  # the company works: its jobs are there


def test_a_company_moves_from_sqlite_to_postgresql_unchanged(
    demo_folder: Path, pg_db: Database, tmp_path: Path
) -> None:
    _ok(pg_db, "import", "company", str(demo_folder))
    again = tmp_path / "again"
    _ok(pg_db, "export", "company", "--out", str(again))
    assert _files(again) == _files(demo_folder)
    _ok(pg_db, "--as", "dana", "skills", "add", "welding", "--name", "Welding")  # sequences moved past the rows


def _broken_copy(source: Path, tmp_path: Path, table: str, edit: object) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(source, folder)
    path = folder / f"{table}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert callable(edit)
    path.write_text("".join(edit(lines)), encoding="utf-8")
    return folder


def _set(line: str, **values: object) -> str:
    return json.dumps({**json.loads(line), **values}, ensure_ascii=False, separators=(",", ":")) + "\n"


def _last_table_with_rows(folder: Path) -> str:
    counts = json.loads((folder / "manifest.json").read_text())["tables"]
    return [t.name for t in company_tables() if counts.get(t.name)][-1]


@pytest.mark.parametrize(
    ("table", "edit", "message"),
    [
        ("jobs", lambda lines: [lines[0], _set(lines[1], priority="urgent"), *lines[2:]],
         "jobs.jsonl line 2: priority: 'urgent' is not a whole number"),
        ("jobs", lambda lines: [_set(lines[0], site_id=999_999), *lines[1:]],
         "jobs.jsonl line 1: site_id: no sites row has id 999999"),
        ("technicians", lambda lines: [_set(lines[0], colour="red"), *lines[1:]],
         "technicians.jsonl line 1: colour: is not a column of technicians"),
        ("invoice_drafts", lambda lines: [_set(lines[0], total="lots"), *lines[1:]],
         "invoice_drafts.jsonl line 1: total: 'lots' is not an exact amount"),
    ],
)  # fmt: skip
def test_a_bad_file_names_file_line_and_field_and_imports_nothing(
    demo_folder: Path, sqlite_db: Database, tmp_path: Path, table: str, edit: object, message: str
) -> None:
    _ok(sqlite_db, "init")
    result = runner.invoke(
        app, ["--db", sqlite_db.url, "import", "company", str(_broken_copy(demo_folder, tmp_path, table, edit))]
    )
    assert result.exit_code == 2
    assert message in result.stderr
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_a_refusal_by_the_database_late_in_the_import_leaves_nothing_half_written(
    demo_folder: Path, db: Database, tmp_path: Path
) -> None:
    """Every table before the last is inserted, then the last one breaks a key: all of it rolls back."""
    last = _last_table_with_rows(demo_folder)
    folder = _broken_copy(demo_folder, tmp_path, last, lambda lines: [*lines, lines[0]])
    result = runner.invoke(app, ["--db", db.url, "import", "company", str(folder)])
    assert result.exit_code == 2
    assert f"{last}.jsonl: is refused by the database" in result.stderr
    with db.read() as s:
        for table in company_tables():
            assert s.scalar(select(func.count()).select_from(table)) == 0, table.name


def test_a_company_goes_only_into_an_empty_database(demo_folder: Path, sqlite_db: Database) -> None:
    _ok(sqlite_db, "init")
    _ok(sqlite_db, "import", "company", str(demo_folder))
    result = runner.invoke(app, ["--db", sqlite_db.url, "import", "company", str(demo_folder)])
    assert result.exit_code == 2 and "already holds" in result.stderr
    with sqlite_db.read() as s:  # the demo's admin is mapped to this OS login, so `init`'s own admin gave way
        assert s.scalar(select(func.count()).select_from(User).where(User.login == "admin")) == 1
