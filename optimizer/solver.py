"""Solve a Problem into a Plan with OR-Tools routing; territories can be solved in parallel processes.

The model is assembled from one builder per rule (``optimizer.constraints``); this module only
orders them, runs the search and turns the assignment into a Plan whose cost is recomputed from
the routes (``optimizer.objective``), never taken from the solver's bookkeeping.
"""

from __future__ import annotations

import os
import time as wallclock
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimizer import constraints as c
from optimizer.errors import SolverFailure
from optimizer.model import (
    PlacedBreak,
    Plan,
    Problem,
    Route,
    SolveStats,
    Unassigned,
    UnassignedReason,
    Visit,
)
from optimizer.network import Network
from optimizer.objective import objective_of
from optimizer.routing_model import RoutingContext, build_context
from optimizer.screening import screen

FIRST_SOLUTION = {
    "parallel_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    "local_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION,
    "path_cheapest_arc": routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC,
    "savings": routing_enums_pb2.FirstSolutionStrategy.SAVINGS,
    "automatic": routing_enums_pb2.FirstSolutionStrategy.AUTOMATIC,
}

STATUS_NAMES = {
    0: "not_solved",
    1: "success",
    2: "partial_success_local_optimum_not_reached",
    3: "fail",
    4: "fail_timeout",
    5: "invalid",
    6: "infeasible",
    7: "optimal",
}


@dataclass(frozen=True, slots=True)
class SolutionProgress:
    """Sent to ``on_solution`` each time the search finds a better plan."""

    solutions: int
    cost: int
    elapsed_seconds: float


def build_model(problem: Problem, network: Network, churn_reference: Plan | None = None) -> RoutingContext:
    """Screen the jobs, then add every rule to a fresh routing model."""
    screening = screen(problem, network, _horizon_for(problem))
    ctx = build_context(problem, network, screening)
    c.build_travel_and_transits(ctx)
    c.add_shift_time_dimension(ctx)
    c.add_time_windows(ctx)
    c.add_skill_restrictions(ctx)
    c.add_priority_penalties(ctx)
    c.add_sla_deadlines(ctx)
    c.add_overtime_cost(ctx)
    c.add_pins(ctx)
    c.add_started_jobs(ctx)
    c.add_breaks(ctx)
    c.add_workload_balance(ctx)
    if churn_reference is not None:
        c.add_churn_costs(ctx, churn_reference)
    return ctx


def _horizon_for(problem: Problem) -> int:
    from optimizer.routing_model import problem_horizon

    return problem_horizon(problem)


def search_parameters(
    time_limit: float, first_solution: str = "parallel_cheapest_insertion", log: bool = False
) -> pywrapcp.DefaultRoutingSearchParameters:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTION[first_solution]
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    params.log_search = log
    return params


def solve(
    problem: Problem,
    *,
    time_limit: float = 10.0,
    warm_start: Plan | None = None,
    churn_reference: Plan | None = None,
    on_solution: Callable[[SolutionProgress], None] | None = None,
    first_solution: str = "parallel_cheapest_insertion",
    network: Network | None = None,
) -> Plan:
    """Plan the day. ``warm_start`` seeds the search with an existing plan's routes (those still
    feasible); ``churn_reference`` prices changes to communicated appointments (see ``replan``)."""
    began = wallclock.perf_counter()
    network = network if network is not None else Network.for_problem(problem)
    ctx = build_model(problem, network, churn_reference)
    routing = ctx.routing
    params = search_parameters(time_limit, first_solution)
    stats = SolveStats()

    def record() -> None:
        stats.solutions_found += 1
        elapsed = wallclock.perf_counter() - began
        if stats.first_solution_seconds is None:
            stats.first_solution_seconds = round(elapsed, 3)
        if on_solution is not None:
            on_solution(SolutionProgress(stats.solutions_found, int(routing.CostVar().Max()), elapsed))

    routing.AddAtSolutionCallback(record)
    routing.CloseModelWithParameters(params)
    initial = _initial_assignment(ctx, warm_start) if warm_start is not None else None
    if initial is not None:
        solution = routing.SolveFromAssignmentWithParameters(initial, params)
    else:
        solution = routing.SolveWithParameters(params)
    if solution is None:
        raise SolverFailure(f"OR-Tools found no plan (status {STATUS_NAMES.get(routing.status(), routing.status())})")
    plan = extract_plan(ctx, solution)
    stats.status = STATUS_NAMES.get(routing.status(), str(routing.status()))
    stats.wall_seconds = round(wallclock.perf_counter() - began, 3)
    plan.stats = stats
    return plan


