"""Who is at the keyboard comes from the operating system's user id, never from LOGNAME/USER."""

from __future__ import annotations

import json
import pwd
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from data.db import Database
from data.errors import PermissionDenied
from data.feed import tail
from data.models import JobType
from data.models.org import User
from data.services.jobs import JobDraft, create_job
from dispatch_tui.cli.commands.console import build_context
from dispatch_tui.cli.context import STATE
from dispatch_tui.cli.main import app
from tests.factories import DISPATCHER, build_world

runner = CliRunner()


def pretend_os_login(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The process runs as OS user `name` (the passwd entry of our uid says so), whatever the environment says."""
    monkeypatch.setattr("os.getuid", lambda: 4242)

    def getpwuid(uid: int) -> pwd.struct_passwd:
        if uid != 4242:
            raise KeyError(uid)
        return pwd.struct_passwd((name, "x", 4242, 4242, name, f"/home/{name}", "/bin/sh"))

    monkeypatch.setattr(pwd, "getpwuid", getpwuid)


def map_os_login(database: Database, login: str, os_login: str) -> None:
    with database.write_session() as s:
        user = s.scalar(select(User).where(User.login == login))
        assert user is not None
        user.os_login = os_login
        s.commit()


@pytest.fixture
def world(sqlite_db: Database) -> tuple[Database, str]:
    build_world(sqlite_db)
    job = create_job(
        sqlite_db,
        DISPATCHER,
        JobDraft(site_code="S1", type=JobType.REPAIR, summary="Boiler", skills={"hvac": 1}, duration_minutes=60),
    )
    return sqlite_db, job.ref


def note(database: Database, ref: str, *options: str) -> Result:
    return runner.invoke(app, ["--db", database.url, *options, "jobs", "note", ref, "let me in"])


def notes_written(database: Database) -> int:
    return sum(1 for e in tail(database) if e.type == "job.note_added")


def test_an_unmapped_os_login_cannot_pass_as_an_admin_by_setting_logname(
    world: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, ref = world
    pretend_os_login(monkeypatch, "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.setenv("USER", "mallory")
    before = notes_written(database)
    result = note(database, ref, "--as", "ada")
    assert result.exit_code == 2, result.output
    assert "OS login 'mallory' is not mapped" in result.stderr
    assert notes_written(database) == before


def test_a_mapped_supervisor_setting_logname_to_root_still_cannot_write(
    world: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, ref = world
    map_os_login(database, "sam", "sam")
    pretend_os_login(monkeypatch, "sam")
    monkeypatch.setenv("LOGNAME", "root")
    monkeypatch.setenv("USER", "root")
    before = notes_written(database)
    as_admin = note(database, ref, "--as", "ada")
    assert as_admin.exit_code == 2 and "only an admin can act as ada" in as_admin.stderr, as_admin.output
    as_self = note(database, ref)
    assert as_self.exit_code == 2 and "sam is a supervisor: read-only" in as_self.stderr, as_self.output
    assert notes_written(database) == before


def test_dispatch_user_in_the_environment_is_no_more_than_as(
    world: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, ref = world
    pretend_os_login(monkeypatch, "mallory")
    monkeypatch.setenv("DISPATCH_USER", "ada")
    result = note(database, ref)
    assert result.exit_code == 2 and "not mapped" in result.stderr, result.output


def test_an_os_login_mapped_to_an_admin_may_act_as_another_user(
    world: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, ref = world
    map_os_login(database, "ada", "alex")
    pretend_os_login(monkeypatch, "alex")
    monkeypatch.setenv("LOGNAME", "someone-else")
    result = note(database, ref, "--as", "dana")
    assert result.exit_code == 0, result.output
    assert tail(database)[-1].actor == "dana"


def test_an_explicit_mapping_wins_over_a_login_of_the_same_name(
    world: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OS user `ada` is not Dispatch user `ada` when `ada` is mapped to another OS login."""
    database, ref = world
    map_os_login(database, "ada", "alex")
    pretend_os_login(monkeypatch, "ada")
    result = note(database, ref)
    assert result.exit_code == 2 and "not mapped" in result.stderr, result.output


def test_the_console_takes_its_user_from_the_os_too(
    world: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, _ = world
    pretend_os_login(monkeypatch, "mallory")
    monkeypatch.setenv("LOGNAME", "ada")
    monkeypatch.setattr(STATE, "db_url", database.url)
    monkeypatch.setattr(STATE, "_db", None)
    monkeypatch.setattr(STATE, "as_user", "ada")
    with pytest.raises(PermissionDenied, match="'mallory' is not mapped"):
        build_context(STATE.database(), day=date(2026, 11, 25))
    map_os_login(database, "dana", "mallory")
    monkeypatch.setattr(STATE, "as_user", None)
    assert build_context(STATE.database(), day=date(2026, 11, 25)).actor.login == "dana"


def test_init_maps_the_first_admin_to_the_real_os_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pretend_os_login(monkeypatch, "alex")
    monkeypatch.setenv("LOGNAME", "mallory")
    path = f"{tmp_path}/new.sqlite"
    assert runner.invoke(app, ["--db", path, "init"]).exit_code == 0
    users = json.loads(runner.invoke(app, ["--db", path, "users", "list", "--json"]).stdout)
    assert [(u["login"], u["os_login"]) for u in users] == [("alex", "alex")]
