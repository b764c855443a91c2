"""An unexpected error never shows customer data: one line on screen, the traceback (no locals) in a 0600 log."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from data.db import Database
from data.errors import InvalidInput
from dispatch_tui.cli.crash_guard import CrashGuardGroup
from dispatch_tui.cli.main import app

SECRET_LOCAL = "Aino Virtanen, Mannerheimintie 5, lockbox 4471"
SECRET_MESSAGE = "parameters: ('aino@example.fi',)"


def _crash(*_args: object, **_kwargs: object) -> Database:
    customer = SECRET_LOCAL  # a frame local a rich traceback would print
    raise RuntimeError(f"INSERT failed for {customer[:4]} {SECRET_MESSAGE}")


def test_an_unexpected_error_prints_one_line_and_logs_the_traceback_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("data.db.open_database", _crash)  # the CLI opens the database through data.db on first use
    log = tmp_path / "logs" / "dispatch.log"
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.sqlite"), "--log-file", str(log), "jobs", "list"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == f"internal error, details in {log}"
    assert SECRET_LOCAL not in result.output and SECRET_MESSAGE not in result.output
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    written = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in written and "RuntimeError" in written
    assert SECRET_LOCAL not in written  # the traceback carries no local variables


def test_typer_never_shows_locals() -> None:
    assert app.pretty_exceptions_show_locals is False


def test_a_refusal_keeps_its_own_message_and_exit_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.sqlite"), "jobs", "show", "NOPE"])
    assert result.exit_code == 2 and "internal error" not in result.output


def test_a_refusal_escaping_a_command_still_gets_its_message_and_exit_code() -> None:
    guarded = typer.Typer(cls=CrashGuardGroup)

    @guarded.command()
    def undecorated() -> None:  # no @handles_errors
        raise InvalidInput("'x.sqlite' is not a database", record="--db", field="path")

    @guarded.command()
    def other() -> None: ...

    result = CliRunner().invoke(guarded, ["undecorated"])
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "is not a database" in result.stderr
