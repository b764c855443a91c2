"""Insertion repair: after the search, try to fit still-unassigned jobs into the timed routes.

It is also what makes "days are full" true of the returned plan: a job keeps that reason only when no
candidate technician could take it at any position; one the budget left untried is "not placed
within the time limit".

In large-problem mode the search reserves each break as idle time; once routes are timed with real
breaks (often taken while waiting anyway) some of that time is free again. The most urgent jobs go
first, each at its cheapest feasible position, within a time budget.
"""

from __future__ import annotations

import time as wallclock

from optimizer.links import linked_ids
from optimizer.model import Job, Plan, Problem, TimeWindow, Unassigned, UnassignedReason
from optimizer.network import Network
from optimizer.objective import objective_of
from optimizer.routing_model import problem_horizon
from optimizer.screening import Screening
from optimizer.timeline import RouteTiming, time_route


def repair_insertions(
    problem: Problem, plan: Plan, network: Network, screening: Screening, budget_seconds: float = 2.0
) -> Plan:
    began = wallclock.perf_counter()
    horizon = problem_horizon(problem)
    jobs = {j.id: j for j in problem.jobs}
    tech_index = {t.id: i for i, t in enumerate(problem.technicians)}
    cache: dict[str, list[TimeWindow]] = {}
    sequences: dict[str, list[Job]] = {r.technician_id: [jobs[v.job_id] for v in r.visits] for r in plan.routes}
    costs: dict[str, float] = {}
    for route in plan.routes:
        tech = problem.technicians[tech_index[route.technician_id]]
        timing = time_route(tech, sequences[route.technician_id], network, horizon, problem.weights, cache)
        costs[route.technician_id] = timing.cost if timing is not None else float("inf")
    timings: dict[str, RouteTiming] = {}
    still: list[Unassigned] = []
    linked = linked_ids(problem)  # placed one by one they would break their link (crews, dependencies)
    candidates = sorted(
        (
            u
            for u in plan.unassigned
            if u.reason is UnassignedReason.DAY_FULL and u.job_id in screening.candidates and u.job_id not in linked
        ),
        key=lambda u: jobs[u.job_id].priority,
    )
    for item in candidates:
        if wallclock.perf_counter() - began > budget_seconds:
            # Not tried: "days are full" would be a guess, so say what happened.
            still.append(
                Unassigned(item.job_id, UnassignedReason.NOT_PLACED_IN_TIME, "not placed within the time limit")
            )
            continue
        job = jobs[item.job_id]
        best: tuple[float, str, list[Job], RouteTiming] | None = None
        for ti in screening.candidates[job.id]:
            tech = problem.technicians[ti]
            seq = sequences[tech.id]
            for position in range(len(tech.started_jobs), len(seq) + 1):
                trial = [*seq[:position], job, *seq[position:]]
                timing = time_route(tech, trial, network, horizon, problem.weights, cache)
                if timing is None:
                    continue
                added = timing.cost - costs[tech.id]
                if added >= problem.weights.penalty_for(job.priority):
                    continue  # dearer than leaving it out: the weights say so
                if best is None or added < best[0]:
                    best = (added, tech.id, trial, timing)
        if best is None:
            still.append(item)
            continue
        _, tech_id, trial, timing = best
        sequences[tech_id] = trial
        costs[tech_id] = timing.cost
        timings[tech_id] = timing
    if not timings and all(u.reason is UnassignedReason.DAY_FULL for u in still):
        return plan
    routes = []
    for route in plan.routes:
        timing = timings.get(route.technician_id)
        if timing is None:
            routes.append(route)
            continue
        routes.append(timing.as_route(route.technician_id))
    kept = [u for u in plan.unassigned if u not in candidates] + still
    order = {job.id: k for k, job in enumerate(problem.jobs)}
    kept.sort(key=lambda u: order.get(u.job_id, 0))
    repaired = Plan(plan.horizon_start, routes, kept, stats=plan.stats)
    repaired.objective = objective_of(problem, repaired)
    return repaired
