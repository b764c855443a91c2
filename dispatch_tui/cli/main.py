"""The `dispatch` command line: a thin Typer adapter over data services.

Every module in `dispatch_tui.cli.commands` exposes `register(app)`; this file only gathers them.
Exit codes: 0 ok, 1 error, 2 bad usage or input, 3 conflict.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

from dispatch_tui.cli import commands
from dispatch_tui.cli.context import STATE

app = typer.Typer(
    help="Dispatch: field service dispatch from the terminal.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None, "--db", help="Database URL or SQLite path (default: $DISPATCH_DATABASE_URL, then the user data dir)."
    ),
    as_user: str | None = typer.Option(None, "--as", help="Act as this Dispatch user (default: your OS login)."),
) -> None:
    STATE.db_url = db
    STATE.as_user = as_user
    STATE._db = None
    if ctx.invoked_subcommand is None:
        console = importlib.import_module("dispatch_tui.cli.commands.console")
        console.open_console()


for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"{commands.__name__}.{info.name}").register(app)


def run() -> None:
    app()
