"""`dispatch maintenance ...`: recurring maintenance plans and generating their jobs ahead of time."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table
from sqlalchemy import select

from data.models.customers import Asset, Contract, Site
from data.services.maintenance import generate_due_jobs, list_plans
from dispatch_tui.cli.commands.jobs import branch_zone
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_day

maintenance_app = typer.Typer(help="Recurring maintenance plans and their jobs.", no_args_is_help=True)


@maintenance_app.command("generate")
@handles_errors
def generate_command(
    horizon_days: int = typer.Option(
        30, "--horizon-days", help="Create jobs for due dates up to this many days ahead."
    ),
    today: str | None = typer.Option(None, "--today", help=f"Pretend today is this day ({DATE_HELP})."),
    as_json: bool = typer.Option(False, "--json", help="The generated jobs as JSON."),
) -> None:
    """Create the jobs of every plan due within the horizon; running it again creates nothing new."""
    database = db()
    day: date = parse_day(today, branch_zone(database), "--today")
    from dispatch_tui.cli.progress import progress_bar

    with progress_bar("generating maintenance jobs") as bar:
        made = generate_due_jobs(database, actor(), horizon_days, day, progress=bar.advance_to)
    if as_json:
        print_json(
            [
                {
                    "plan": v.plan_code,
                    "due": v.due,
                    "job": v.job_ref,
                    "window_start": v.window_start,
                    "window_end": v.window_end,
                }
                for v in made
            ]
        )
        return
    if not made:
        out.print(f"No maintenance due by {day.isoformat()} + {horizon_days} days that is not already planned.")
        return
    table = Table(title=f"{len(made)} maintenance job(s) created", header_style="bold")
    for col in ("plan", "due", "job", "window (UTC)"):
        table.add_column(col, no_wrap=True)
    for v in made:
        table.add_row(
            v.plan_code, v.due.isoformat(), v.job_ref, f"{v.window_start:%Y-%m-%d %H:%M}-{v.window_end:%H:%M}"
        )
    out.print(table)


@maintenance_app.command("plans")
@handles_errors
def plans_command(as_json: bool = typer.Option(False, "--json", help="As JSON.")) -> None:
    """Every maintenance plan with its next due date."""
    database = db()
    plans = list_plans(database)
    with database.read() as s:
        sites = {x.id: x.code for x in s.scalars(select(Site).where(Site.id.in_({p.site_id for p in plans})))}
        assets = {a.id: a.serial for a in s.scalars(select(Asset))} if plans else {}
        contracts = {c.id: c.code for c in s.scalars(select(Contract))} if plans else {}
    rows = [
        {
            "code": p.code,
            "site": sites.get(p.site_id),
            "asset": assets.get(p.asset_id) if p.asset_id else None,
            "contract": contracts.get(p.contract_id) if p.contract_id else None,
            "summary": p.summary,
            "every_months": p.interval_months,
            "season_months": p.season_months,
            "next_due": p.next_due,
            "last_generated": p.last_generated,
            "active": p.active,
        }
        for p in plans
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} maintenance plan(s)", header_style="bold")
    for col in ("code", "site", "asset", "contract", "every", "season", "next due", "summary"):
        table.add_column(col)
    for plan, r in zip(plans, rows, strict=True):
        table.add_row(
            plan.code,
            str(r["site"]),
            str(r["asset"] or "-"),
            str(r["contract"] or "-"),
            f"{plan.interval_months} mo",
            ",".join(str(m) for m in plan.season_months) or "any",
            plan.next_due.isoformat(),
            plan.summary,
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(maintenance_app, name="maintenance")