def _initial_assignment(ctx: RoutingContext, plan: Plan) -> pywrapcp.Assignment | None:
    positions = {job.id: i for i, job in enumerate(ctx.jobs)}
    routes: list[list[int]] = []
    for tech in ctx.technicians:
        route = plan.route_of(tech.id)
        started = [s.job_id for s in sorted(tech.started_jobs, key=lambda s: s.started_at) if s.job_id in positions]
        ids = started + [v.job_id for v in (route.visits if route else []) if v.job_id not in started]
        routes.append(
            [
                ctx.job_index(positions[j])
                for j in ids
                if j in positions and ctx.routing.IsVehicleAllowedForIndex(len(routes), ctx.job_index(positions[j]))
            ]
        )
    return ctx.routing.ReadAssignmentFromRoutes(routes, True)


def extract_plan(ctx: RoutingContext, solution: pywrapcp.Assignment) -> Plan:
    routing, manager, time = ctx.routing, ctx.manager, ctx.time
    routes: list[Route] = []
    for v, tech in enumerate(ctx.technicians):
        breaks = (
            sorted(
                (PlacedBreak(solution.StartValue(iv), solution.StartValue(iv) + iv.DurationMin()))
                for iv in ctx.break_intervals.get(v, [])
                if solution.PerformedValue(iv)
            )
            if v in ctx.break_intervals
            else []
        )
        index = routing.Start(v)
        route_start = solution.Value(time.CumulVar(index))
        prev_node = manager.IndexToNode(index)
        prev_end = route_start
        visits: list[Visit] = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            start = solution.Value(time.CumulVar(index))
            travel = ctx.travel(prev_node, node)
            on_break = sum(b.end - b.start for b in breaks if prev_end <= b.start < start)
            arrival = min(start, prev_end + travel + on_break)
            end = start + ctx.service_by_vehicle[v][node]
            visits.append(Visit(ctx.jobs[node].id, arrival, start, end, travel))
            prev_node, prev_end = node, end
            index = solution.Value(routing.NextVar(index))
        end_node = manager.IndexToNode(index)
        end_travel = ctx.travel(prev_node, end_node) if visits else 0
        route_end = solution.Value(time.CumulVar(index)) if visits else route_start
        routes.append(
            Route(
                technician_id=tech.id,
                start=route_start,
                end=route_end,
                visits=visits,
                breaks=breaks if visits else [],
                travel_seconds=sum(x.travel_seconds for x in visits) + end_travel,
                end_travel_seconds=end_travel,
            )
        )
    unassigned = list(ctx.screening.excluded)
    for i, job in enumerate(ctx.jobs):
        index = ctx.job_index(i)
        if solution.Value(routing.NextVar(index)) == index:
            if job.pinned_technician is not None:
                unassigned.append(
                    Unassigned(
                        job.id,
                        UnassignedReason.PINNED_TECHNICIAN_UNAVAILABLE,
                        f"pinned technician {job.pinned_technician} has no room for it",
                    )
                )
            else:
                n = len(ctx.screening.candidates[job.id])
                unassigned.append(
                    Unassigned(
                        job.id,
                        UnassignedReason.DAY_FULL,
                        f"{n} qualified technician(s) could reach it, but their days are full",
                    )
                )
    order = {job.id: k for k, job in enumerate(ctx.problem.jobs)}
    unassigned.sort(key=lambda u: order.get(u.job_id, 0))
    plan = Plan(ctx.problem.horizon_start, routes, unassigned)
    plan.objective = objective_of(ctx.problem, plan)
    return plan


def _solve_one(args: tuple[Problem, float]) -> Plan:
    problem, time_limit = args
    return solve(problem, time_limit=time_limit)


def solve_partitioned(
    problems: Sequence[Problem], processes: int | None = None, time_limit: float = 10.0
) -> list[Plan]:
    """Solve independent territories side by side, one process each (OR-Tools holds the GIL)."""
    workers = max(1, min(processes or os.cpu_count() or 1, len(problems)))
    if workers == 1:
        return [solve(p, time_limit=time_limit) for p in problems]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_solve_one, [(p, time_limit) for p in problems]))
