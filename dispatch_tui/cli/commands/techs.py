"""`dispatch techs ...`: the roster, one technician's day, and recording absences."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from data.models.workforce import AbsenceKind
from data.queries.free import FreeTechnician, free_technicians
from data.queries.technicians import TechnicianDetailView, list_technicians, technician_detail
from data.services.attendance import ClockAct, record_act
from data.services.jobs import parse_skills
from data.services.technicians import mark_absent
from dispatch_tui.cli.commands.jobs import branch_zone, site_zone
from dispatch_tui.cli.context import actor, db, err, handles_errors, labelled, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_at, parse_day, parse_moment

techs_app = typer.Typer(help="Technicians: list, show, free, absent, clock.", no_args_is_help=True)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@techs_app.command("list")
@handles_errors
def list_command(
    branch: str | None = typer.Option(None, "--branch", help="Only this branch code."),
    day: str | None = typer.Option(None, "--date", help=f"Day for shifts and job counts ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Technicians with skills, the day's shift, absences and job count."""
    database = db()
    tz = branch_zone(database, branch)
    when = parse_day(day, tz)
    rows = list_technicians(database, when, branch)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    table = Table(title=f"Technicians {when.isoformat()} ({len(rows)})", header_style="bold")
    for name in ("code", "name", "branch", "status", "skills", "shift", "absent", "jobs"):
        table.add_column(name, no_wrap=name != "skills")
    for r in rows:
        zone = ZoneInfo(r.timezone)
        shift = (
            f"{r.shift_start.astimezone(zone):%H:%M}-{r.shift_end.astimezone(zone):%H:%M}"
            if r.shift_start and r.shift_end
            else "off"
        )
        skills = " ".join(f"{k}:{v}" for k, v in r.skills.items())
        table.add_row(r.code, r.name, r.branch, r.status, skills, shift, r.absent or "", str(r.jobs))
    out.print(table)


def _print_detail(d: TechnicianDetailView) -> None:
    t = d.technician
    zone = ZoneInfo(t.timezone)
    out.print(f"[bold]{t.code}[/] {t.name}  [dim]({t.branch}, {t.status}, {t.hourly_cost} EUR/h)[/]")
    if d.email or d.phone:
        out.print(f"contact   {d.email or ''} {d.phone or ''}", markup=False)
    out.print("skills    " + ", ".join(f"{k}:{v}" for k, v in t.skills.items()))
    week = ", ".join(f"{WEEKDAYS[s['weekday']]} {s['start']:%H:%M}-{s['end']:%H:%M}" for s in d.weekly_shifts)
    out.print(f"week      {week or 'no regular shifts'}")
    if t.shift_start and t.shift_end:
        out.print(f"today     {t.shift_start.astimezone(zone):%H:%M}-{t.shift_end.astimezone(zone):%H:%M}")
    else:
        out.print("today     off")
    for a in d.absences:
        out.print(
            f"absent    {a['kind']} {a['starts_at'].astimezone(zone):%Y-%m-%d %H:%M} - "
            f"{a['ends_at'].astimezone(zone):%Y-%m-%d %H:%M} {a['note'] or ''}",
            markup=False,
        )
    if d.jobs:
        out.print("[bold]jobs[/]")
        for j in d.jobs:
            pin = " (pinned)" if j["pinned"] else ""
            out.print(
                f"  {j['planned_start'].astimezone(zone):%H:%M}-{j['planned_end'].astimezone(zone):%H:%M} "
                f"{j['ref']} {j['status']} {j['summary']}{pin}",
                markup=False,
            )
    if d.van:
        stock = ", ".join(f"{s['quantity']} x {s['sku']}" for s in d.van_stock) or "empty"
        out.print(f"van       {d.van}: {stock}", markup=False)


