"""`dispatch schedule --file`: plan a problem JSON with no database, show progress, write the plan.

A plain function so the Typer command (wired by the CLI module) stays a one-line adapter.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from optimizer.errors import OptimizerError, ProblemError
from optimizer.io import dump_plan, load_problem, write_json
from optimizer.model import Plan, Problem
from optimizer.solver import SolutionProgress, solve
from optimizer.validate import ValidationReport, validate

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def schedule_from_file(problem: Path, out: Path | None, time_limit: float, as_json: bool) -> int:
    """Load, solve, validate and report. Returns the process exit code (2 = bad problem file)."""
    err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
    console = Console(stderr=as_json)  # with --json, stdout carries only the JSON
    try:
        loaded = load_problem(problem)
    except ProblemError as exc:
        err.print(Text.assemble(("error:", "bold red"), f" {problem}: {exc}"))
        return EXIT_BAD_INPUT
    try:
        plan = _solve_with_progress(loaded, time_limit, console)
    except OptimizerError as exc:
        err.print(Text.assemble(("error:", "bold red"), f" {exc}"))
        return EXIT_FAILED
    report = validate(loaded, plan)
    document = dump_plan(plan)
    if out is not None:
        write_json(out, document)
    if as_json:
        document["validation"] = [str(v) for v in report.violations]
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _print_summary(console, loaded, plan, report, out)
    return EXIT_OK if report.ok else EXIT_FAILED


def _solve_with_progress(problem: Problem, time_limit: float, console: Console) -> Plan:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(
            f"planning {len(problem.jobs)} jobs for {len(problem.technicians)} technicians", total=None
        )

        def on_solution(event: SolutionProgress) -> None:
            progress.update(task, description=f"plan #{event.solutions}, cost {event.cost / 3600:,.0f}")

        return solve(problem, time_limit=time_limit, on_solution=on_solution)


def _hours(seconds: int) -> str:
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"


def _print_summary(console: Console, problem: Problem, plan: Plan, report: ValidationReport, out: Path | None) -> None:
    o = plan.objective
    assigned = len(plan.assignment())
    console.print(
        f"[bold]{assigned}[/] of {len(problem.jobs)} jobs assigned; travel {_hours(o.travel_seconds)}, "
        f"overtime {_hours(o.overtime_seconds)}, lateness {_hours(o.lateness_seconds)}; "
        f"cost {o.total_cost:,.2f}; {plan.stats.status} in {plan.stats.wall_seconds:.1f} s"
        + ("; the time limit cut the search short" if plan.stats.time_limit_reached else ""),
        highlight=False,
    )
    for conflict in plan.conflicts:
        console.print(f"conflict: {conflict.message}", markup=False, highlight=False)
    table = Table("technician", "jobs", "start", "end", "travel", "overtime", title="load per technician")
    techs = {t.id: t for t in problem.technicians}
    for route in plan.routes:
        if not route.visits:
            continue
        overtime = max(0, route.end - techs[route.technician_id].shift_end)
        table.add_row(
            route.technician_id,
            str(len(route.visits)),
            _hours(route.start),
            _hours(route.end),
            _hours(route.travel_seconds),
            _hours(overtime),
        )
    console.print(table)
    if plan.unassigned:
        reasons = Counter(u.reason.value for u in plan.unassigned)
        console.print(
            f"[yellow]{len(plan.unassigned)} unassigned[/]: " + ", ".join(f"{r} {n}" for r, n in reasons.items())
        )
        unassigned = Table("job", "reason", "detail", title="unassigned")
        for item in plan.unassigned:
            unassigned.add_row(item.job_id, item.reason.value, item.detail)
        console.print(unassigned)
    if not report.ok:
        console.print(f"[bold red]{len(report.violations)} validation problem(s):[/]")
        for violation in report.violations[:20]:
            console.print(f"  {violation}", markup=False, highlight=False)
    if out is not None:
        console.print(f"plan written to {out}", highlight=False)
