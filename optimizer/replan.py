"""Re-plan after something happened during the day, keeping what is under way and what customers were told.

``apply_change`` turns the event into an updated Problem; ``replan`` solves it warm-started from the
current plan, with churn costs on communicated appointments so the new plan moves as little as it can.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from optimizer.conflicts import reconcile
from optimizer.errors import ProblemError
from optimizer.model import Job, Plan, Problem, StartedJob
from optimizer.network import Network
from optimizer.routing_model import problem_horizon
from optimizer.solver import solve


@dataclass(frozen=True, slots=True)
class TechnicianAbsent:
    """The technician stops working at ``from_time`` (sick, vehicle breakdown); work under way stays."""

    technician_id: str
    from_time: int


@dataclass(frozen=True, slots=True)
class JobAdded:
    job: Job


@dataclass(frozen=True, slots=True)
class JobCancelled:
    job_id: str


@dataclass(frozen=True, slots=True)
class JobOverrun:
    """A job takes longer: it now ends at ``new_end`` (it is treated as started if it was not yet)."""

    job_id: str
    new_end: int


Change = TechnicianAbsent | JobAdded | JobCancelled | JobOverrun


def freeze_started(problem: Problem, plan: Plan, now: int) -> Problem:
    """Visits the plan started at or before ``now`` become started work on their technician."""
    updated = copy.deepcopy(problem)
    techs = {t.id: t for t in updated.technicians}
    already = {s.job_id for t in updated.technicians for s in t.started_jobs}
    for route in plan.routes:
        tech = techs.get(route.technician_id)
        if tech is None:
            continue
        for visit in route.visits:
            if visit.start <= now and visit.job_id not in already:
                tech.started_jobs.append(StartedJob(visit.job_id, visit.start, visit.end))
    return updated


def apply_change(problem: Problem, plan: Plan, change: Change) -> Problem:
    """The problem as it stands after ``change`` (a new object; the input is untouched)."""
    updated = copy.deepcopy(problem)
    techs = {t.id: t for t in updated.technicians}
    if isinstance(change, TechnicianAbsent):
        tech = techs.get(change.technician_id)
        if tech is None:
            return updated  # not working that day any more: the absence is already in the problem
        tech.shift_end = max(tech.shift_start, change.from_time)
        tech.overtime_allowance_minutes = 0
        for s in tech.started_jobs:  # work under way gets finished; the day ends after it
            job = updated.job(s.job_id)
            end = s.expected_end if s.expected_end is not None else s.started_at + job.duration
            tech.shift_end = max(tech.shift_end, end)
        if tech.started_jobs:
            tech.overtime_allowance_minutes = 4 * 60  # room to drive home after the started work
            tech.breaks = []
        # Available only from the hard end: screening then offers no new work to this technician.
        tech.available_from = tech.latest_end
    elif isinstance(change, JobAdded):
        if any(j.id == change.job.id for j in updated.jobs):
            raise ProblemError(f"job {change.job.id}: already in the problem")
        updated.jobs.append(copy.deepcopy(change.job))
    elif isinstance(change, JobCancelled):
        updated.jobs = [j for j in updated.jobs if j.id != change.job_id]
        for tech in updated.technicians:
            tech.started_jobs = [s for s in tech.started_jobs if s.job_id != change.job_id]
    elif isinstance(change, JobOverrun):
        for tech in updated.technicians:
            for k, s in enumerate(tech.started_jobs):
                if s.job_id == change.job_id:
                    tech.started_jobs[k] = StartedJob(s.job_id, s.started_at, change.new_end)
                    return updated
        placed = plan.assignment().get(change.job_id)
        if placed is None:
            raise ProblemError(f"job {change.job_id}: overrun reported for a job that is not planned")
        tech_id, visit = placed
        techs[tech_id].started_jobs.append(StartedJob(change.job_id, visit.start, change.new_end))
    return updated


def replan(problem: Problem, plan: Plan, change: Change, *, now: int | None = None, time_limit: float = 5.0) -> Plan:
    """A new plan after ``change``: started work fixed (and, with ``now``, everything begun by then),
    warm-started from ``plan``, with churn penalties on moving communicated appointments."""
    updated = freeze_started(problem, plan, now) if now is not None else problem
    updated = apply_change(updated, plan, change)
    known = {j.id for j in updated.jobs}
    warm = copy.deepcopy(plan)
    for route in warm.routes:
        route.visits = [v for v in route.visits if v.job_id in known]
    new_plan = solve(updated, time_limit=time_limit, warm_start=warm, churn_reference=plan)
    # What the day already did not allow before the change is still a conflict of the day.
    reported = {(c.job_id, c.kind) for c in new_plan.conflicts}
    before = reconcile(problem, Network.for_problem(problem), problem_horizon(problem)).conflicts
    new_plan.conflicts += [c for c in before if (c.job_id, c.kind) not in reported]
    return new_plan
