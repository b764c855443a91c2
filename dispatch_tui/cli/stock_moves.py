"""`dispatch stock move|transfer|restock|low` and `dispatch stock returns list|receive|close`: parts between the
warehouse and vans, vans filled up to their minimums, what is low, and the parts travelling back."""

from __future__ import annotations

import typer
from rich.table import Table

from data.db import Database
from data.models.field import PartReturn, ReturnStatus
from data.queries.stock import list_returns, low_stock
from data.services.stock import close_return, move_stock, receive_return, restock_van, return_row
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json

returns_app = typer.Typer(help="Part returns: list, receive, close.", no_args_is_help=True)


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


@handles_errors
def transfer_command(
    sku: str = typer.Argument(..., help="Part SKU."),
    quantity: int = typer.Argument(..., help="How many."),
    source: str = typer.Option(..., "--from", help="Stock location code, e.g. VAN-T1."),
    target: str = typer.Option(..., "--to", help="Stock location code, e.g. VAN-T2."),
    reason: str = typer.Option("transfer between vans", "--reason", help="Why, for the stock history."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Hand parts from one van (or warehouse) to another; both sides are required."""
    move_command(sku, quantity, source, target, reason, as_json)


@handles_errors
def restock_command(
    van: str = typer.Argument(..., help="Van stock location code, e.g. VAN-T1."),
    source: str | None = typer.Option(None, "--from", help="Warehouse code (default: the branch's only warehouse)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Fill a van up to its minimums (`dispatch stock edit VAN --minimums 'SKU=N;...'`) from the warehouse."""
    done = restock_van(db(), actor(), van, source)
    rows = [{"sku": r.sku, "moved": r.moved, "short": r.short} for r in done]
    if as_json:
        print_json({"van": van, "parts": rows})
        return
    if not rows:
        out.print(f"{van} holds its minimums: nothing to restock", highlight=False)
    for r in done:
        short = f" ({r.short} short: the warehouse ran out)" if r.short else ""
        out.print(f"{van}: +{r.moved} x {r.sku}{short}", markup=False, highlight=False)


@handles_errors
def low_command(
    location: str | None = typer.Option(None, "--location", help="Only this stock location."),
    branch: str | None = typer.Option(None, "--branch", help="Only this branch's locations."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """Parts below their location's minimum (vans to restock, warehouse to reorder)."""
    rows = low_stock(db(), location, branch)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} low level(s)", header_style="bold")
    for col in ("location", "sku", "part", "holds", "minimum", "short"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        table.add_row(r["location"], r["sku"], r["part"], str(r["quantity"]), str(r["min_quantity"]), str(r["short"]))
    out.print(table)


@returns_app.command("list")
@handles_errors
def returns_list_command(
    status: ReturnStatus | None = typer.Option(None, "--status", help="pending, received, claimed or closed."),
    location: str | None = typer.Option(None, "--location", help="Coming from or received at this location."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """Part returns, oldest first (replaced parts travelling back from the vans)."""
    rows = list_returns(db(), status, location)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} part return(s)", header_style="bold")
    for col in ("id", "status", "sku", "serial", "job", "from", "to", "disposition", "claim"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        cells = (r["id"], r["status"], r["sku"], r["serial"], r["job"], r["from"], r["to"], r["disposition"])
        table.add_row(*(str(c or "") for c in cells), str(r["warranty_claim_ref"] or ""))
    out.print(table)


@returns_app.command("receive")
@handles_errors
def returns_receive_command(
    return_id: int = typer.Argument(..., help="Part return id (from `dispatch stock returns list`)."),
    at_location: str = typer.Option(..., "--at", help="Where it arrived: a stock location code, e.g. WH-HEL."),
    note: str | None = typer.Option(None, "--note", help="What was found."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """A returned part arrived: pending -> received."""
    database = db()
    ret = receive_return(database, actor(), return_id, at_location, note=note)
    _print_return(database, ret.id, as_json, f"part return {return_id} received at {at_location}")


@returns_app.command("close")
@handles_errors
def returns_close_command(
    return_id: int = typer.Argument(..., help="Part return id."),
    claim_ref: str | None = typer.Option(None, "--claim-ref", help="The supplier's warranty claim reference."),
    note: str | None = typer.Option(None, "--note", help="How it ended (repaired, scrapped, credited)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Done with a received return."""
    database = db()
    ret = close_return(database, actor(), return_id, claim_ref=claim_ref, note=note)
    _print_return(database, ret.id, as_json, f"part return {return_id} closed")


def _print_return(database: Database, return_id: int, as_json: bool, message: str) -> None:
    if as_json:
        with database.read() as s:
            ret = s.get(PartReturn, return_id)
            assert ret is not None
            print_json(return_row(s, ret))
        return
    out.print(message, markup=False, highlight=False)


def add_stock_moves(group: typer.Typer) -> None:
    group.command("move")(move_command)
    group.command("transfer")(transfer_command)
    group.command("restock")(restock_command)
    group.command("low")(low_command)
    group.add_typer(returns_app, name="returns")
