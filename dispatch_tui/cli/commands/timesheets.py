"""`dispatch timesheets ...`: technicians' paid time per day, and closing days for payroll."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import select

from data.models.workforce import Technician
from data.services.timesheets import close_due_timesheets, close_timesheet, compute_timesheet, list_timesheets
from dispatch_tui.cli.commands.jobs import branch_zone
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_day

timesheets_app = typer.Typer(help="Timesheets and overtime for payroll.", no_args_is_help=True)


def _hours(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


@timesheets_app.command("list")
@handles_errors
def list_command(
    day: str | None = typer.Option(None, "--date", help=f"Day ({DATE_HELP}; default today)."),
    days: int = typer.Option(1, "--days", help="This many days ending on --date."),
    technician: str | None = typer.Option(None, "--tech", help="Only this technician (code)."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """Stored timesheets (open ones are updated on every completion)."""
    database = db()
    end = parse_day(day, branch_zone(database))
    sheets = list_timesheets(database, end - timedelta(days=max(days, 1) - 1), end, technician)
    with database.read() as s:
        codes = {t.id: t.code for t in s.scalars(select(Technician))}
    rows = [
        {
            "technician": codes.get(t.technician_id),
            "day": t.day,
            "worked_minutes": t.worked_minutes,
            "travel_minutes": t.travel_minutes,
            "break_minutes": t.break_minutes,
            "overtime_minutes": t.overtime_minutes,
            "overtime": t.overtime_breakdown,
            "status": t.status,
            "closed_by": t.closed_by,
            "closed_at": t.closed_at,
        }
        for t in sheets
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} timesheet(s)", header_style="bold")
    for col in ("tech", "day", "worked", "travel", "break", "overtime", "status"):
        table.add_column(col, no_wrap=True)
    for sheet in sheets:
        table.add_row(
            str(codes.get(sheet.technician_id)),
            sheet.day.isoformat(),
            _hours(sheet.worked_minutes),
            _hours(sheet.travel_minutes),
            _hours(sheet.break_minutes),
            _hours(sheet.overtime_minutes),
            sheet.status.value,
        )
    out.print(table)


@timesheets_app.command("show")
@handles_errors
def show_command(
    technician: str = typer.Argument(..., help="Technician code."),
    day: str | None = typer.Option(None, "--date", help=f"Day ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """Compute a day's timesheet from the field data now (whether stored or not)."""
    database = db()
    figures = compute_timesheet(database, technician, parse_day(day, branch_zone(database)))
    if as_json:
        print_json(figures.payload())
        return
    p = figures.payload()
    out.print(
        f"{p['technician']} {p['day']}: worked {_hours(figures.worked_minutes)}, travel "
        f"{_hours(figures.travel_minutes)}, break {_hours(figures.break_minutes)}, overtime "
        f"{_hours(figures.overtime_minutes)} (daily {figures.split.daily}, weekly {figures.split.weekly}, "
        f"rest day {figures.split.rest_day} min){'' if figures.rostered else ' - not a rostered day'}",
        markup=False,
        highlight=False,
    )


@timesheets_app.command("close")
@handles_errors
def close_command(
    technician: str = typer.Argument(..., help="Technician code."),
    day: str | None = typer.Option(None, "--date", help=f"Day ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Close a day for payroll (dispatchers and admins)."""
    database = db()
    sheet = close_timesheet(database, actor(), technician, parse_day(day, branch_zone(database)))
    if as_json:
        print_json({"closed": technician, "day": sheet.day, "overtime_minutes": sheet.overtime_minutes})
        return
    out.print(f"Closed {technician} {sheet.day}: overtime {_hours(sheet.overtime_minutes)}", markup=False)


@timesheets_app.command("close-due")
@handles_errors
def close_due_command(as_json: bool = typer.Option(False, "--json", help="As JSON.")) -> None:
    """Close every open timesheet whose day has ended (run it after midnight)."""
    database = db()
    closed = close_due_timesheets(database, actor(), datetime.now(ZoneInfo("UTC")))
    if as_json:
        print_json([{"technician_id": s.technician_id, "day": s.day} for s in closed])
    else:
        out.print(f"Closed {len(closed)} timesheet(s).")


def register(app: typer.Typer) -> None:
    app.add_typer(timesheets_app, name="timesheets")
