"""An independent check of a plan against its problem: every rule re-verified from scratch.

It never trusts the solver: travel comes from the problem's own provider, durations from the jobs,
and the objective is recomputed from the routes. Every solver test asserts it finds nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass, field

from optimizer.conflicts import reconcile
from optimizer.links import link_violations
from optimizer.model import Job, ObjectiveBreakdown, PlacedBreak, Plan, Problem, Route, Technician
from optimizer.network import Network
from optimizer.objective import objective_of
from optimizer.routing_model import problem_horizon
from optimizer.screening import effective_windows


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str
    """skill, window, shift, overtime, break, overlap, travel, duration, pin, started, sla, coverage, workload,
    absence, conflict, dependency, crew."""
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind} [{self.subject}]: {self.message}"


@dataclass(slots=True)
class ValidationReport:
    violations: list[Violation] = field(default_factory=list)
    objective: ObjectiveBreakdown = field(default_factory=ObjectiveBreakdown)

    @property
    def ok(self) -> bool:
        return not self.violations


def validate(problem: Problem, plan: Plan, network: Network | None = None) -> ValidationReport:
    """Every rule re-checked; a day stretched for work under way and a pin left out are checked as
    ``optimizer.conflicts.reconcile`` allows them, and must appear in ``plan.conflicts``."""
    network = network if network is not None else Network.for_problem(problem)
    report = ValidationReport()
    out = report.violations
    reconciled = reconcile(problem, network, problem_horizon(problem))
    reported = {(c.job_id, c.kind) for c in plan.conflicts}
    for conflict in reconciled.conflicts:
        if (conflict.job_id, conflict.kind) not in reported:
            out.append(Violation("conflict", conflict.job_id, f"not reported: {conflict.message}"))
    techs = {t.id: t for t in reconciled.problem.technicians}
    jobs = {j.id: j for j in problem.jobs}
    seen: dict[str, str] = {}
    for route in plan.routes:
        tech = techs.get(route.technician_id)
        if tech is None:
            out.append(Violation("coverage", route.technician_id, "route for a technician not in the problem"))
            continue
        for visit in route.visits:
            if visit.job_id in seen:
                out.append(Violation("coverage", visit.job_id, f"visited twice ({seen[visit.job_id]}, {tech.id})"))
            seen[visit.job_id] = tech.id
        _check_route(reconciled.problem, network, tech, route, jobs, out)
    for item in plan.unassigned:
        if item.job_id in seen:
            out.append(Violation("coverage", item.job_id, "both assigned and listed unassigned"))
        seen.setdefault(item.job_id, "unassigned")
    for job in problem.jobs:
        if job.id not in seen:
            out.append(Violation("coverage", job.id, "neither assigned nor listed unassigned"))
    for job_id in seen:
        if job_id not in jobs:
            out.append(Violation("coverage", job_id, "job not in the problem"))
    for tech in reconciled.problem.technicians:
        for started in tech.started_jobs:
            own = plan.route_of(tech.id)
            ids = [v.job_id for v in own.visits] if own else []
            if started.job_id not in ids:
                out.append(Violation("started", started.job_id, f"started by {tech.id} but not on its route"))
    for broken in link_violations(problem, plan):
        out.append(Violation(broken.kind, broken.job_ids[-1], broken.message))
    report.objective = objective_of(problem, plan)
    return report


def _check_route(
    problem: Problem, network: Network, tech: Technician, route: Route, jobs: dict[str, Job], out: list[Violation]
) -> None:
    if not route.visits:
        return
    horizon = problem_horizon(problem)
    started = {s.job_id: s for s in tech.started_jobs}
    if route.start < tech.earliest_departure and not started:
        out.append(Violation("shift", tech.id, f"leaves at {route.start}, before shift/availability"))
    if route.end > tech.latest_end:
        out.append(
            Violation("overtime", tech.id, f"returns at {route.end}, after shift end + overtime ({tech.latest_end})")
        )
    breaks = sorted(route.breaks, key=lambda b: b.start)
    _check_breaks(tech, route, breaks, out)
    started_order = [s.job_id for s in sorted(tech.started_jobs, key=lambda s: s.started_at)]
    if [v.job_id for v in route.visits[: len(started_order)]] != started_order:
        out.append(Violation("started", tech.id, f"started work {started_order} is not first on the route"))
    prev_loc = tech.route_start_location
    prev_end = route.start
    worked = 0
    for visit in route.visits:
        job = jobs.get(visit.job_id)
        if job is None:
            continue
        travel = network.seconds(prev_loc, job.location)
        worked += travel
        if visit.travel_seconds != travel:
            out.append(Violation("travel", job.id, f"travel {visit.travel_seconds} s, provider says {travel} s"))
        on_break = _break_seconds_between(breaks, prev_end, visit.start)
        if job.id not in started and prev_end + travel + on_break > visit.start:
            out.append(
                Violation(
                    "travel",
                    job.id,
                    f"starts at {visit.start} but cannot arrive before {prev_end + travel + on_break}",
                )
            )
        if visit.arrival > visit.start:
            out.append(Violation("travel", job.id, "arrival after start"))
        if job.id in started:
            s = started[job.id]
            expected_end = s.expected_end if s.expected_end is not None else s.started_at + job.duration
            if visit.start != s.started_at or visit.end != expected_end:
                out.append(Violation("started", job.id, "started job moved"))
        else:
            duration = job.duration_for(tech)
            if visit.end - visit.start != duration:
                out.append(Violation("duration", job.id, f"lasts {visit.end - visit.start} s, needs {duration} s"))
            if not job.qualified(tech):
                out.append(Violation("skill", job.id, f"{tech.id} lacks {job.required_skills}"))
            windows = effective_windows(job, horizon)
            if not any(w.start <= visit.start <= w.end for w in windows):
                kind = "pin" if job.pinned_start is not None else "window"
                out.append(Violation(kind, job.id, f"start {visit.start} outside its windows"))
            if job.sla_hard and job.sla_due is not None and visit.start > job.sla_due:
                out.append(Violation("sla", job.id, f"start {visit.start} after hard SLA {job.sla_due}"))
            if job.pinned_technician is not None and job.pinned_technician != tech.id:
                out.append(Violation("pin", job.id, f"pinned to {job.pinned_technician}, planned on {tech.id}"))
            if job.pinned_start is not None and job.pinned_start != visit.start:
                out.append(Violation("pin", job.id, f"pinned at {job.pinned_start}, planned at {visit.start}"))
        worked += visit.end - visit.start
        prev_loc, prev_end = job.location, visit.end
    home = network.seconds(prev_loc, tech.route_end_location)
    worked += home
    _check_absences(tech, route, started, out)
    if prev_end + home + _break_seconds_between(breaks, prev_end, route.end) > route.end:
        out.append(Violation("travel", tech.id, f"cannot be home at {route.end}"))
    if route.end_travel_seconds != home:
        out.append(Violation("travel", tech.id, f"home travel {route.end_travel_seconds} s, provider says {home} s"))
    if tech.max_working_minutes is not None and worked > tech.max_working_minutes * 60:
        out.append(Violation("workload", tech.id, f"works {worked // 60} min > max {tech.max_working_minutes}"))


def _check_absences(tech: Technician, route: Route, started: Collection[str], out: list[Violation]) -> None:
    """Away means away: from the end of work under way (or the departure) to the return home, nothing may
    overlap an absence, whatever the shift and overtime say."""
    if not tech.absences or all(v.job_id in started for v in route.visits):
        return
    busy_from = max((v.end for v in route.visits if v.job_id in started), default=route.start)
    for absence in tech.absences:
        if absence.start < route.end and busy_from < absence.end:
            out.append(
                Violation(
                    "absence",
                    tech.id,
                    f"works from {busy_from} to {route.end} but is away from {absence.start} to {absence.end}",
                )
            )


def _break_seconds_between(breaks: list[PlacedBreak], start: int, end: int) -> int:
    return sum(b.end - b.start for b in breaks if start <= b.start < end)


def _check_breaks(tech: Technician, route: Route, breaks: list[PlacedBreak], out: list[Violation]) -> None:
    # A break may be skipped only when the working day lies wholly before or after its window
    # (taken at home); otherwise one placed break must match it in window and duration.
    unused = list(breaks)
    for rule in sorted(tech.breaks, key=lambda b: b.earliest_start):
        match = next(
            (
                b
                for b in unused
                if rule.earliest_start <= b.start <= rule.latest_start and b.end - b.start == rule.duration
            ),
            None,
        )
        if match is not None:
            unused.remove(match)
            continue
        if route.end <= rule.latest_start or route.start >= rule.earliest_start + rule.duration:
            continue
        out.append(
            Violation(
                "break",
                tech.id,
                f"no {rule.duration} s break starting in [{rule.earliest_start}, {rule.latest_start}]",
            )
        )
    for extra in unused:
        out.append(Violation("break", tech.id, f"break at {extra.start} matches no break rule"))
    for a, b in itertools.pairwise(breaks):
        if b.start < a.end:
            out.append(Violation("break", tech.id, "breaks overlap"))
    for placed in breaks:
        for visit in route.visits:
            if placed.start < visit.end and visit.start < placed.end:
                out.append(Violation("break", visit.job_id, f"break of {tech.id} overlaps the visit"))
    for a_visit, b_visit in zip(route.visits, route.visits[1:], strict=False):
        if b_visit.start < a_visit.end:
            out.append(Violation("overlap", b_visit.job_id, f"starts before {a_visit.job_id} ends"))
