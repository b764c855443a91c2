"""Linked jobs: dependencies (B after A with a gap) and crews (one visit by several technicians).

The rules live here once: ``link_violations`` is what the validator reports and what ``enforce_links``
repairs after any search, by taking every job of a broken group out of the plan (work under way stays),
so a plan never breaks a link whatever produced it (greedy seed, decomposition, insertion repair).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from optimizer.model import Job, Plan, Problem, Route, Unassigned, UnassignedReason, Visit
from optimizer.network import Network
from optimizer.objective import objective_of


@dataclass(frozen=True, slots=True)
class LinkViolation:
    kind: str
    """dependency or crew."""
    job_ids: tuple[str, ...]
    message: str


def crews(problem: Problem) -> dict[str, list[Job]]:
    """crew id -> its member jobs (problem order)."""
    out: dict[str, list[Job]] = defaultdict(list)
    for job in problem.jobs:
        if job.crew is not None:
            out[job.crew].append(job)
    return dict(out)


def linked_ids(problem: Problem) -> set[str]:
    """Every job in a dependency or a crew."""
    ids = {job.id for members in crews(problem).values() for job in members}
    for job in problem.jobs:
        if job.after:
            ids.add(job.id)
            ids.update(d.job_id for d in job.after)
    return ids


def has_links(problem: Problem) -> bool:
    return any(job.after or job.crew is not None for job in problem.jobs)


def started_ids(problem: Problem) -> set[str]:
    return {s.job_id for t in problem.technicians for s in t.started_jobs}


def link_violations(problem: Problem, plan: Plan) -> list[LinkViolation]:
    placed = {v.job_id: (r.technician_id, v) for r in plan.routes for v in r.visits}
    started = started_ids(problem)
    out: list[LinkViolation] = []
    for job in problem.jobs:
        for dep in job.after:
            ids = (dep.job_id, job.id)
            before, this = placed.get(dep.job_id), placed.get(job.id)
            if this is None and before is None:
                continue
            if this is None:
                if dep.job_id not in started:
                    message = f"{dep.job_id} is planned but {job.id} after it is not"
                    out.append(LinkViolation("dependency", ids, message))
                continue
            if before is None:
                out.append(LinkViolation("dependency", ids, f"{job.id} is planned but {dep.job_id} before it is not"))
                continue
            earliest = before[1].end + dep.min_gap
            if this[1].start < earliest:
                out.append(
                    LinkViolation(
                        "dependency",
                        ids,
                        f"{job.id} starts at {this[1].start}, before {dep.job_id} ends + {dep.min_gap} s ({earliest})",
                    )
                )
    for crew, members in crews(problem).items():
        group = tuple(m.id for m in members)
        done = [placed[m.id] for m in members if m.id in placed]
        if not done:
            continue
        if len(done) < len(members):
            missing = [m.id for m in members if m.id not in placed]
            out.append(LinkViolation("crew", group, f"crew {crew}: {', '.join(missing)} not planned with the rest"))
            continue
        if len({visit.start for _, visit in done}) > 1:
            out.append(LinkViolation("crew", group, f"crew {crew}: members do not start together"))
        if len({tech for tech, _ in done}) < len(done):
            out.append(LinkViolation("crew", group, f"crew {crew}: one technician holds two places"))
    return out


def enforce_links(problem: Problem, plan: Plan, network: Network) -> Plan:
    """Take every job of a broken link group out of the plan (never work under way), until none is broken."""
    started = started_ids(problem)
    dropped: dict[str, str] = {}
    while True:
        broken = link_violations(problem, plan)
        ids = {j: v.message for v in broken for j in v.job_ids if j not in started and j not in dropped}
        placed = set(plan.assignment())
        ids = {j: m for j, m in ids.items() if j in placed}
        if not ids:
            break
        dropped.update(ids)
        plan = drop_visits(problem, plan, set(ids), network)
    if not dropped:
        return plan
    known = {u.job_id for u in plan.unassigned}
    order = {job.id: k for k, job in enumerate(problem.jobs)}
    plan.unassigned = sorted(
        [
            *plan.unassigned,
            *(
                Unassigned(j, UnassignedReason.LINKED_JOB_NOT_PLANNED, message)
                for j, message in dropped.items()
                if j not in known
            ),
        ],
        key=lambda u: order.get(u.job_id, 0),
    )
    plan.objective = objective_of(problem, plan)
    return plan


def drop_visits(problem: Problem, plan: Plan, job_ids: set[str], network: Network) -> Plan:
    """The plan without these visits; everything else keeps its start (travel is re-read, never longer)."""
    jobs = {j.id: j for j in problem.jobs}
    techs = {t.id: t for t in problem.technicians}
    routes: list[Route] = []
    for route in plan.routes:
        if not any(v.job_id in job_ids for v in route.visits):
            routes.append(route)
            continue
        tech = techs[route.technician_id]
        kept = [v for v in route.visits if v.job_id not in job_ids]
        if not kept:
            routes.append(Route(tech.id, route.start, route.start))
            continue
        here, prev_end = tech.route_start_location, route.start
        visits: list[Visit] = []
        for k, v in enumerate(kept):
            location = jobs[v.job_id].location
            travel = network.seconds(here, location)
            on_break = sum(b.end - b.start for b in route.breaks if prev_end <= b.start < v.start)
            arrival = v.start if k == 0 else min(v.start, prev_end + travel + on_break)
            visits.append(Visit(v.job_id, arrival, v.start, v.end, travel))
            here, prev_end = location, v.end
        first = visits[0]
        before = sum(b.end - b.start for b in route.breaks if b.start < first.start)
        start = route.start if tech.started_jobs else max(route.start, first.start - first.travel_seconds - before)
        home = network.seconds(here, tech.route_end_location)
        end = prev_end + home + sum(b.end - b.start for b in route.breaks if b.start >= prev_end)
        breaks = list(route.breaks)
        routes.append(Route(tech.id, start, end, visits, breaks, sum(v.travel_seconds for v in visits) + home, home))
    out = Plan(plan.horizon_start, routes, list(plan.unassigned), stats=plan.stats, conflicts=list(plan.conflicts))
    out.objective = objective_of(problem, out)
    return out
