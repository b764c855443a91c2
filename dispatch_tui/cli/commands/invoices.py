"""`dispatch invoices list|show|credit|credit-notes`: the bills completions drafted (numbered in each branch's
series), their lines and cover reasons, and the credit notes that cancel them."""

from __future__ import annotations

import typer

from data.models.field import InvoiceStatus
from data.queries.office import invoice_detail, list_credit_notes, list_invoices
from data.services.invoicing import credit_invoice
from dispatch_tui.cli.commands.jobs import branch_zone
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_day
from dispatch_tui.cli.records import print_fields, print_rows

invoices_app = typer.Typer(
    help="Invoices drafted on completion: list, show, credit (a credit note), credit-notes.", no_args_is_help=True
)
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
    """One invoice with its lines, what is covered and why, and its credit note (or a credit note by its ref)."""
    found = invoice_detail(db(), ref)
    if as_json:
        print_json(found)
        return
    print_fields(f"invoice {found['ref']}", found)


@invoices_app.command("credit")
@handles_errors
def credit_command(
    ref: str = typer.Argument(..., help="Invoice ref, e.g. HEL-2026-000123."),
    reason: str = typer.Option(..., "--reason", help="Why the invoice is cancelled (goes to accounting)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Cancel an invoice in full with a credit note from the branch's credit note series."""
    note = credit_invoice(db(), actor(), ref, reason)
    if as_json:
        print_json({"ref": note.ref, "invoice": ref, "total": note.total, "currency": note.currency})
        return
    out.print(f"credit note {note.ref} cancels {ref} ({note.total} {note.currency})", highlight=False)


@invoices_app.command("credit-notes")
@handles_errors
def credit_notes_command(
    customer: str | None = typer.Option(None, "--customer", help="Customer code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Credit notes, newest first."""
    found = list_credit_notes(db(), customer=customer)
    if as_json:
        print_json(found)
        return
    print_rows(f"Credit notes ({len(found)})", ["ref", "invoice", "issued_on", "total", "currency", "reason"], found)


def register(app: typer.Typer) -> None:
    app.add_typer(invoices_app, name="invoices")
