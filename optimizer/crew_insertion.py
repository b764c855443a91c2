"""Crew insertion: fit a crew the search left out into the middle of its members' routes, at one start.

OR-Tools' local search moves one visit at a time, and the constructive dispatcher only appends to routes,
so a crew (several visits that must start at the same second on different technicians) is rarely placed
on a full day. This pass tries common starts every ``STEP`` seconds across the crew's windows; for each,
every member takes the cheapest feasible position on a different qualified technician (``RouteClock``
prefixes, as in ``optimizer.slots``); planned work may move later, never earlier, and placed crews hold
still. The cheapest complete choice is kept when cheaper than leaving the crew out, and the whole pass only
when the plan comes out cheaper.
"""

from __future__ import annotations

import copy
import time as wallclock

from optimizer.links import crews, enforce_links
from optimizer.model import Job, Plan, Problem, Technician, Unassigned
from optimizer.network import Network
from optimizer.objective import objective_of
from optimizer.routing_model import problem_horizon
from optimizer.screening import effective_windows, on_shift
from optimizer.timeline import RouteClock, RouteTiming

STEP = 1800


def insert_crews(problem: Problem, plan: Plan, network: Network, budget_seconds: float = 1.0) -> Plan:
    began = wallclock.perf_counter()
    horizon = problem_horizon(problem)
    jobs = {j.id: j for j in problem.jobs}
    placed = plan.assignment()
    techs = {t.id: t for t in problem.technicians}
    sequences = {r.technician_id: [_anchored(jobs[v.job_id], v.start) for v in r.visits] for r in plan.routes}
    timings: dict[str, RouteTiming] = {}
    changed = False
    for members in crews(problem).values():
        if wallclock.perf_counter() - began > budget_seconds:
            break
        if any(m.id in placed for m in members) or any(m.after for m in members):
            continue
        windows = [effective_windows(m, horizon) for m in members]
        if not all(windows):
            continue
        opens = max(min(w.start for w in ws) for ws in windows)
        closes = min(max(w.end for w in ws) for ws in windows)
        best: tuple[float, list[tuple[str, list[Job], RouteTiming]]] | None = None
        for moment in range(opens - opens % STEP + (STEP if opens % STEP else 0), closes + 1, STEP):
            choice = _choose(problem, network, horizon, techs, sequences, timings, members, moment)
            if choice is not None and (best is None or choice[0] < best[0]):
                best = choice
        penalty = sum(problem.weights.penalty_for(m.priority) for m in members)
        if best is None or best[0] >= penalty:
            continue
        for tech_id, sequence, timing in best[1]:
            sequences[tech_id], timings[tech_id] = sequence, timing
        changed = True
    if not changed:
        return plan
    routes = [
        timings[r.technician_id].as_route(r.technician_id) if r.technician_id in timings else r for r in plan.routes
    ]
    now_placed = {v.job_id for r in routes for v in r.visits}
    unassigned: list[Unassigned] = [u for u in plan.unassigned if u.job_id not in now_placed]
    out = Plan(plan.horizon_start, routes, unassigned, stats=plan.stats, conflicts=list(plan.conflicts))
    out.objective = objective_of(problem, out)
    out = enforce_links(problem, out, network)
    return out if out.objective.total_cost < plan.objective.total_cost else plan


def _choose(
    problem: Problem,
    network: Network,
    horizon: int,
    techs: dict[str, Technician],
    sequences: dict[str, list[Job]],
    timings: dict[str, RouteTiming],
    members: list[Job],
    moment: int,
) -> tuple[float, list[tuple[str, list[Job], RouteTiming]]] | None:
    """Each member at ``moment`` on a different technician, cheapest position each; None if one cannot go."""
    used: set[str] = set()
    total = 0.0
    picks: list[tuple[str, list[Job], RouteTiming]] = []
    for member in members:
        fixed = copy.copy(member)
        fixed.pinned_start = moment
        found: tuple[float, str, list[Job], RouteTiming] | None = None
        for tech in problem.technicians:
            if tech.id in used or not member.qualified(tech) or not on_shift(tech):
                continue
            if member.pinned_technician is not None and member.pinned_technician != tech.id:
                continue
            current = sequences.get(tech.id, [])
            base = timings.get(tech.id) or _time(tech, current, network, horizon, problem)
            if base is None:
                continue
            clock = RouteClock(tech, network, horizon, problem.weights, {})
            for position in range(len(current) + 1):
                if position >= len(tech.started_jobs):
                    if clock.now > moment:
                        break
                    trial = clock.copy()
                    trial.cache = {}
                    if trial.push(fixed) and all(trial.push(rest) for rest in current[position:]):
                        timing = trial.close()
                        if timing is not None:
                            added = timing.cost - base.cost
                            if found is None or added < found[0]:
                                found = (added, tech.id, [*current[:position], fixed, *current[position:]], timing)
                if position < len(current) and not clock.push(current[position]):
                    break
        if found is None:
            return None
        used.add(found[1])
        total += found[0]
        picks.append((found[1], found[2], found[3]))
    return total, picks


def _anchored(job: Job, start: int) -> Job:
    """Planned work may move later to make room, never earlier; a crew member already placed does not move."""
    if job.pinned_start is not None:
        return job
    held = copy.copy(job)
    if job.crew is not None:
        held.pinned_start = start
    else:
        held.earliest_start = max(job.earliest_start or 0, start)
    return held


def _time(
    tech: Technician, sequence: list[Job], network: Network, horizon: int, problem: Problem
) -> RouteTiming | None:
    clock = RouteClock(tech, network, horizon, problem.weights, {})
    for job in sequence:
        if not clock.push(job):
            return None
    return clock.close()
