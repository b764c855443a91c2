"""The command line in a shell: --version, completion scripts, spoken dates, `-` for stdin/stdout, piped tables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from data.db import Database
from data.errors import InvalidInput
from dispatch_tui.cli import dates
from dispatch_tui.cli.main import app
from tests.factories import build_world

runner = CliRunner()
DISPATCH = str(Path(sys.executable).parent / "dispatch")
HELSINKI = "Europe/Helsinki"
WEDNESDAY = datetime(2026, 11, 25, 14, 30, tzinfo=ZoneInfo(HELSINKI))
HEADER = "ref,type,priority,summary,site,skills,duration_minutes"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(dates, "now", lambda tz: WEDNESDAY.astimezone(ZoneInfo(tz)))
    return WEDNESDAY


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-24", date(2026, 12, 24)),
        ("today", date(2026, 11, 25)),
        ("tomorrow", date(2026, 11, 26)),
        ("yesterday", date(2026, 11, 24)),
        ("mon", date(2026, 11, 30)),
        ("Friday", date(2026, 11, 27)),
        ("wed", date(2026, 12, 2)),  # the coming Wednesday, not today
        ("+2d", date(2026, 11, 27)),
        ("-1d", date(2026, 11, 24)),
        ("in 3 days", date(2026, 11, 28)),
        ("2 days ago", date(2026, 11, 23)),
    ],
)
def test_days_as_people_say_them(frozen: datetime, text: str, day: date) -> None:
    assert dates.parse_day(text, HELSINKI) == day


def test_no_day_is_today_in_the_branch_zone(frozen: datetime) -> None:
    assert dates.parse_day(None, HELSINKI) == date(2026, 11, 25)
    assert dates.parse_day(None, "Pacific/Kiritimati") == date(2026, 11, 26)  # already tomorrow there


def test_nonsense_is_refused_naming_the_option(frozen: datetime) -> None:
    with pytest.raises(InvalidInput) as caught:
        dates.parse_day("someday", HELSINKI, "--from")
    assert caught.value.field == "--from" and "tomorrow" in caught.value.message


def test_tomorrow_is_accepted_by_the_commands(sqlite_db: Database, frozen: datetime) -> None:
    build_world(sqlite_db)
    base = ["--db", sqlite_db.url, "--as", "dana"]
    for args in (["jobs", "list"], ["techs", "list"], ["timesheets", "list"]):
        result = runner.invoke(app, [*base, *args, "--date", "tomorrow", "--json"])
        assert result.exit_code == 0, (args, result.output)
    report = runner.invoke(app, [*base, "report", "kpis", "--from", "mon", "--to", "+8d", "--json"])
    assert report.exit_code == 0, report.output
    bad = runner.invoke(app, [*base, "jobs", "list", "--date", "someday"])
    assert bad.exit_code == 2 and "'someday' is not a date" in bad.stderr


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("dispatch ")
    assert result.stdout.split()[1][0].isdigit()


def test_every_command_documents_its_exit_codes() -> None:
    root = get_command(app)

    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        if hasattr(command, "list_commands"):  # a group; the root loads each command's module on asking
            ctx = command.context_class(command)
            for name in command.list_commands(ctx):
                found += walk(command.get_command(ctx, name), [*path, name])
        return found

    paths = walk(root, [])
    assert len(paths) > 40
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        assert "Exit codes: 0 done" in result.stdout and "3 conflict" in result.stdout, path


def _bash(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "PATH": f"{Path(DISPATCH).parent}:{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)


def test_bash_completion_script_loads_and_completes(tmp_path: Path) -> None:
    script = tmp_path / "dispatch.bash"
    shown = _bash(f"dispatch --show-completion > {script}", tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "complete" in script.read_text()
    loaded = _bash(f"set -e; source {script}; complete -p dispatch", tmp_path)
    assert loaded.returncode == 0 and loaded.stderr == "", loaded.stderr
    assert "dispatch" in loaded.stdout
    words = _bash("_DISPATCH_COMPLETE=complete_bash COMP_WORDS='dispatch jo' COMP_CWORD=1 dispatch", tmp_path)
    assert "jobs" in words.stdout.split()


def test_install_completion_for_bash_lands_in_bashrc(tmp_path: Path) -> None:
    installed = _bash("dispatch --install-completion", tmp_path)
    assert installed.returncode == 0, installed.stderr
    assert "bash completion installed" in installed.stdout
    loaded = _bash("set -e; source ~/.bashrc; complete -p dispatch", tmp_path)
    assert loaded.returncode == 0 and "dispatch" in loaded.stdout, loaded.stderr


def test_zsh_completion_script(tmp_path: Path) -> None:
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    shown = subprocess.run([DISPATCH, "--show-completion", "zsh"], capture_output=True, text=True, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "#compdef dispatch" in shown.stdout and "_DISPATCH_COMPLETE=complete_zsh" in shown.stdout
    if shutil.which("zsh") is None:
        return  # the script's text is checked; loading it needs zsh (installed by .ci/run)
    script = tmp_path / "_dispatch"
    script.write_text(shown.stdout)
    loaded = subprocess.run(
        ["zsh", "-c", f"autoload -Uz compinit && compinit -u && source {script}"],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(tmp_path)},
    )
    assert loaded.returncode == 0 and loaded.stderr == "", loaded.stderr


def test_import_dash_reads_stdin_and_export_dash_writes_stdout(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    base = ["--db", sqlite_db.url, "--as", "dana"]
    body = "\n".join([HEADER, "A1,repair,2,Leak,S1,plumbing:1,30"]) + "\n"
    landed = runner.invoke(app, [*base, "import", "jobs", "-", "--json"], input=body)
    assert landed.exit_code == 0, landed.output
    assert json.loads(landed.stdout)["created"] == 1
    as_json = json.dumps([{"ref": "A2", "type": "repair", "priority": 2, "summary": "Drip", "site": "S1",
                           "skills": "plumbing:1", "duration_minutes": 30}])  # fmt: skip
    again = runner.invoke(app, [*base, "import", "jobs", "-", "--json"], input=as_json)
    assert again.exit_code == 0, again.output
    bad = runner.invoke(app, [*base, "import", "jobs", "-", "--skip-bad"], input=body)
    assert bad.exit_code == 2 and "--rejects" in bad.stderr
    os.chdir(tmp_path)
    exported = runner.invoke(app, [*base, "export", "jobs", "--out", "-"])
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith("ref,") and "A1" in exported.stdout and "A2" in exported.stdout
    assert not (tmp_path / "-").exists()


def test_piped_tables_are_full_tab_separated_rows(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    base = ["--db", sqlite_db.url, "--as", "dana"]
    summary = "Heat pump makes a grinding noise at night; the customer asks for a morning visit " * 2
    created = runner.invoke(app, [*base, "jobs", "create", "--site", "S1", "--summary", summary.strip(), "--json"])
    assert created.exit_code == 0, created.output
    ref = json.loads(created.stdout)["ref"]
    listed = runner.invoke(app, [*base, "jobs", "list"], env={"COLUMNS": "40"})
    assert listed.exit_code == 0, listed.output
    [row] = [line.split("\t") for line in listed.stdout.splitlines() if line.startswith(ref)]
    assert summary.strip() in row  # whole, never cut to the terminal's width
    assert "─" not in listed.stdout and "│" not in listed.stdout
