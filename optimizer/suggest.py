"""Ranked 'where could this job go?' answers for a dispatcher, in well under a second.

Cheapest feasible insertion into the current plan: every qualified technician on shift (or, with
``nearest``, only that many of them, nearest first in a straight line), every position after work
already started, timed by ``time_route`` (skills, windows, shifts, overtime cap, breaks). Each
technician's day is timed on the travel between their own places only, never the branch's whole matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

from optimizer.model import Job, Plan, Problem, Technician, TimeWindow
from optimizer.network import Network
from optimizer.routing_model import problem_horizon
from optimizer.screening import on_shift
from optimizer.timeline import RouteTiming, time_route
from optimizer.travel import haversine_km


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


def eligible(problem: Problem, job: Job) -> list[Technician]:
    """Who could take ``job`` at all: on shift, with the skills, and the pinned one when it is pinned."""
    pinned = job.pinned_technician
    return [t for t in problem.technicians if pinned in (None, t.id) and job.qualified(t) and on_shift(t)]


def nearest_first(problem: Problem, plan: Plan, job: Job, techs: list[Technician], limit: int) -> list[Technician]:
    """The ``limit`` technicians whose day passes nearest ``job`` (straight line from any of their places)."""
    if len(techs) <= limit:
        return techs
    jobs = {j.id: j for j in problem.jobs}

    def distance(tech: Technician) -> float:
        route = plan.route_of(tech.id)
        places = [tech.route_start_location, tech.route_end_location]
        places += [jobs[v.job_id].location for v in (route.visits if route else []) if v.job_id in jobs]
        return min(haversine_km(job.location, p) for p in places)

    return sorted(techs, key=distance)[:limit]


def suggest(
    problem: Problem,
    plan: Plan,
    job_id: str,
    k: int = 5,
    network: Network | None = None,
    *,
    one_per_technician: bool = False,
    nearest: int | None = None,
) -> list[Insertion]:
    """The ``k`` cheapest feasible places for ``job_id`` (cheapest first); [] when nowhere fits.

    With ``one_per_technician``, only each technician's cheapest place: k different people to choose from.
    With ``nearest``, only that many eligible technicians are tried, those whose day passes nearest the job.
    Without ``network``, each technician's day is timed on its own small network."""
    horizon = problem_horizon(problem)
    jobs = {j.id: j for j in problem.jobs}
    job = jobs[job_id]
    weights = problem.weights
    cache: dict[str, list[TimeWindow]] = {}
    options: list[Insertion] = []
    techs = eligible(problem, job)
    if nearest is not None:
        techs = nearest_first(problem, plan, job, techs, nearest)
    for tech in techs:
        route = plan.route_of(tech.id)
        current: list[Job] = [jobs[v.job_id] for v in (route.visits if route else []) if v.job_id != job_id]
        net = network if network is not None else Network.for_route(problem, tech, [*current, job])
        base = time_route(tech, current, net, horizon, weights, cache)
        base_cost = base.cost if base is not None else 0.0
        base_travel = base.travel_seconds if base is not None else 0
        first = len(tech.started_jobs)
        for position in range(first, len(current) + 1):
            trial = [*current[:position], job, *current[position:]]
            timing = time_route(tech, trial, net, horizon, weights, cache)
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
