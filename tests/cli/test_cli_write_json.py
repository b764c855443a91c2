"""`--json` on the commands that write: what was done, naming the record, for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from data.db import Database
from dispatch_tui.cli.main import app
from tests.factories import build_world

DAY = "2026-11-25"
runner = CliRunner()


def run(database: Database, *args: str, who: str = "dana") -> Result:
    return runner.invoke(app, ["--db", database.url, "--as", who, *args])


@pytest.fixture
def assigned(sqlite_db: Database) -> tuple[Database, str]:
    """A job created and assigned to T1 through the CLI; returns the database and the job's ref."""
    build_world(sqlite_db)
    created = run(
        sqlite_db,
        "jobs", "create", "--site", "S1", "--summary", "Heat pump noisy", "--skills", "hvac:2",
        "--duration", "60", "--date", DAY, "--window-start", "08:00", "--window-end", "12:00", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    ref: str = json.loads(created.stdout)["ref"]
    done = run(sqlite_db, "jobs", "assign", ref, "T1", "--start", "09:00", "--date", DAY, "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["ref"] == ref
    return sqlite_db, ref


WRITES: list[tuple[list[str], dict[str, object]]] = [
    (["jobs", "unassign", "{ref}"], {"ref": "{ref}", "status": "new", "technician": None}),
    (["jobs", "status", "{ref}", "dispatched"], {"ref": "{ref}", "status": "dispatched"}),
    (["jobs", "note", "{ref}", "Call first"], {"ref": "{ref}", "body": "Call first"}),
    (["jobs", "crew", "{ref}", "--size", "2"], {"ref": "{ref}", "crew_size": 2}),
    (["jobs", "visits", "{ref}", "--days", "2"], {"ref": "{ref}", "days": 2}),
    (["jobs", "depend", "{ref}", "--clear"], {"ref": "{ref}", "after": None}),
    (
        ["techs", "absent", "T1", "--kind", "sick", "--from", "08:00", "--to", "12:00", "--date", DAY],
        {"technician": "T1", "kind": "sick", "jobs_to_replan": ["{ref}"]},
    ),
]


@pytest.mark.parametrize(("args", "expected"), WRITES, ids=[" ".join(a[:2]) for a, _ in WRITES])
def test_a_write_prints_what_it_did_as_json(
    assigned: tuple[Database, str], args: list[str], expected: dict[str, object]
) -> None:
    database, ref = assigned

    def filled(value: object) -> object:
        if isinstance(value, str):
            return value.format(ref=ref)
        if isinstance(value, list):
            return [filled(v) for v in value]
        return value

    result = run(database, *[a.format(ref=ref) for a in args], "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert {key: body[key] for key in expected} == {key: filled(v) for key, v in expected.items()}


def test_token_revoke_json_names_the_token(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    issued = json.loads(run(sqlite_db, "tokens", "issue", "T1", "--label", "Pixel", "--json", who="ada").stdout)
    revoked = run(sqlite_db, "tokens", "revoke", str(issued["token_id"]), "--json", who="ada")
    assert revoked.exit_code == 0, revoked.output
    body = json.loads(revoked.stdout)
    assert body["token_id"] == issued["token_id"] and body["technician"] == "T1"
    assert body["revoked_at"] is not None


def test_admin_writes_print_what_they_did_as_json(sqlite_db: Database, tmp_path: Path) -> None:
    """users add, db upgrade/backup/restore: scripts read what was done, not a sentence."""
    build_world(sqlite_db)
    added = run(sqlite_db, "users", "add", "olli", "--name", "Olli Office", "--role", "dispatcher", "--json", who="ada")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout) == {"added": "olli", "name": "Olli Office", "role": "dispatcher", "os_login": None}
    upgraded = run(sqlite_db, "db", "upgrade", "--json", who="ada")
    assert upgraded.exit_code == 0, upgraded.output
    state = json.loads(upgraded.stdout)
    assert state["upgraded"] is False and state["revision"] == state["head"]
    backup = tmp_path / "copy.sqlite"
    made = run(sqlite_db, "db", "backup", str(backup), "--json", who="ada")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout) == {
        "backup": str(backup),
        "bytes": backup.stat().st_size,
        "encrypted": False,
        "removed": [],
    }
    restored = run(sqlite_db, "db", "restore", str(backup), "--yes", "--json", who="ada")
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout)["restored_from"] == str(backup)
