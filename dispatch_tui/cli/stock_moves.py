"""`dispatch stock move`: restock a van from the warehouse, move parts between vans, receive or write off."""

from __future__ import annotations

import typer

from data.services.stock import move_stock
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json


@handles_errors
def move_command(
    sku: str = typer.Argument(..., help="Part SKU."),
    quantity: int = typer.Argument(..., help="How many."),
    source: str | None = typer.Option(None, "--from", help="Stock location code (none: received from a supplier)."),
    target: str | None = typer.Option(None, "--to", help="Stock location code (none: written off)."),
    reason: str = typer.Option("moved by the office", "--reason", help="Why, for the stock history."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Move parts between locations: --from WH-HEL --to VAN-T1 restocks a van; one side only receives or writes off."""
    move_stock(db(), actor(), sku, quantity, from_location=source, to_location=target, reason=reason)
    if as_json:
        print_json({"sku": sku, "quantity": quantity, "from": source, "to": target})
        return
    out.print(f"moved {quantity} x {sku}: {source or 'supplier'} -> {target or 'written off'}", highlight=False)


def add_stock_moves(group: typer.Typer) -> None:
    group.command("move")(move_command)
