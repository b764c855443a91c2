"""The `dispatch` command line: a thin Typer adapter over data services.

Every module in `dispatch_tui.cli.commands` exposes `register(app)`; `COMMANDS` below names each command, the
module that registers it and its one-line help. A module is imported only when its command runs (or its own --help
is asked for), so `dispatch --help` and a quick `dispatch jobs list` do not pay for OR-Tools, Alembic or Textual.
Exit codes: 0 ok, 1 error, 2 bad usage or input, 3 conflict; every command's --help says so in its epilog.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer import _click as click  # Typer 0.29 vendors its own Click; its types are the ones TyperGroup takes
from typer.core import TyperCommand

from dispatch_tui.cli.context import STATE, fail
from dispatch_tui.cli.crash_guard import CrashGuardGroup
from integrations.logs import configure_logging, export_to_environment

EXIT_CODES_EPILOG = (
    "Exit codes: 0 done; 1 error (database, network, a bug); 2 bad usage or input (nothing written); "
    "3 conflict (someone changed the record first: reload and retry)."
)


@dataclass(frozen=True)
class CommandEntry:
    """One top-level command: the module in `dispatch_tui.cli.commands` that registers it, and its one-line help."""

    module: str
    help: str


COMMANDS: dict[str, CommandEntry] = {
    "console": CommandEntry(
        "console", "Open the live dispatch console: technicians, jobs, board, map, calendar; dispatch by keyboard."
    ),
    "demo": CommandEntry(
        "demo", "Build the demo company (a separate demo.sqlite unless --db is given) and print what it holds."
    ),
    "init": CommandEntry(
        "init", "Create (or migrate) the database; when it has no users, add an admin mapped to your OS login."
    ),
    "schedule": CommandEntry(
        "schedule", "Plan a day: skills, windows, shifts, breaks, priorities, SLAs and workload balance."
    ),
    "replan": CommandEntry(
        "schedule", "Re-plan the rest of a day after a change, keeping work under way, pins and told appointments."
    ),
    "serve": CommandEntry(
        "serve",
        "Serve the field API (OpenAPI at /docs) and the technicians' web app (/app/) until stopped with Ctrl-C.",
    ),
    "slots": CommandEntry(
        "slots",
        "Rank the arrival windows the branch can promise at a site, cheapest first: added travel, displaced work.",
    ),
    "status": CommandEntry(
        "status", "Database reachable and migrated, deliveries by state, the oldest pending one and the dead letters."
    ),
    "import": CommandEntry(
        "transfer", "Import a file in one transaction: any bad row and nothing lands (exit 2), unless --skip-bad."
    ),
    "export": CommandEntry("transfer", "Export records; CSV and JSON re-import unchanged (round trip)."),
    "worker": CommandEntry("worker", "Run the delivery worker (several may run at once on PostgreSQL; one on SQLite)."),
    "db": CommandEntry("db", "Database: upgrade, backup, restore."),
    "deliveries": CommandEntry("deliveries", "Integration deliveries: the outbox and its dead letters."),
    "events": CommandEntry("events", "The event log: who did what, when."),
    "integrations": CommandEntry(
        "integrations", "Connectors: configuration check, request preview, OAuth authorisation."
    ),
    "jobs": CommandEntry(
        "jobs", "Work orders: list, show, create, edit, assign, unassign, status, complete, reopen, note."
    ),
    "maintenance": CommandEntry("maintenance", "Recurring maintenance plans and their jobs."),
    "map": CommandEntry("map", "Maps: import an OpenStreetMap extract as a branch's base layer and road graph."),
    "reminders": CommandEntry(
        "reminders", "Customer reminders by email (SMTP) and SMS (signed webhook); never sent twice."
    ),
    "help": CommandEntry("help", "Help on a topic: first steps, each view's columns and glyphs, roles, backups."),
    "messages": CommandEntry("messages", "Messages on jobs and with technicians: list, send."),
    "report": CommandEntry("report", "Reports: KPIs over a date range."),
    "roles": CommandEntry("roles", "Roles: the built-in ones and those the company defines."),
    "secrets": CommandEntry("secrets", "Secrets encrypted at rest: set, list, rotate the key."),
    "techs": CommandEntry("techs", "Technicians: list, show, free, absent."),
    "timesheets": CommandEntry("timesheets", "Timesheets and overtime for payroll."),
    "tokens": CommandEntry("tokens", "Field API tokens: one or more per technician, revocable, stored hashed."),
    "users": CommandEntry("users", "Users and roles."),
    "branches": CommandEntry("records", "Branches: time zone, depot, tax, currency, service area."),
    "skills": CommandEntry("records", "Skills technicians hold and jobs need."),
    "technicians": CommandEntry(
        "records", "Technicians: branch, home base, skills with levels, weekly shifts, cost, van."
    ),
    "customers": CommandEntry("records", "Customers and their primary contact."),
    "sites": CommandEntry("records", "Sites: where the work is, which branch serves it, access notes."),
    "assets": CommandEntry("records", "Assets at sites, by serial: kind, model, install date, warranty."),
    "contracts": CommandEntry(
        "records", "Service contracts: SLA, coverage hours, covered job types and parts, validity."
    ),
    "price-lists": CommandEntry("records", "Price lists: labour rate and rounding, call-out fee, part prices."),
    "parts": CommandEntry("records", "Parts by SKU: cost, list price, supplier."),
    "stock": CommandEntry(
        "records", "Stock locations (warehouse, vans), the quantities counted in them, moves between them."
    ),
    "plans": CommandEntry("records", "Maintenance plans: create, edit, pause (--active no), archive."),
    "invoices": CommandEntry(
        "invoices", "Invoices drafted on completion: list, show, credit (a credit note), credit-notes."
    ),
    "quotes": CommandEntry("quotes", "Quotes for extra work: propose, list, show, accept (a new job), decline."),
}


def load_command(name: str) -> click.Command:
    """Import the module that registers `name` and build that command (with the exit-code epilog) for Click."""
    entry = COMMANDS[name]
    holder = typer.Typer()
    importlib.import_module(f"dispatch_tui.cli.commands.{entry.module}").register(holder)
    document_exit_codes(holder)
    group = typer.main.get_group(holder)
    command = group.get_command(click.Context(group), name)
    if command is None:  # pragma: no cover - COMMANDS names a command its module does not register
        raise LookupError(f"dispatch_tui.cli.commands.{entry.module} registers no command {name!r}")
    return command


class LazyCommandGroup(CrashGuardGroup):
    """The root group: lists every command from `COMMANDS`, and imports a command's module only to run it.

    While the root --help is written, a command not yet loaded stands in as a bare name and one-line help.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in COMMANDS if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        if self._listing:
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name].help)
        command = load_command(cmd_name)
        self.add_command(command, cmd_name)
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    help="Dispatch: field service dispatch from the terminal.",
    no_args_is_help=False,
    cls=LazyCommandGroup,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=True,
    epilog=EXIT_CODES_EPILOG,
)


def dispatch_version() -> str:
    """The installed distribution's version (a source checkout that was never installed says so)."""
    from importlib.metadata import PackageNotFoundError, version

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


def document_exit_codes(group: typer.Typer) -> None:
    """Give every command and sub-group the exit-code epilog unless it states its own."""
    for command in group.registered_commands:
        command.epilog = command.epilog or EXIT_CODES_EPILOG
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            sub.typer_instance.info.epilog = sub.typer_instance.info.epilog or EXIT_CODES_EPILOG
            document_exit_codes(sub.typer_instance)


def run() -> None:
    app()
