"""`dispatch quotes propose|list|show|accept|decline`: extra work offered to a customer; accepted, it is a new job."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import typer

from data.errors import InvalidInput
from data.models.field import LineKind, QuoteStatus
from data.models.jobs import JobType
from data.queries.office import list_quotes, quote_detail
from data.services.jobs import parse_skills
from data.services.quotes import QuoteInput, QuoteLineInput, accept_quote, decline_quote, propose_quote
from dispatch_tui.cli.commands.jobs import job_zone
from dispatch_tui.cli.context import actor, db, fail, handles_errors, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_day, parse_moment
from dispatch_tui.cli.records import print_fields, print_rows

quotes_app = typer.Typer(
    help="Quotes for extra work: propose, list, show, accept (a new job), decline.", no_args_is_help=True
)
COLUMNS = ["ref", "job", "summary", "status", "total", "currency", "created_job"]


def parse_line(text: str, index: int, price_of: Callable[[str], Decimal] | None = None) -> QuoteLineInput:
    """'Replace valve;1;85.00' or 'Valve;2;40;part': description; quantity; unit price; kind (default labour).
    A price of '?' is asked of the accounting system (`price_of`), the description naming the SKU or item."""
    field = f"--line {index + 1}"
    parts = [p.strip() for p in text.split(";")]
    if len(parts) not in (3, 4) or not parts[0]:
        raise InvalidInput(f"'{text}' is not 'description;quantity;unit price[;kind]'", record="option", field=field)
    if parts[2] == "?":
        if price_of is None:
            raise InvalidInput("give the price: nothing answers price quotes", record="option", field=field)
        parts[2] = str(price_of(parts[0]))
    try:
        quantity, price = Decimal(parts[1]), Decimal(parts[2])
    except InvalidOperation:
        raise InvalidInput(
            f"'{text}' has a quantity or price that is not a number", record="option", field=field
        ) from None
    try:
        kind = LineKind(parts[3].lower()) if len(parts) == 4 else LineKind.LABOUR
    except ValueError:
        kinds = ", ".join(k.value for k in LineKind)
        raise InvalidInput(f"'{parts[3]}' is not one of {kinds}", record="option", field=field) from None
    return QuoteLineInput(parts[0], quantity, price, kind)


def _remote_price(item: str) -> Decimal:
    from integrations.checks import Verdict, answerer, remote_price
    from integrations.config import load_config

    price = remote_price(answerer(load_config()), item)
    if isinstance(price, Verdict):
        raise fail(f"{price.message}; give the price on the --line instead of '?'")
    return price


@quotes_app.command("propose")
@handles_errors
def propose_command(
    job: str = typer.Argument(..., help="The job the extra work came up on."),
    summary: str = typer.Option(..., "--summary", help="What the extra work is."),
    lines: list[str] = typer.Option(..., "--line", help="'description;quantity;unit price[;kind]', repeatable."),
    duration: int = typer.Option(60, "--duration", help="Minutes on site for the new job."),
    job_type: JobType = typer.Option(JobType.REPAIR, "--type"),
    skills: str | None = typer.Option(None, "--skills", help="Skills the new job needs, e.g. 'hvac:2'."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Propose extra work to the job's customer; prints the quote's ref and total. A line priced '?' (e.g.
    'FLT-01;2;?;part') takes the accounting system's price quote for that item, or stops if it cannot answer."""
    priced = [parse_line(t, i, _remote_price) for i, t in enumerate(lines)]
    quote = propose_quote(db(), actor(), job, QuoteInput(summary, priced, duration, job_type, parse_skills(skills)))
    if as_json:
        print_json({"ref": quote.ref, "total": quote.total, "currency": quote.currency, "status": quote.status})
        return
    out.print(f"proposed {quote.ref}: {quote.total} {quote.currency}", highlight=False)


@quotes_app.command("list")
@handles_errors
def list_command(
    status: QuoteStatus | None = typer.Option(None, "--status", help="proposed, accepted or declined."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Quotes, newest first."""
    found = list_quotes(db(), status)
    if as_json:
        print_json(found)
        return
    print_rows(f"Quotes ({len(found)})", COLUMNS, found)


@quotes_app.command("show")
@handles_errors
def show_command(
    ref: str = typer.Argument(..., help="Quote ref."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """One quote with its lines."""
    found = quote_detail(db(), ref)
    if as_json:
        print_json(found)
        return
    print_fields(f"quote {ref}", found)


@quotes_app.command("accept")
@handles_errors
def accept_command(
    ref: str = typer.Argument(..., help="Quote ref."),
    window_start: str | None = typer.Option(None, "--window-start", help="The new job's window: HH:MM or ISO 8601."),
    window_end: str | None = typer.Option(None, "--window-end"),
    day: str | None = typer.Option(None, "--date", help=f"Day for bare HH:MM times ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """The customer accepts: the quote becomes a new job at the same site."""
    database = db()
    tz = job_zone(database, quote_detail(database, ref)["job"])
    when = parse_day(day, tz)
    quote, job = accept_quote(
        database,
        actor(),
        ref,
        window_start=parse_moment(window_start, when, tz, "--window-start") if window_start else None,
        window_end=parse_moment(window_end, when, tz, "--window-end") if window_end else None,
    )
    if as_json:
        print_json({"ref": quote.ref, "status": quote.status, "job": job.ref})
        return
    out.print(f"{quote.ref} accepted: job {job.ref} created", highlight=False)


@quotes_app.command("decline")
@handles_errors
def decline_command(
    ref: str = typer.Argument(..., help="Quote ref."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """The customer declines."""
    quote = decline_quote(db(), actor(), ref)
    if as_json:
        print_json({"ref": quote.ref, "status": quote.status})
        return
    out.print(f"{quote.ref} declined", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(quotes_app, name="quotes")
