"""`dispatch customers show C…`: the profile with contacts, sites, assets, contracts, open invoices and payments."""

from __future__ import annotations

from typing import Any

import typer

from data.queries.customers import customer_profile
from dispatch_tui.cli.context import db, handles_errors, out, print_json
from dispatch_tui.cli.records import print_fields, print_rows

SECTIONS = ("contacts", "sites", "assets", "contracts", "open_invoices")


@handles_errors
def show_command(
    code: str = typer.Argument(..., metavar="CODE", help="The customer's code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """One customer: profile, contacts, sites, assets, contracts, open invoices and payment status (as last pulled
    from accounting)."""
    found = customer_profile(db(), code)
    if as_json:
        print_json(found)
        return
    status: dict[str, Any] = dict(found["payment_status"])
    payments = status.pop("recent_payments")
    print_fields(f"customer {code}", {k: v for k, v in found.items() if k not in (*SECTIONS, "payment_status")})
    for section in SECTIONS:
        rows = found[section]
        if rows:
            print_rows(section.replace("_", " "), list(rows[0]), rows)
        else:
            out.print(f"{section.replace('_', ' ')}: none", highlight=False)
    print_fields("payment status (from accounting)", status)
    if payments:
        print_rows("recent payments", list(payments[0]), payments)


def add_customer_profile(group: typer.Typer) -> None:
    group.command("show")(show_command)
