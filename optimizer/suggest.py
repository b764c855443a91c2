"""Ranked 'where could this job go?' answers for a dispatcher, in well under a second.

Cheapest feasible insertion into the current plan: every qualified technician, every position after
work already started, timed by ``time_route`` (skills, windows, shifts, overtime cap, breaks).
"""

from __future__ import annotations

from dataclasses import dataclass

from optimizer.model import Job, Plan, Problem, TimeWindow
from optimizer.network import Network
from optimizer.routing_model import problem_horizon
from optimizer.screening import on_shift
from optimizer.timeline import RouteTiming, time_route


@dataclass(frozen=True, slots=True)
class Insertion:
    technician_id: str
    position: int
    """Index the job would take in the technician's visit list."""
    start: int
    added_travel_seconds: int
    lateness_seconds: int
    overtime_seconds: int
    cost: float
    """Added cost of the technician's day (travel, overtime, lateness), currency units."""


def suggest(
    problem: Problem,
    plan: Plan,
    job_id: str,
    k: int = 5,
    network: Network | None = None,
    *,
    one_per_technician: bool = False,
) -> list[Insertion]:
    """The ``k`` cheapest feasible places for ``job_id`` (cheapest first); [] when nowhere fits.

    With ``one_per_technician``, only each technician's cheapest place: k different people to choose from."""
    network = network if network is not None else Network.for_problem(problem)
    horizon = problem_horizon(problem)
    jobs = {j.id: j for j in problem.jobs}
    job = jobs[job_id]
    weights = problem.weights
    cache: dict[str, list[TimeWindow]] = {}
    options: list[Insertion] = []
    for tech in problem.technicians:
        if job.pinned_technician is not None and job.pinned_technician != tech.id:
            continue
        if not job.qualified(tech) or not on_shift(tech):
            continue
        route = plan.route_of(tech.id)
        current: list[Job] = [jobs[v.job_id] for v in (route.visits if route else []) if v.job_id != job_id]
        base = time_route(tech, current, network, horizon, weights, cache)
        base_cost = base.cost if base is not None else 0.0
        base_travel = base.travel_seconds if base is not None else 0
        first = len(tech.started_jobs)
        for position in range(first, len(current) + 1):
            trial = [*current[:position], job, *current[position:]]
            timing = time_route(tech, trial, network, horizon, weights, cache)
            if timing is None:
                continue
            options.append(_insertion(tech.id, position, timing, base, base_cost, base_travel))
    options.sort(key=lambda o: (o.cost, o.start))
    if one_per_technician:
        cheapest: dict[str, Insertion] = {}
        for o in options:  # cheapest first, so each technician's first is their best
            cheapest.setdefault(o.technician_id, o)
        options = list(cheapest.values())
    return options[:k]


def _insertion(
    tech_id: str, position: int, timing: RouteTiming, base: RouteTiming | None, base_cost: float, base_travel: int
) -> Insertion:
    visit = timing.visits[position]
    base_over = base.overtime_seconds if base is not None else 0
    base_late = base.lateness_seconds if base is not None else 0
    return Insertion(
        technician_id=tech_id,
        position=position,
        start=visit.start,
        added_travel_seconds=timing.travel_seconds - base_travel,
        lateness_seconds=timing.lateness_seconds - base_late,
        overtime_seconds=timing.overtime_seconds - base_over,
        cost=round(timing.cost - base_cost, 2),
    )
