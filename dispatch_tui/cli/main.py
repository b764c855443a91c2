"""The `dispatch` command line: a thin Typer adapter over data services.

Every module in `dispatch_tui.cli.commands` exposes `register(app)`; this file only gathers them.
Exit codes: 0 ok, 1 error, 2 bad usage or input, 3 conflict; every command's --help says so in its epilog.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer

from dispatch_tui.cli import commands
from dispatch_tui.cli.context import STATE, fail
from dispatch_tui.cli.crash_guard import CrashGuardGroup
from integrations.logs import configure_logging, export_to_environment

EXIT_CODES_EPILOG = (
    "Exit codes: 0 done; 1 error (database, network, a bug); 2 bad usage or input (nothing written); "
    "3 conflict (someone changed the record first: reload and retry)."
)

app = typer.Typer(
    help="Dispatch: field service dispatch from the terminal.",
    no_args_is_help=False,
    cls=CrashGuardGroup,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=True,
    epilog=EXIT_CODES_EPILOG,
)


def dispatch_version() -> str:
    """The installed distribution's version (a source checkout that was never installed says so)."""
    try:
        return version("dispatch")
    except PackageNotFoundError:
        return "0+unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"dispatch {dispatch_version()}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None, "--db", help="Database URL or SQLite path (default: $DISPATCH_DATABASE_URL, then the user data dir)."
    ),
    as_user: str | None = typer.Option(
        None,
        "--as",
        help="Act as this Dispatch user (only for an OS login mapped to an admin; default: your OS login's user).",
    ),
    log_level: str = typer.Option(
        "info", "--log-level", envvar="DISPATCH_LOG_LEVEL", help="debug, info, warning, error or critical."
    ),
    log_format: str = typer.Option("text", "--log-format", envvar="DISPATCH_LOG_FORMAT", help="text or json lines."),
    log_file: Path | None = typer.Option(
        None, "--log-file", help="Log file (default: $DISPATCH_LOG_FILE, then dispatch.log in the data dir; 0600)."
    ),
    show_version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
    ),
) -> None:
    if not ctx.resilient_parsing:  # completion runs the callback too, and must not touch files
        try:
            path = configure_logging(log_level.lower(), log_format.lower(), log_file)
            export_to_environment(log_level.lower(), log_format.lower(), path)
        except (ValueError, OSError) as e:
            raise fail(str(e)) from None
    STATE.db_url = db
    STATE.as_user = as_user
    STATE._db = None
    if ctx.invoked_subcommand is None:
        console = importlib.import_module("dispatch_tui.cli.commands.console")
        console.open_console()


for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"{commands.__name__}.{info.name}").register(app)


def document_exit_codes(group: typer.Typer) -> None:
    """Give every command and sub-group the exit-code epilog unless it states its own."""
    for command in group.registered_commands:
        command.epilog = command.epilog or EXIT_CODES_EPILOG
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            sub.typer_instance.info.epilog = sub.typer_instance.info.epilog or EXIT_CODES_EPILOG
            document_exit_codes(sub.typer_instance)


document_exit_codes(app)


def run() -> None:
    app()
