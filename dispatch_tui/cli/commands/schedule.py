"""`dispatch schedule`: batch planning from a problem file (no database) or from the database's day."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from data.actor import SYSTEM, Actor
from data.db import Database
from data.errors import DispatchError
from data.models.base import utcnow
from data.planning import (
    SCOPES,
    PlanningDay,
    apply_plan,
    branch_codes,
    explain_plan,
    load_day,
    replan_day,
    solve_warm,
)
from data.services.solves import record_solve
from dispatch_tui.cli.commands.jobs import branch_zone
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_day
from optimizer.io import dump_plan, dump_problem, write_json
from optimizer.model import Plan
from optimizer.solver import SolutionProgress, solve_partitioned
from optimizer.validate import validate

log = logging.getLogger("dispatch.schedule")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
        disable=not out.is_terminal,
    )


def _record(database: Database, who: Actor | None, planning: PlanningDay, plan: Plan, kind: str) -> None:
    """Every solve reaches the event log (and so the metrics), a dry run too; who asked, when known."""
    if who is None:
        try:
            who = actor()
        except DispatchError:
            who = SYSTEM
    record_solve(database, who, planning.branch_code, planning.day, plan, kind=kind)


def _solve_all(days: list[PlanningDay], time_limit: float) -> list[Plan]:
    """One branch: live progress from the solver; several: solved side by side in processes."""
    todo = [d for d in days if d.problem.technicians and d.problem.jobs]
    plans: dict[str, Plan] = {d.branch_code: d.current for d in days}
    with _progress() as progress:
        if len(todo) == 1:
            only = todo[0]
            task = progress.add_task(f"Planning {only.branch_code}", detail="searching", total=None)

            def update(p: SolutionProgress) -> None:
                progress.update(task, detail=f"{p.solutions} solutions, cost {p.cost:,}")

            plans[only.branch_code] = solve_warm(only, time_limit, update)
        elif todo:
            progress.add_task(f"Planning {len(todo)} branches in parallel", detail="", total=None)
            for d, plan in zip(todo, solve_partitioned([d.problem for d in todo], time_limit=time_limit), strict=True):
                plans[d.branch_code] = plan
    for d in todo:
        stats = plans[d.branch_code].stats
        log.info(
            "solve %s %s: %s in %.2f s, %d solutions, %d unassigned",
            d.branch_code, d.problem.horizon_start.date(), stats.status, stats.wall_seconds,
            stats.solutions_found, len(plans[d.branch_code].unassigned),
            extra={"branch": d.branch_code, "solve_status": stats.status, "solve_seconds": stats.wall_seconds},
        )  # fmt: skip
    return [plans[d.branch_code] for d in days]


def _summary(planning: PlanningDay, plan: Plan) -> dict[str, object]:
    report = validate(planning.problem, plan)
    why = {u.job_id: u.text for u in explain_plan(planning, plan).unassigned}
    zone = ZoneInfo(planning.timezone)  # people read times in the branch's zone
    loads = []
    for tech in planning.problem.technicians:
        route = plan.route_of(tech.id)
        visits = route.visits if route else []
        work = sum(v.end - v.start for v in visits)
        span = max(tech.shift_end - tech.shift_start, 1)
        loads.append(
            {
                "technician": tech.id,
                "jobs": len(visits),
                "work_minutes": work // 60,
                "travel_minutes": (route.travel_seconds if route else 0) // 60,
                "load_percent": round(100 * work / span),
                "first": planning.at(visits[0].start).astimezone(zone).isoformat() if visits else None,
                "last_end": planning.at(visits[-1].end).astimezone(zone).isoformat() if visits else None,
            }
        )
    return {
        "branch": planning.branch_code,
        "day": planning.day.isoformat(),
        "jobs": len(planning.problem.jobs),
        "assigned": len(plan.assignment()),
        "unassigned": [
            {"job": u.job_id, "reason": u.reason.value, "why": why.get(u.job_id, u.detail)} for u in plan.unassigned
        ],
        "travel_minutes": plan.objective.travel_seconds // 60,
        "overtime_minutes": plan.objective.overtime_seconds // 60,
        "lateness_minutes": plan.objective.lateness_seconds // 60,
        "violations": [str(v) for v in report.violations],
        "solve": {
            "status": plan.stats.status,
            "seconds": plan.stats.wall_seconds,
            "time_limit_reached": plan.stats.time_limit_reached,
        },
        "conflicts": [
            {"job": c.job_id, "technician": c.technician_id, "kind": c.kind, "message": c.message}
            for c in plan.conflicts
        ],
        "technicians": loads,
    }


def _print_summary(summary: dict[str, object]) -> None:
    out.print(
        f"[bold]{summary['branch']}[/] {summary['day']}: {summary['assigned']}/{summary['jobs']} jobs assigned, "
        f"travel {summary['travel_minutes']} min, overtime {summary['overtime_minutes']} min, "
        f"lateness {summary['lateness_minutes']} min"
    )
    table = Table("Technician", "Jobs", "Work", "Travel", "Load", "First", "Last end", box=None)
    for row in summary["technicians"]:  # type: ignore[attr-defined]
        bar = "█" * (row["load_percent"] // 10) + "░" * (10 - min(10, row["load_percent"] // 10))
        table.add_row(
            row["technician"],
            str(row["jobs"]),
            f"{row['work_minutes']} min",
            f"{row['travel_minutes']} min",
            f"{bar} {row['load_percent']}%",
            (row["first"] or "")[11:16],
            (row["last_end"] or "")[11:16],
        )
    out.print(table)
    solve = summary["solve"]
    cut = "the time limit cut the search short" if solve["time_limit_reached"] else "search finished"  # type: ignore[index]
    out.print(f"solve: {solve['status']} in {solve['seconds']} s; {cut}", markup=False, highlight=False)  # type: ignore[index]
    for c in summary["conflicts"]:  # type: ignore[attr-defined]
        out.print(f"[yellow]conflict:[/] {c['message']}", highlight=False)
    unassigned = summary["unassigned"]
    if unassigned:
        out.print("[bold]Unassigned[/]")
        for u in unassigned:  # type: ignore[attr-defined]
            out.print(f"  {u['why']}", markup=False, highlight=False)
    for v in summary["violations"]:  # type: ignore[attr-defined]
        out.print(f"[red]violation:[/] {v}")


@handles_errors
def schedule(
    problem: Path | None = typer.Option(None, "--problem", help="Plan a problem JSON file (no database)."),
    out_path: Path | None = typer.Option(None, "--out", help="Write the plan JSON here."),
    day: str | None = typer.Option(None, "--date", help=f"Plan this day from the database ({DATE_HELP})."),
    branch: str | None = typer.Option(None, "--branch", help="Only this branch (default: every branch)."),
    apply: bool = typer.Option(False, "--apply", help="Write the assignments (one transaction, with events)."),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.1, help="Seconds of search per branch."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    problem_out: Path | None = typer.Option(
        None, "--problem-out", help="Also write the database day as a problem JSON file (replay it with --problem)."
    ),
) -> None:
    """Plan a day: skills, windows, shifts, breaks, priorities, SLAs and workload balance."""
    if problem is not None:
        if day is not None or apply:
            raise typer.BadParameter("--problem plans a file; --date/--apply plan the database", param_hint="--problem")
        from dispatch_tui.cli.schedule_file import schedule_from_file

        raise typer.Exit(schedule_from_file(problem, out_path, time_limit, as_json))
    if day is None:
        raise typer.BadParameter("give --date DAY (database) or --problem FILE", param_hint="--date")
    database = db()
    who = actor() if apply else None
    when = parse_day(day, branch_zone(database, branch))
    codes = [branch] if branch else branch_codes(database)
    now = utcnow()  # today is planned from now on: what is over is over, what is under way stays
    days = [load_day(database, when, code, now) for code in codes]
    if problem_out is not None:
        if len(days) != 1:
            raise typer.BadParameter("a problem file holds one branch: add --branch", param_hint="--problem-out")
        write_json(problem_out, dump_problem(days[0].problem))
    plans = _solve_all(days, time_limit)
    for d, p in zip(days, plans, strict=True):
        _record(database, who, d, p, "schedule")
    summaries = [_summary(d, p) for d, p in zip(days, plans, strict=True)]
    applied = []
    if apply:
        assert who is not None
        for d, p in zip(days, plans, strict=True):
            result = apply_plan(database, who, d, p)
            applied.append(
                {
                    "branch": d.branch_code,
                    "assigned": result.assigned,
                    "moved": result.moved,
                    "unassigned": result.unassigned,
                    "warnings": result.warnings,
                }
            )
    if out_path is not None:
        import json

        out_path.write_text(
            json.dumps({d.branch_code: dump_plan(p) for d, p in zip(days, plans, strict=True)}, indent=2)
        )
    if as_json:
        print_json({"branches": summaries, "applied": applied if apply else None})
        return
    for s in summaries:
        _print_summary(s)
    for a in applied:
        out.print(
            f"[green]applied[/] {a['branch']}: {len(a['assigned'])} assigned, {len(a['moved'])} moved, "
            f"{len(a['unassigned'])} unassigned"
        )
    if not apply:
        out.print("[dim]dry run: no assignment written (use --apply)[/]")


@handles_errors
def replan(
    day: str = typer.Option(..., "--date", help=f"The day to re-plan ({DATE_HELP})."),
    branch: str | None = typer.Option(None, "--branch", help="Branch code (default: the first)."),
    absent: str | None = typer.Option(None, "--absent", help="Technician code who stops working now (sick call)."),
    scope: str = typer.Option(
        "minimal", "--scope", help="minimal: move only what must move; branch: re-optimise the whole day."
    ),
    apply: bool = typer.Option(False, "--apply", help="Write what is still valid; report the rest."),
    time_limit: float = typer.Option(5.0, "--time-limit", min=0.1, help="Seconds of search."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Re-plan the rest of a day after a change, keeping work under way, pins and told appointments."""
    from optimizer.replan import TechnicianAbsent

    if scope not in SCOPES:
        raise typer.BadParameter(f"use one of {', '.join(SCOPES)}", param_hint="--scope")
    database = db()
    who = actor() if apply else None
    now = utcnow()
    code = branch or branch_codes(database)[0]
    when = parse_day(day, branch_zone(database, code))
    change = None
    if absent is not None:
        current = load_day(database, when, code, now)
        change = TechnicianAbsent(absent, max(0, current.offset(now)))
    planning, plan, changes = replan_day(database, when, code, change, now=now, time_limit=time_limit, scope=scope)
    _record(database, who, planning, plan, f"replan-{scope}")
    summary = _summary(planning, plan)
    summary["moves"] = [
        {"job": m.job_id, "from": m.old_technician_id, "to": m.new_technician_id} for m in changes.moves
    ]
    applied = None
    if apply:
        assert who is not None
        result = apply_plan(database, who, planning, plan)
        applied = {
            "assigned": result.assigned,
            "moved": result.moved,
            "unassigned": result.unassigned,
            "skipped": result.skipped,
            "warnings": result.warnings,
        }
    if as_json:
        print_json({"branch": summary, "applied": applied})
        return
    _print_summary(summary)
    out.print(f"{len(changes.moves)} move(s), {len(changes.newly_unassigned)} newly unassigned")
    if applied is not None:
        out.print(f"[green]applied[/] {len(applied['assigned'])} assigned, {len(applied['moved'])} moved")
        for line in applied["skipped"]:
            out.print(f"[yellow]not applied:[/] {line}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)
    app.command("replan")(replan)