@techs_app.command("show")
@handles_errors
def show_command(
    code: str = typer.Argument(..., help="Technician code."),
    day: str | None = typer.Option(None, "--date", help=f"Which day ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Skills, the day's shift, absences, jobs and van stock of one technician."""
    database = db()
    detail = technician_detail(database, code, parse_day(day, branch_zone(database)))
    if as_json:
        print_json(detail.as_dict())
    else:
        _print_detail(detail)


@techs_app.command("absent")
@handles_errors
def absent_command(
    code: str = typer.Argument(..., help="Technician code."),
    kind: AbsenceKind = typer.Option(..., "--kind", help="sick, leave or training."),
    starts: str | None = typer.Option(None, "--from", help="HH:MM on --date or ISO 8601 (default: start of --date)."),
    ends: str | None = typer.Option(None, "--to", help="HH:MM on --date or ISO 8601 (default: end of --date)."),
    day: str | None = typer.Option(None, "--date", help=f"Day for bare HH:MM times ({DATE_HELP}; default today)."),
    note: str | None = typer.Option(None, "--note"),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Record an absence; lists the planned jobs it collides with (they need re-planning)."""
    database = db()
    who = actor()
    tz = branch_zone(database)
    when = parse_day(day, tz)
    start = parse_moment(starts, when, tz, "--from") if starts else parse_moment("00:00", when, tz, "--from")
    end = parse_moment(ends, when, tz, "--to") if ends else start.replace(hour=0, minute=0) + timedelta(days=1)
    absence, affected = mark_absent(database, who, code, kind, start, end, note)
    if as_json:
        print_json(
            {
                "technician": code,
                "absence_id": absence.id,
                "kind": kind.value,
                "starts_at": start,
                "ends_at": end,
                "jobs_to_replan": list(affected),
            }
        )
        return
    out.print(f"{code} {kind.value} recorded (absence {absence.id})")
    if affected:
        err.print(labelled("warning", f"planned jobs to re-plan: {', '.join(affected)}", "yellow"))


@techs_app.command("clock")
@handles_errors
def clock_command(
    code: str = typer.Argument(..., help="Technician code."),
    act: ClockAct = typer.Argument(..., help="clock_in, break_start, break_end or clock_out."),
    at: str | None = typer.Option(None, "--at", help="HH:MM on --date or ISO 8601 (default now)."),
    day: str | None = typer.Option(None, "--date", help=f"Day for a bare HH:MM ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Clock a technician in or out, or start or end their break (what the phone does, for the office)."""
    database = db()
    event = record_act(database, actor(), code, act, parse_at(at, branch_zone(database), day))
    if as_json:
        print_json(event.payload())
        return
    out.print(f"{code} {act.value} at {event.at.isoformat()}: now {event.state.value}", markup=False)


@techs_app.command("free")
@handles_errors
def free_command(
    at: str | None = typer.Option(None, "--at", help="HH:MM on --date, or ISO 8601 (default: now)."),
    day: str | None = typer.Option(None, "--date", help=f"Day for a bare --at time ({DATE_HELP}; default today)."),
    near: str | None = typer.Option(None, "--near", help="Site code: soonest there first (free time + drive)."),
    skill: str | None = typer.Option(None, "--skill", help="Needed skills: gas2, gas:2 or 'hvac:3;gas:1'."),
    branch: str | None = typer.Option(None, "--branch", help="Only this branch code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Technicians free now, or the soonest they are free today (shift, absences, breaks, jobs, live status)."""
    database = db()
    tz = site_zone(database, near) if near else branch_zone(database, branch)
    moment = parse_at(at, tz, day)
    rows = free_technicians(
        database, moment, near_site=near, skills=parse_skills(skill, field="--skill"), branch=branch
    )
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    zone = ZoneInfo(tz)
    title = f"Free at {moment.astimezone(zone):%Y-%m-%d %H:%M}" + (f" near {near}" if near else "")
    table = Table(title=f"{title} ({len(rows)})", header_style="bold")
    columns = ["code", "name", "free", "until", "busy with", "from"] + (["drive", "there"] if near else [])
    for name in columns:
        table.add_column(name, no_wrap=True)
    for r in rows:
        table.add_row(*_free_cells(r, zone, near is not None))
    out.print(table)


def _free_cells(r: FreeTechnician, zone: ZoneInfo, near: bool) -> list[str]:
    free = "now" if r.free_now else f"{r.free_from.astimezone(zone):%H:%M}"
    cells = [r.code, r.name, free, f"{r.free_until.astimezone(zone):%H:%M}", r.busy_with or "", r.location]
    if near:
        there = r.arrival.astimezone(zone).strftime("%H:%M") if r.arrival else ""
        cells += [f"{r.drive_minutes} min", there]
    return cells


def register(app: typer.Typer) -> None:
    app.add_typer(techs_app, name="techs")
