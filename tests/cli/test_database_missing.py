"""A mistyped --db never becomes a new empty database, and an unreachable server is one line, not a traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatch_tui.cli.main import app

runner = CliRunner()

READ_AND_WRITE_COMMANDS = [
    ["jobs", "list"],
    ["users", "list", "--json"],
    ["status", "--json"],
    ["db", "upgrade"],
    ["events", "tail"],
    ["jobs", "note", "J1", "hello"],
]


@pytest.mark.parametrize("command", READ_AND_WRITE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_missing_sqlite_file_is_refused_not_created(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "not-there" / "typo.sqlit"
    result = runner.invoke(app, ["--db", str(typo), *command])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert f"no database at {typo}" in message and "dispatch init" in message
    assert "Traceback" not in result.output
    assert not typo.exists() and not typo.parent.exists()


def test_the_environment_s_database_url_is_held_to_the_same_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = tmp_path / "typo.sqlite"
    monkeypatch.setenv("DISPATCH_DATABASE_URL", f"sqlite:///{typo}")
    result = runner.invoke(app, ["jobs", "list"])
    assert result.exit_code == 2 and "no database at" in result.stderr, result.output
    assert not typo.exists()


def test_init_and_demo_create_a_database(tmp_path: Path) -> None:
    made = tmp_path / "new" / "made.sqlite"
    assert runner.invoke(app, ["--db", str(made), "init"]).exit_code == 0
    assert made.is_file()
    assert runner.invoke(app, ["--db", str(made), "users", "list"]).exit_code == 0
    demo = tmp_path / "demo.sqlite"
    args = ["--db", str(demo), "demo", "--technicians", "2", "--customers", "5", "--jobs", "3"]
    built = runner.invoke(app, [*args, "--history-days", "0", "--no-clock", "--no-console"])
    assert built.exit_code == 0, built.output
    assert demo.is_file()


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("port", [1, _closed_port()])
def test_an_unreachable_postgres_is_one_line_naming_the_host(port: int) -> None:
    url = f"postgresql://dispatch:s3cret@127.0.0.1:{port}/dispatch"
    result = runner.invoke(app, ["--db", url, "jobs", "list"])
    assert result.exit_code == 1, result.output  # 1: a database or network error, as every --help says
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "refused" in lines[0].lower()
    assert "Traceback" not in result.output and "s3cret" not in result.output


def test_status_reports_an_unreachable_server_as_not_ready() -> None:
    """`dispatch status --json` is a health check: it still prints its report, then exits 1."""
    result = runner.invoke(app, ["--db", "postgresql://dispatch:s3cret@127.0.0.1:1/dispatch", "status", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ready"] is False and "127.0.0.1:1" in report["problem"]
    assert "s3cret" not in result.output
