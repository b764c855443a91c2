"""Large days solved region by region: OR-Tools' local search stalls at ~1,000 nodes, not at ~250.

``solve_decomposed`` partitions the day geographically (``optimizer.regions``), solves each region
with ``solver.solve`` in parallel processes (each warm-started from the greedy plan of its region),
merges the routes, then runs a cross-region insertion pass (``repair.repair_insertions``) so a job its
own region could not fit can still go to a technician of a neighbouring region.
"""

from __future__ import annotations

import math
import os
import time as wallclock
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from optimizer.greedy import greedy_plan
from optimizer.model import Plan, Problem, Route, SolveStats, Unassigned, UnassignedReason
from optimizer.network import Network
from optimizer.objective import objective_of
from optimizer.regions import partition
from optimizer.repair import repair_insertions
from optimizer.routing_model import problem_horizon
from optimizer.screening import screen

if TYPE_CHECKING:
    from optimizer.solver import SolutionProgress

KEPT_REASONS = (UnassignedReason.DAY_FULL, UnassignedReason.PINNED_TECHNICIAN_UNAVAILABLE)
DECOMPOSE_MIN_JOBS = 300
"""``solver.solve`` switches to region-by-region solving above this many jobs."""
REGION_TARGET_JOBS = 250
REGION_SHARE = 0.85
"""Fraction of a region's time slot given to OR-Tools; the rest covers extraction and the region's repair."""


def region_count(jobs: int, workers: int, target: int = REGION_TARGET_JOBS) -> int:
    """Regions of about ``target`` jobs, rounded up to a multiple of the worker count (no idle process)."""
    rounds = max(1, math.ceil(jobs / max(1, target * workers)))
    return max(1, rounds * workers) if jobs > target else 1


def _sub_network(network: Network, problem: Problem) -> Network | None:
    """The region's slice of the full travel matrix (None when a location is missing from it)."""
    seen: dict = {}
    for tech in problem.technicians:
        for loc in (tech.route_start_location, tech.start_location, tech.route_end_location):
            seen.setdefault(loc, len(seen))
    for job in problem.jobs:
        seen.setdefault(job.location, len(seen))
    if any(loc not in network.index for loc in seen):
        return None
    rows = [network.index[loc] for loc in seen]
    matrix = [[network.seconds_matrix[i][j] for j in rows] for i in rows]
    return Network(list(seen), matrix, seen)


def _solve_region(args: tuple[Problem, Network | None, float]) -> Plan:
    from optimizer.solver import solve

    problem, network, time_limit = args
    return solve(problem, time_limit=time_limit, network=network, decompose=False)


def solve_decomposed(
    problem: Problem,
    time_limit: float = 60.0,
    processes: int | None = None,
    network: Network | None = None,
    regions: int | None = None,
    on_solution: Callable[[SolutionProgress], None] | None = None,
) -> Plan:
    """Plan a large day region by region within ``time_limit`` seconds of wall time (all included).

    The whole day's greedy plan comes first (the first feasible plan, reported to ``on_solution``, and
    the answer if the regions' merged plan should cost more); then the regions are solved."""
    from optimizer.solver import SolutionProgress

    began = wallclock.perf_counter()
    network = network if network is not None else Network.for_problem(problem)
    screening = screen(problem, network, problem_horizon(problem))
    baseline = greedy_plan(problem, network, screening)
    first_seconds = round(wallclock.perf_counter() - began, 3)
    if on_solution is not None:
        on_solution(SolutionProgress(1, round(baseline.objective.total_cost * 3600), first_seconds))
    workers = max(1, processes or os.cpu_count() or 1)
    k = regions if regions is not None else region_count(len(screening.candidates), workers)
    parts = partition(problem, k, screening.candidates)
    subproblems = [
        Problem(
            problem.horizon_start, part.technicians, part.jobs, problem.weights, problem.travel, f"{problem.name} r{i}"
        )
        for i, part in enumerate(parts)
        if part.jobs and part.technicians  # technicians of a region without jobs keep an empty day
    ]
    if not subproblems:
        baseline.stats = SolveStats("greedy (nothing to optimise)", first_seconds, first_seconds, 1)
        return baseline
    workers = min(workers, len(subproblems))
    rounds = math.ceil(len(subproblems) / workers)
    repair_budget = max(0.5, 0.05 * time_limit)
    remaining = time_limit - (wallclock.perf_counter() - began) - repair_budget
    per_region = max(0.5, remaining / rounds * REGION_SHARE)
    tasks = [(sub, _sub_network(network, sub), per_region) for sub in subproblems]
    if workers == 1:
        plans = [_solve_region(task) for task in tasks]
    else:
        # Plain fork: a forkserver/spawn worker re-imports OR-Tools (1-3 s on a loaded 2-core machine),
        # which the time limit cannot absorb on short solves.
        with ProcessPoolExecutor(max_workers=workers) as pool:
            plans = list(pool.map(_solve_region, tasks))
    merged = _merge(problem, plans, screening.excluded, set(screening.candidates))
    budget = max(0.2, time_limit - (wallclock.perf_counter() - began))
    plan = repair_insertions(problem, merged, network, screening, budget_seconds=min(budget, repair_budget * 2))
    plan.objective = objective_of(problem, plan)
    status = f"decomposed into {len(subproblems)} regions: " + ", ".join(sorted({p.stats.status for p in plans}))
    if baseline.objective.total_cost < plan.objective.total_cost:
        plan, status = baseline, f"{status}; greedy plan kept (cheaper)"
    elif on_solution is not None:
        elapsed = wallclock.perf_counter() - began
        on_solution(SolutionProgress(2, round(plan.objective.total_cost * 3600), elapsed))
    plan.stats = SolveStats(
        status=status,
        wall_seconds=round(wallclock.perf_counter() - began, 3),
        first_solution_seconds=first_seconds,
        solutions_found=1 + sum(p.stats.solutions_found for p in plans),
    )
    return plan


def _merge(problem: Problem, plans: list[Plan], excluded: list[Unassigned], candidates: set[str]) -> Plan:
    """One plan from the regions' plans; a job its region dropped is 'day full' so the repair retries it."""
    routes: dict[str, Route] = {r.technician_id: r for p in plans for r in p.routes}
    unassigned = list(excluded)
    for p in plans:
        for item in p.unassigned:
            if item.job_id in candidates and item.reason not in KEPT_REASONS:
                item = Unassigned(item.job_id, UnassignedReason.DAY_FULL, f"no room in its region ({item.detail})")
            unassigned.append(item)
    ordered = [routes.get(t.id) or Route(t.id, t.earliest_departure, t.earliest_departure) for t in problem.technicians]
    order = {job.id: k for k, job in enumerate(problem.jobs)}
    unassigned.sort(key=lambda u: order.get(u.job_id, 0))
    return Plan(problem.horizon_start, ordered, unassigned)
