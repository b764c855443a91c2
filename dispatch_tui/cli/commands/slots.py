"""`dispatch slots`: the 2-hour windows a calling customer can be promised, with what each costs the day."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from data.services.jobs import parse_skills
from data.slots import SlotView, slot_offers
from dispatch_tui.cli.commands.jobs import site_zone
from dispatch_tui.cli.context import db, handles_errors, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, now, parse_day


@handles_errors
def slots_command(
    site: str = typer.Option(..., "--site", help="Site code of the caller."),
    skills: str | None = typer.Option(None, "--skills", help="Needed skills: gas2, gas:2 or 'hvac:3;gas:1'."),
    duration: int = typer.Option(60, "--duration", help="Minutes on site."),
    days: int = typer.Option(5, "--days", help="How many days to offer, from --from."),
    first: str | None = typer.Option(None, "--from", help=f"First day ({DATE_HELP}; default today)."),
    limit: int = typer.Option(0, "--limit", help="Show only the cheapest N windows (0: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Rank the arrival windows the branch can promise at a site, cheapest first: added travel, displaced work.

    Each window is priced by inserting the job into the day as planned (no re-plan); windows start on the
    hour, from the next full hour today."""
    database = db()
    tz = site_zone(database, site)
    offers = slot_offers(
        database,
        site,
        parse_skills(skills),
        duration,
        days,
        first_day=parse_day(first, tz, "--from"),
        now=now(tz),
    )
    if limit > 0:
        offers = offers[:limit]
    if as_json:
        print_json([o.as_dict() for o in offers])
        return
    zone = ZoneInfo(tz)
    table = Table(title=f"Windows at {site} ({len(offers)})", header_style="bold")
    for name in ("window", "technician", "arrives", "+travel", "displaced", "cost"):
        table.add_column(name, no_wrap=name != "displaced")
    for o in offers:
        table.add_row(*_cells(o, zone))
    out.print(table)


def _cells(o: SlotView, zone: ZoneInfo) -> list[str]:
    window = f"{o.window_start.astimezone(zone):%a %d %b %H:%M}-{o.window_end.astimezone(zone):%H:%M}"
    moved = ", ".join(f"{d['job']} +{d['minutes_later']} min" for d in o.displaced) or "-"
    return [
        window,
        o.technician,
        f"{o.start.astimezone(zone):%H:%M}",
        f"{o.added_travel_minutes} min",
        moved,
        f"{o.cost:.2f}",
    ]


def register(app: typer.Typer) -> None:
    app.command("slots")(slots_command)
