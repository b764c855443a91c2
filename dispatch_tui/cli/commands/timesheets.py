"""`dispatch timesheets ...`: technicians' paid time per day, closing days, approving weeks, the payroll CSV."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import select

from data.models.workforce import Technician
from data.services.timesheets import (
    approve_week,
    close_due_timesheets,
    close_timesheet,
    compute_timesheet,
    list_timesheets,
)
from data.transfer.payroll_csv import payroll_csv
from dispatch_tui.cli import dates
from dispatch_tui.cli.commands.jobs import branch_zone
from dispatch_tui.cli.context import EXIT_BAD_INPUT, actor, db, err, handles_errors, labelled, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_day

WEEK_HELP = "ISO week, e.g. 2026-W48."

timesheets_app = typer.Typer(
    help="Timesheets for payroll: the clocked day, overtime, week approval, the payroll CSV.", no_args_is_help=True
)


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
            "clock_in": t.clock_in,
            "clock_out": t.clock_out,
            "on_site_minutes": t.on_site_minutes,
            "waiting_minutes": t.waiting_minutes,
            "absences": t.absences,
            "holiday": t.holiday,
            "status": t.status,
            "closed_by": t.closed_by,
            "closed_at": t.closed_at,
            "approved_by": t.approved_by,
            "approved_at": t.approved_at,
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
            "approved" if sheet.approved_at is not None else sheet.status.value,
        )
    out.print(table)


@timesheets_app.command("show")
@handles_errors
def show_command(
    technician: str = typer.Argument(..., help="Technician code."),
    day: str | None = typer.Option(None, "--date", help=f"Day ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """Compute a day's timesheet from the day's clocking and status events now (whether stored or not)."""
    database = db()
    zone = branch_zone(database)
    figures = compute_timesheet(database, technician, parse_day(day, zone), now=dates.now(zone))
    if as_json:
        print_json(figures.payload())
        return
    p = figures.payload()
    out.print(
        f"{p['technician']} {p['day']}: worked {_hours(figures.worked_minutes)}, travel "
        f"{_hours(figures.travel_minutes)}, break {_hours(figures.break_minutes)}, overtime "
        f"{_hours(figures.overtime_minutes)} (daily {figures.split.daily}, weekly {figures.split.weekly}, "
        f"rest day {figures.split.rest_day}, holiday {figures.split.holiday} min)"
        f"{'' if figures.rostered else ' - not a rostered day'}{f' - {figures.holiday}' if figures.holiday else ''}"
        f"{'' if figures.source == 'attendance' else ' - from completion reports (not clocked)'}",
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


@timesheets_app.command("approve")
@handles_errors
def approve_command(
    week: str = typer.Option(..., "--week", help=WEEK_HELP),
    technician: str | None = typer.Option(None, "--technician", "--tech", help="One technician (code)."),
    branch: str | None = typer.Option(None, "--branch", help="Every technician of this branch (code)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Approve a week: close its open days, lock them and publish them to payroll (all or none)."""
    database = db()
    approvals = approve_week(
        database, actor(), week, technician=technician, branch=branch, now=dates.now(branch_zone(database))
    )
    if as_json:
        print_json([a.payload() for a in approvals])
        return
    for a in approvals:
        p = a.payload()
        out.print(
            f"Approved {a.technician} {a.week}: {len(a.days)} day(s), paid {_hours(p['paid_minutes'])}, "
            f"overtime {_hours(p['overtime_minutes'])}",
            markup=False,
            highlight=False,
        )


@timesheets_app.command("export")
@handles_errors
def export_command(
    week: str = typer.Option(..., "--week", help=WEEK_HELP),
    fmt: str = typer.Option("csv", "--format", help="csv (the layout in docs/payroll-csv.md)."),
    out_path: Path | None = typer.Option(None, "--out", help="Write to this file (default, or -: standard output)."),
    technician: str | None = typer.Option(None, "--technician", "--tech", help="One technician (code)."),
    branch: str | None = typer.Option(None, "--branch", help="Every technician of this branch (code)."),
    include_open: bool = typer.Option(False, "--all", help="Also the days not approved yet (status column says)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON for scripts."),
) -> None:
    """The payroll CSV of a week: one row per technician per day, approved days only unless --all."""
    if fmt != "csv":
        err.print(labelled("error", f"option: --format: '{fmt}' is not a payroll format (csv)"))
        raise typer.Exit(EXIT_BAD_INPUT)
    to_stdout = out_path is None or str(out_path) == "-"
    if as_json and to_stdout:
        err.print(labelled("error", "option: --json: the CSV takes standard output; give --out FILE"))
        raise typer.Exit(EXIT_BAD_INPUT)
    database = db()
    body, rows = payroll_csv(
        database,
        week,
        technician=technician,
        branch=branch,
        approved_only=not include_open,
        now=dates.now(branch_zone(database)),
    )
    if to_stdout or out_path is None:
        sys.stdout.write(body)
        return
    out_path.write_text(body, encoding="utf-8", newline="")
    if as_json:
        print_json({"week": week, "rows": rows, "out": str(out_path)})
    else:
        err.print(f"wrote {rows} row(s) to {out_path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(timesheets_app, name="timesheets")
