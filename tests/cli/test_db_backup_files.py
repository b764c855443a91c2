"""Backups hold customer data and lockbox codes: only their owner reads them; a restore leaves no files behind."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from data.db import Database
from dispatch_tui.cli.main import app
from tests.factories import build_world

runner = CliRunner()


def run(database: Database, *args: str) -> Result:
    return runner.invoke(app, ["--db", database.url, "--as", "ada", *args])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual 022 umask, under which a plainly created file is world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name) and p != path)


def test_a_sqlite_backup_is_readable_by_its_owner_only(sqlite_db: Database, tmp_path: Path, open_umask: None) -> None:
    build_world(sqlite_db)
    fresh = tmp_path / "fresh.sqlite"
    assert run(sqlite_db, "db", "backup", str(fresh)).exit_code == 0
    assert mode(fresh) == 0o600
    existing = tmp_path / "existing.sqlite"
    existing.write_bytes(b"")
    existing.chmod(0o644)
    assert run(sqlite_db, "db", "backup", str(existing)).exit_code == 0
    assert mode(existing) == 0o600


def test_the_copy_kept_before_a_restore_is_private_too(sqlite_db: Database, tmp_path: Path, open_umask: None) -> None:
    build_world(sqlite_db)
    backup = tmp_path / "backup.sqlite"
    assert run(sqlite_db, "db", "backup", str(backup)).exit_code == 0
    restored = run(sqlite_db, "db", "restore", str(backup), "--yes")
    assert restored.exit_code == 0, restored.output
    live = sqlite_db.sqlite_path
    assert live is not None
    kept = [p for p in live.parent.iterdir() if ".before-restore-" in p.name]
    assert kept and all(mode(p) == 0o600 for p in kept)
    assert siblings(backup) == []


def test_a_failed_restore_leaves_nothing_beside_the_file_given(sqlite_db: Database, tmp_path: Path) -> None:
    """A SQLite file in WAL mode that is not a Dispatch backup: refused, and no -wal/-shm appear beside it."""
    build_world(sqlite_db)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE x (a)")
    conn.commit()
    conn.close()
    assert siblings(other) == []
    refused = run(sqlite_db, "db", "restore", str(other), "--yes")
    assert refused.exit_code == 2 and "not a Dispatch backup" in refused.stderr, refused.output
    assert siblings(other) == []
    junk = tmp_path / "junk.sqlite"
    junk.write_text("hello")
    assert run(sqlite_db, "db", "restore", str(junk), "--yes").exit_code == 2
    assert siblings(junk) == []


@pytest.mark.postgres
def test_a_postgres_backup_is_readable_by_its_owner_only(pg_db: Database, tmp_path: Path, open_umask: None) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    build_world(pg_db)
    target = tmp_path / "backup.dump"
    target.write_bytes(b"")
    target.chmod(0o644)
    result = run(pg_db, "db", "backup", str(target))
    assert result.exit_code == 0, result.output
    assert mode(target) == 0o600 and target.stat().st_size > 0
    assert siblings(target) == []
