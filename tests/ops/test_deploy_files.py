"""deploy/: the systemd units and the compose file say what the docs promise, and run real commands.

No systemd or container daemon runs here, so each unit's and service's `dispatch ...` command line is
checked by asking that very command for its --help (an unknown option or command fails).
"""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dispatch_tui.cli.main import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
runner = CliRunner()


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def _accepted(argv: list[str]) -> None:
    """`dispatch ARGS --help` exits 0: the options and commands exist (nothing runs)."""
    args = [a for a in argv if "$(" not in a]
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, (argv, result.output)


def test_every_service_we_promise_has_a_unit() -> None:
    names = {p.name for p in (DEPLOY / "systemd").iterdir()}
    for wanted in ("dispatch-worker.service", "dispatch-serve.service", "dispatch-reminders.service",
                   "dispatch-backup.service", "dispatch-backup.timer"):  # fmt: skip
        assert wanted in names


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_units_run_as_the_dispatch_user_with_a_private_environment_file(path: Path) -> None:
    service = _unit(path)["Service"]
    assert service["User"] == "dispatch" and service["EnvironmentFile"] == "/etc/dispatch/dispatch.env"
    if service.get("Type") != "oneshot":
        assert service["Restart"] == "on-failure"
    command = shlex.split(service["ExecStart"].replace("%H-%i", "host-1").replace("91%i0", "9110"))
    if command[0] == "/bin/sh":
        command = shlex.split(command[2].replace("%%", "%"))[1:]
    assert command[0].endswith("/dispatch")
    _accepted(command[1:])


def test_compose_has_postgres_workers_one_api_port_and_ssh() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["api"]["ports"] == ["8080:8080"] and services["ssh"]["ports"] == ["2222:2222"]
    for name in ("migrate", "api", "worker", "reminders"):
        _accepted(["--log-format", "json", *services[name]["command"]])
    sshd = (DEPLOY / "sshd_dispatch.conf").read_text()
    assert "ForceCommand /opt/dispatch/bin/dispatch console --no-mouse" in sshd


def test_the_environment_file_example_names_the_database() -> None:
    text = (DEPLOY / "dispatch.env.example").read_text()
    assert "DISPATCH_DATABASE_URL=postgresql+psycopg://" in text and "0600" in text
