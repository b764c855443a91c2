"""Slot offers: which arrival windows a calling customer can be promised, and what each costs the day.

No re-solve: for each window the new job is tried at every position of every qualified technician's
route as it stands (planned work may be pushed later, never earlier than planned), using
``RouteClock`` prefixes so each try times only the tail of the route. The cheapest feasible insertion
prices the window: added travel, work pushed later ("displaced"), lateness and overtime. The best
insertion of each window is re-checked by the validator on that technician's day before it is offered.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from optimizer.model import Job, Plan, Problem, Technician, TimeWindow
from optimizer.network import Network
from optimizer.routing_model import problem_horizon
from optimizer.screening import on_shift
from optimizer.timeline import RouteClock, RouteTiming
from optimizer.validate import validate


@dataclass(frozen=True, slots=True)
class Displaced:
    job_id: str
    minutes_later: int


@dataclass(frozen=True, slots=True)
class SlotOffer:
    """One window the company can promise, priced by its cheapest insertion into the day."""

    window: TimeWindow
    """Service starts inside it (seconds from the horizon start)."""
    technician_id: str
    start: int
    added_travel_seconds: int
    lateness_seconds: int
    overtime_seconds: int
    displaced: tuple[Displaced, ...] = field(default_factory=tuple)
    cost: float = 0.0
    """Added cost of the day in currency units: travel, overtime, lateness, and each displaced job's shift
    beyond the free minutes at the re-plan churn rate."""


def offer_slots(
    problem: Problem, plan: Plan, job: Job, windows: list[TimeWindow], network: Network | None = None
) -> list[SlotOffer]:
    """The feasible ``windows`` for ``job`` (not in ``problem``), cheapest first, one offer per window."""
    if network is None or job.location not in network.index:
        network = Network.for_problem(problem, extra=[job.location])
    horizon = problem_horizon(problem)
    jobs = _anchored(problem, plan)
    weights = problem.weights
    cache: dict[str, list[TimeWindow]] = {}
    routes: list[tuple[Technician, list[Job], list[RouteClock], RouteTiming]] = []
    for tech in problem.technicians:
        if not job.qualified(tech) or not on_shift(tech):
            continue
        route = plan.route_of(tech.id)
        current = [jobs[v.job_id] for v in (route.visits if route else []) if v.job_id in jobs]
        clock = RouteClock(tech, network, horizon, weights, cache)
        prefixes = [clock.copy()]
        for item in current:
            if not clock.push(item):
                break
            prefixes.append(clock.copy())
        base = clock.close() if len(prefixes) == len(current) + 1 else None
        if base is not None:
            routes.append((tech, current, prefixes, base))
    offers: list[SlotOffer] = []
    for window in windows:
        trial_job = copy.copy(job)
        trial_job.time_windows = [window]
        cache.pop(job.id, None)
        best: SlotOffer | None = None
        best_timing: tuple[Technician, list[Job], RouteTiming] | None = None
        for tech, current, prefixes, base in routes:
            if tech.latest_end < window.start or tech.earliest_departure > window.end:
                continue
            first = len(tech.started_jobs)
            for position in range(first, len(current) + 1):
                prefix = prefixes[position]
                if prefix.now > window.end:
                    break  # later positions only start later
                trial = prefix.copy()
                if not trial.push(trial_job) or not all(trial.push(rest) for rest in current[position:]):
                    continue
                timing = trial.close()
                if timing is None:
                    continue
                offer = _price(window, tech, position, timing, base, problem)
                if best is None or (offer.cost, offer.start) < (best.cost, best.start):
                    best = offer
                    best_timing = (tech, [*current[:position], trial_job, *current[position:]], timing)
        cache.pop(job.id, None)
        if best is not None and best_timing is not None and _still_valid(problem, network, *best_timing):
            offers.append(best)
    offers.sort(key=lambda o: (o.cost, o.window.start))
    return offers


def _anchored(problem: Problem, plan: Plan) -> dict[str, Job]:
    """Planned work keeps its time as planned or later (the customer expects it then): never earlier."""
    planned = {job_id: visit.start for job_id, (_, visit) in plan.assignment().items()}
    out: dict[str, Job] = {}
    for job in problem.jobs:
        start = planned.get(job.id)
        if start is not None and job.pinned_start is None and (job.earliest_start or 0) < start:
            job = copy.copy(job)
            job.earliest_start = start
        out[job.id] = job
    return out


def _price(
    window: TimeWindow, tech: Technician, position: int, timing: RouteTiming, base: RouteTiming, problem: Problem
) -> SlotOffer:
    weights = problem.weights
    before = {v.job_id: v.start for v in base.visits}
    displaced = tuple(
        Displaced(v.job_id, (v.start - before[v.job_id]) // 60)
        for v in timing.visits
        if v.job_id in before and v.start > before[v.job_id]
    )
    free = weights.churn_free_minutes
    churn = sum(max(0, d.minutes_later - free) for d in displaced) / 60 * weights.churn_shift_per_hour
    return SlotOffer(
        window=window,
        technician_id=tech.id,
        start=timing.visits[position].start,
        added_travel_seconds=timing.travel_seconds - base.travel_seconds,
        lateness_seconds=timing.lateness_seconds - base.lateness_seconds,
        overtime_seconds=timing.overtime_seconds - base.overtime_seconds,
        displaced=displaced,
        cost=round(timing.cost - base.cost + churn, 2),
    )


def _still_valid(problem: Problem, network: Network, tech: Technician, jobs: list[Job], timing: RouteTiming) -> bool:
    """The validator's word on that technician's day with the new job in it (never the clock's own)."""
    day = Problem(problem.horizon_start, [tech], jobs, problem.weights, problem.travel, problem.name)
    return validate(day, Plan(problem.horizon_start, [timing.as_route(tech.id)]), network).ok


def arrival_windows(opens: int, closes: int, width: int = 2 * 3600, step: int = 3600) -> list[TimeWindow]:
    """Windows of ``width`` seconds every ``step`` seconds from ``opens``, the last one ending by ``closes``."""
    out = []
    start = opens
    while start + width <= closes:
        out.append(TimeWindow(start, start + width))
        start += step
    return out
