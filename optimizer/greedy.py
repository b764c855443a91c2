"""The 'nearest free qualified technician' dispatcher: the baseline the solver must beat, and the
solver's first plan (OR-Tools' own construction heuristics take minutes on 1,000 windowed jobs).

Jobs are taken most urgent first, then by window start; each goes to the end of the route of the
qualified technician who can start it soonest (ties: least travel).
"""

from __future__ import annotations

import copy
import time as wallclock

from optimizer.links import crews, enforce_links, has_links, linked_ids
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

    linked = linked_ids(problem)
    order = sorted(
        (j for j in problem.jobs if j.id in screening.candidates and j.id not in started and j.id not in placed),
        key=lambda j: (j.priority, j.id not in linked, first_window(j)),  # groups are harder to fit: first
    )
    unassigned = list(screening.excluded)
    ends: dict[str, int] = {v.job_id: v.end for clock in clocks for v in clock.timing.visits}
    members = crews(problem)
    failed: set[str] = set()

    def with_earliest(job: Job, not_before: int) -> Job:
        """The job not before ``not_before`` (no window left means it cannot go: ``effective_windows``)."""
        cache.pop(job.id, None)  # its windows change with the earliest start
        if not_before <= (job.earliest_start or 0):
            return job
        moved = copy.copy(job)
        moved.earliest_start = not_before
        return moved

    def best_push(job: Job, exclude: set[int]) -> tuple[tuple[int, int, int], RouteClock] | None:
        best: tuple[tuple[int, int, int], RouteClock] | None = None
        for ti in screening.candidates[job.id]:
            if ti in exclude:
                continue
            trial = clocks[ti].copy()
            if not trial.push(job) or trial.close() is None:
                continue
            visit = trial.timing.visits[-1]
            key = (visit.start, visit.travel_seconds, ti)
            if best is None or key < best[0]:
                best = (key, trial)
        return best

    def place_crew(group: list[Job], not_before: int) -> bool:
        """Every member on a different technician at one common start (found by raising it until all agree)."""
        moment = not_before
        for _ in range(6):
            used: set[int] = set()
            trials: list[tuple[Job, int, RouteClock]] = []
            for member in sorted(group, key=lambda m: len(screening.candidates.get(m.id, []))):
                if member.id not in screening.candidates:
                    return False
                found = best_push(with_earliest(member, moment), used)
                if found is None:
                    return False
                used.add(found[0][2])
                trials.append((member, found[0][2], found[1]))
            starts = {clock.timing.visits[-1].start for _, _, clock in trials}
            if len(starts) == 1:
                for member, ti, clock in trials:
                    clocks[ti] = clock
                    ends[member.id] = clock.timing.visits[-1].end
                return True
            moment = max(starts)
        return False

    def ensure(job_id: str, stack: frozenset[str]) -> bool:
        """Place the job (its crew, after what it depends on); False when it cannot go."""
        if job_id in ends:
            return True
        if job_id in failed or job_id in stack or job_id not in screening.candidates or job_id in started:
            return False
        job = jobs[job_id]
        group = members[job.crew] if job.crew is not None else [job]
        not_before = 0
        for member in group:
            for dep in member.after:
                if not ensure(dep.job_id, stack | {job_id}):
                    failed.update(m.id for m in group)
                    return False
                not_before = max(not_before, ends[dep.job_id] + dep.min_gap)
        if job.crew is not None:
            ok = place_crew(group, not_before)
        else:
            found = best_push(with_earliest(job, not_before), set())
            ok = found is not None
            if found is not None:
                clocks[found[0][2]] = found[1]
                ends[job.id] = found[1].timing.visits[-1].end
        for member in group:
            cache.pop(member.id, None)
        if not ok:
            failed.update(m.id for m in group)
        return ok

    for job in order:
        if job.id in ends or ensure(job.id, frozenset()):
            continue
        if job.id in linked:
            reason, detail = UnassignedReason.LINKED_JOB_NOT_PLANNED, "not placed with its linked jobs (greedy)"
        else:
            reason, detail = UnassignedReason.DAY_FULL, "no technician had room (greedy)"
        unassigned.append(Unassigned(job.id, reason, detail))
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
    if has_links(problem):
        plan = enforce_links(problem, plan, network)  # a group placed in part is taken out whole
    return plan
