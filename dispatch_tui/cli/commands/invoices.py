"""`dispatch invoices list|show`: the bills completions drafted, with their lines and cover reasons."""

from __future__ import annotations

import typer

from data.models.field import InvoiceStatus
from data.queries.office import invoice_detail, list_invoices
from dispatch_tui.cli.commands.jobs import branch_zone
from dispatch_tui.cli.context import db, handles_errors, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_day
from dispatch_tui.cli.records import print_fields, print_rows

invoices_app = typer.Typer(help="Invoices drafted on completion: list, show.", no_args_is_help=True)
COLUMNS = ["ref", "job", "customer", "issued_on", "status", "total", "currency"]


@invoices_app.command("list")
@handles_errors
def list_command(
    day_from: str | None = typer.Option(None, "--from", help=f"Issued on or after ({DATE_HELP})."),
    day_to: str | None = typer.Option(None, "--to", help="Issued on or before."),
    customer: str | None = typer.Option(None, "--customer", help="Customer code."),
    status: InvoiceStatus | None = typer.Option(None, "--status"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Invoices, newest first."""
    database = db()
    tz = branch_zone(database)
    found = list_invoices(
        database,
        day_from=parse_day(day_from, tz, "--from") if day_from else None,
        day_to=parse_day(day_to, tz, "--to") if day_to else None,
        customer=customer,
        status=status,
    )
    if as_json:
        print_json(found)
        return
    print_rows(f"Invoices ({len(found)})", COLUMNS, found)


@invoices_app.command("show")
@handles_errors
def show_command(
    ref: str = typer.Argument(..., help="Invoice ref, or the job's ref."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """One invoice with its lines, what is covered and why."""
    found = invoice_detail(db(), ref)
    if as_json:
        print_json(found)
        return
    print_fields(f"invoice {found['ref']}", found)


def register(app: typer.Typer) -> None:
    app.add_typer(invoices_app, name="invoices")
