"""The command line starts without loading what only some commands need."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dispatch_tui.cli.main import COMMANDS, load_command

HEAVY = ("sqlalchemy.orm", "ortools", "textual", "httpx", "alembic")


def test_importing_the_cli_loads_no_models_solver_tui_or_http_client() -> None:
    probe = (
        f"import sys, json, dispatch_tui.cli.main; print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_the_root_help_loads_no_command_module() -> None:
    probe = (
        "import sys, json\n"
        "sys.argv = ['dispatch', '--help']\n"
        "from dispatch_tui.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        f"sys.stderr.write(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stderr) == []
    for name in COMMANDS:
        assert name in done.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_command_is_registered_by_its_module_with_the_listed_help(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert command.get_short_help_str(limit=500) == COMMANDS[name].help


def test_every_command_module_is_listed_with_every_command_it_registers() -> None:
    import importlib
    import pkgutil

    import typer

    from dispatch_tui.cli import commands

    registered: dict[str, str] = {}
    for info in pkgutil.iter_modules(commands.__path__):
        holder = typer.Typer()
        importlib.import_module(f"{commands.__name__}.{info.name}").register(holder)
        names = [c.name for c in holder.registered_commands] + [g.name for g in holder.registered_groups]
        registered |= {str(n): info.name for n in names}
    assert registered == {name: entry.module for name, entry in COMMANDS.items()}


def test_opening_the_console_loads_no_planner() -> None:
    """The console's first screen needs no OR-Tools, numpy or road graph: suggestions and `:slots` load them."""
    planner = ("ortools", "numpy", "scipy", "data.planning", "data.slots", "optimizer.solver")
    probe = (
        "import sys, json\n"
        "import dispatch_tui.cli.commands.console, dispatch_tui.app, dispatch_tui.feed_source\n"
        f"print(json.dumps([m for m in {list(planner)!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
