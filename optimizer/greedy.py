"""The 'nearest free qualified technician' dispatcher: the baseline the solver must beat, and the
solver's first plan (OR-Tools' own construction heuristics take minutes on 1,000 windowed jobs).

Jobs are taken most urgent first, then by window start; each goes to the end of the route of the
qualified technician who can start it soonest (ties: least travel).
"""

from __future__ import annotations

import time as wallclock

from optimizer.model import Job, Plan, Problem, Route, SolveStats, TimeWindow, Unassigned, UnassignedReason
from optimizer.network import Network
from optimizer.objective import objective_of
from optimizer.routing_model import problem_horizon
from optimizer.screening import Screening, effective_windows, screen
from optimizer.timeline import RouteClock, RouteTiming


def greedy_plan(
    problem: Problem,
    network: Network | None = None,
    screening: Screening | None = None,
    reserve_breaks: bool = False,
    keep: Plan | None = None,
) -> Plan:
    """The dispatcher's plan; with ``keep``, each route of that plan first (in its order, as far as it still
    fits), then the remaining jobs: the constructive plan of a re-plan moves nothing it does not have to."""
    began = wallclock.perf_counter()
    network = network if network is not None else Network.for_problem(problem)
    horizon = problem_horizon(problem)
    screening = screening if screening is not None else screen(problem, network, horizon)
    jobs = {j.id: j for j in problem.jobs}
    cache: dict[str, list[TimeWindow]] = {}
    clocks: list[RouteClock] = []
    for tech in problem.technicians:
        clock = RouteClock(tech, network, horizon, problem.weights, cache, reserve_breaks)
        for s in sorted(tech.started_jobs, key=lambda s: s.started_at):
            clock.push(jobs[s.job_id])
        clocks.append(clock)
    started = set(screening.started_by)
    placed: set[str] = set()
    if keep is not None:
        for ti, tech in enumerate(problem.technicians):
            route = keep.route_of(tech.id)
            for visit in route.visits if route is not None else []:
                job = jobs.get(visit.job_id)
                if job is None or job.id in started or ti not in screening.candidates.get(job.id, []):
                    continue
                trial = clocks[ti].copy()
                if trial.push(job) and trial.close() is not None:
                    clocks[ti] = trial
                    placed.add(job.id)

    def first_window(job: Job) -> int:
        return min((w.start for w in effective_windows(job, horizon)), default=0)

    order = sorted(
        (j for j in problem.jobs if j.id in screening.candidates and j.id not in started and j.id not in placed),
        key=lambda j: (j.priority, first_window(j)),
    )
    unassigned = list(screening.excluded)
    for job in order:
        best: tuple[int, int, int] | None = None
        best_clock: RouteClock | None = None
        for ti in screening.candidates[job.id]:
            trial = clocks[ti].copy()
            if not trial.push(job) or trial.close() is None:
                continue
            visit = trial.timing.visits[-1]
            key = (visit.start, visit.travel_seconds, ti)
            if best is None or key < best:
                best, best_clock = key, trial
        if best is None or best_clock is None:
            unassigned.append(Unassigned(job.id, UnassignedReason.DAY_FULL, "no technician had room (greedy)"))
            continue
        clocks[best[2]] = best_clock
    routes = []
    for tech, clock in zip(problem.technicians, clocks, strict=True):
        timing: RouteTiming | None = clock.close()
        if timing is None or not timing.visits:
            routes.append(Route(tech.id, tech.earliest_departure, tech.earliest_departure))
            continue
        routes.append(timing.as_route(tech.id))
    order_index = {job.id: k for k, job in enumerate(problem.jobs)}
    unassigned.sort(key=lambda u: order_index.get(u.job_id, 0))
    plan = Plan(problem.horizon_start, routes, unassigned)
    plan.objective = objective_of(problem, plan)
    plan.stats = SolveStats("greedy", round(wallclock.perf_counter() - began, 3), None, 1)
    return plan
