"""Solve a Problem into a Plan with OR-Tools routing; territories can be solved in parallel processes.

The model is assembled from one builder per rule (``optimizer.constraints``); this module only
orders them, runs the search and turns the assignment into a Plan whose cost is recomputed from
the routes (``optimizer.objective``), never taken from the solver's bookkeeping.
"""

from __future__ import annotations

import copy
import os
import time as wallclock
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2
from ortools.util import optional_boolean_pb2

from optimizer import constraints as c
from optimizer.conflicts import reconcile
from optimizer.crew_insertion import insert_crews
from optimizer.decomposed import DECOMPOSE_MIN_JOBS, solve_decomposed
from optimizer.greedy import greedy_plan
from optimizer.links import enforce_links, has_links, linked_ids
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
from optimizer.native_log import quiet_native_logs
from optimizer.network import Network
from optimizer.objective import objective_of
from optimizer.repair import repair_insertions
from optimizer.routing_model import RoutingContext, build_context
from optimizer.screening import screen
from optimizer.timeline import RouteClock

GREEDY = "greedy"
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


EXACT_BREAKS_MAX_JOBS = 150
ITERATED_MAX_JOBS = 150
"""Up to this many jobs in one model (and no plan to start from), the search is iterated local search:
ruin and recreate around a descent, which keeps improving where guided local search from the greedy plan
stalls within seconds on windowed days (see docs/benchmarks.md). It cannot start from the greedy plan: its
first plan is OR-Tools' parallel insertion, 0.05 s at 100 jobs but more than 15 s at 300 on a loaded
machine, so larger models keep guided local search from the greedy plan."""


def build_model(
    problem: Problem, network: Network, churn_reference: Plan | None = None, exact_breaks: bool | None = None
) -> RoutingContext:
    """Screen the jobs, then add every rule to a fresh routing model."""
    screening = screen(problem, network, _horizon_for(problem))
    ctx = build_context(problem, network, screening)
    ctx.exact_breaks = exact_breaks if exact_breaks is not None else len(problem.jobs) <= EXACT_BREAKS_MAX_JOBS
    c.build_travel_and_transits(ctx)
    c.add_shift_time_dimension(ctx)
    c.add_time_windows(ctx)
    c.add_skill_restrictions(ctx)
    c.add_priority_penalties(ctx)
    c.add_sla_deadlines(ctx)
    c.add_overtime_cost(ctx)
    c.add_pins(ctx)
    c.add_started_jobs(ctx)
    if ctx.exact_breaks:
        c.add_breaks(ctx)
    else:
        c.add_break_reserve(ctx)
    c.add_workload_balance(ctx)
    c.add_dependencies(ctx)
    c.add_crews(ctx)
    if churn_reference is not None:
        c.add_churn_costs(ctx, churn_reference)
    return ctx


def _horizon_for(problem: Problem) -> int:
    from optimizer.routing_model import problem_horizon

    return problem_horizon(problem)


def search_parameters(
    time_limit: float, first_solution: str = "parallel_cheapest_insertion", log: bool = False, iterated: bool = False
) -> pywrapcp.DefaultRoutingSearchParameters:
    """Guided local search, or with ``iterated`` OR-Tools' iterated local search (see ``use_iterated_search``)."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTION[first_solution]
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    if iterated:
        use_iterated_search(params)
    params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    params.log_search = log
    # The per-route LP/MIP cumul schedulers cost seconds per insertion once breaks and soft bounds are in the
    # model (40 jobs: 2 s to a first plan instead of 0.1 s). Finalizers place the times instead; the validator
    # and the recomputed objective keep us honest about the result.
    params.disable_scheduling_beware_this_may_degrade_performance = True
    return params


SISR_AVERAGE_REMOVED = 20
SISR_MAX_STRING = 10
SLOW_OPERATORS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_make_chain_inactive",
    "use_swap_active_chain",
    "use_shortest_path_swap_active",
    "use_shortest_path_two_opt",
    "use_relocate_expensive_chain",
)


def use_iterated_search(params: pywrapcp.DefaultRoutingSearchParameters) -> None:
    """Ruin and recreate around a descent: SISR ruin (slack induction by string removals, Christiaens and
    Vanden Berghe 2020: strings of nearby visits cut from nearby routes), cheapest-insertion recreate,
    simulated-annealing acceptance of the perturbed plan, the best plan kept by descent."""
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.use_iterated_local_search = True
    ils = params.iterated_local_search_parameters
    ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
    ruin_recreate = ils.ruin_recreate_parameters
    sisr = ruin_recreate.ruin_strategies.add().sisr
    sisr.avg_num_removed_visits = SISR_AVERAGE_REMOVED
    sisr.max_removed_sequence_size = SISR_MAX_STRING
    sisr.bypass_factor = 0.01
    ruin_recreate.ruin_composition_strategy = routing_ils_pb2.RuinCompositionStrategy.RUN_ONE_RANDOMLY
    ruin_recreate.recreate_strategy.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    ils.improve_perturbed_solution = True
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
    annealing.automatic_temperatures = True
    ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()
    # The descent after each perturbation runs thousands of times: the heuristic path/chain LNS operators
    # cost more than they find there (Solomon subset at 10 s: about 1 point less distance without them).
    operators = params.local_search_operators
    for name in SLOW_OPERATORS:
        setattr(operators, name, optional_boolean_pb2.BOOL_FALSE)


def solve(
    problem: Problem,
    *,
    time_limit: float = 10.0,
    warm_start: Plan | None = None,
    churn_reference: Plan | None = None,
    on_solution: Callable[[SolutionProgress], None] | None = None,
    first_solution: str = GREEDY,
    network: Network | None = None,
    exact_breaks: bool | None = None,
    decompose: bool | None = None,
    processes: int | None = None,
) -> Plan:
    """Plan the day.

    The first plan comes from ``greedy_plan`` (milliseconds; OR-Tools' construction heuristics need
    minutes on a 1,000-job windowed day) unless ``first_solution`` names an OR-Tools strategy; guided
    local search then improves it until ``time_limit`` seconds. Up to ``ITERATED_MAX_JOBS`` jobs with
    no warm start or churn reference, iterated local search from OR-Tools' parallel insertion runs
    instead, and the greedy plan is the floor it must beat.

    Breaks are OR-Tools break intervals (travel-aware, exact) up to ``EXACT_BREAKS_MAX_JOBS`` jobs; above
    that OR-Tools' break reasoning is too slow for a live console, so each day reserves its break time
    and the break is placed when the routes are timed (a job that no longer fits is reported unassigned).

    ``warm_start`` seeds the search with an existing plan's routes and times (when OR-Tools accepts
    them); ``churn_reference`` prices changes to communicated appointments (see ``replan``).

    Above ``DECOMPOSE_MIN_JOBS`` jobs (or with ``decompose=True``) the day is solved region by region in
    ``processes`` parallel processes (``optimizer.decomposed.solve_decomposed``); a warm start, a churn
    reference, an OR-Tools first-solution strategy or ``exact_breaks`` keep the single model.

    ``time_limit`` covers the whole call: model building, search, and the repair pass after it.

    It never fails: work under way past the day's end and pins that cannot be kept become
    ``Plan.conflicts`` (``optimizer.conflicts.reconcile``), every other job may be left out with a reason,
    and should OR-Tools find nothing in time the constructive plan is returned."""
    began = wallclock.perf_counter()
    network = network if network is not None else Network.for_problem(problem)
    reconciled = reconcile(problem, network, _horizon_for(problem))
    linked = has_links(reconciled.problem)
    # Linked groups get a share of the limit after the search (crew insertion): the limit covers the call.
    link_budget = min(1.0, 0.1 * time_limit) if linked else 0.0
    with quiet_native_logs():
        plan = _solve_reconciled(
            reconciled.problem,
            began,
            time_limit - link_budget,
            warm_start,
            churn_reference,
            on_solution,
            first_solution,
            network,
            exact_breaks,
            decompose,
            processes,
        )
        if linked:
            plan = _with_linked_groups(reconciled.problem, plan, network, link_budget)
    if reconciled.conflicts:
        order = {job.id: k for k, job in enumerate(problem.jobs)}
        plan.unassigned = sorted([*plan.unassigned, *reconciled.left_out], key=lambda u: order.get(u.job_id, 0))
        plan.conflicts = list(reconciled.conflicts)
        plan.objective = objective_of(problem, plan)
    return plan


def _with_linked_groups(problem: Problem, plan: Plan, network: Network, budget_seconds: float) -> Plan:
    """Links kept, and linked groups the search could not insert (it moves one visit at a time; a crew or a
    dependency pair needs two at once) added where the constructive dispatcher fits them, when that is cheaper."""
    plan = enforce_links(problem, plan, network)
    plan = insert_crews(problem, plan, network, budget_seconds)
    topped = enforce_links(problem, greedy_plan(problem, network, keep=plan), network)
    if topped.objective.total_cost < plan.objective.total_cost:
        topped.stats = plan.stats
        topped.stats.status = f"{plan.stats.status}; linked jobs added by insertion"
        return topped
    return plan


def _solve_reconciled(
    problem: Problem,
    began: float,
    time_limit: float,
    warm_start: Plan | None,
    churn_reference: Plan | None,
    on_solution: Callable[[SolutionProgress], None] | None,
    first_solution: str,
    network: Network,
    exact_breaks: bool | None,
    decompose: bool | None,
    processes: int | None,
) -> Plan:
    if decompose is None:
        decompose = (
            len(problem.jobs) > DECOMPOSE_MIN_JOBS
            and warm_start is None
            and churn_reference is None
            and first_solution == GREEDY
            and exact_breaks is None
            and not has_links(problem)  # a region's model cannot hold a link to a job in another region
        )
    if decompose:
        left = max(0.5, time_limit - (wallclock.perf_counter() - began))
        return solve_decomposed(problem, left, processes, network, on_solution=on_solution)
    ctx = build_model(problem, network, churn_reference, exact_breaks)
    routing = ctx.routing
    iterated = (
        first_solution == GREEDY
        and warm_start is None
        and churn_reference is None
        and len(ctx.jobs) <= ITERATED_MAX_JOBS
    )
    if iterated:
        strategy = "parallel_cheapest_insertion"  # 0.05 s at 100 jobs; fewer, tighter routes than greedy
    else:
        strategy = first_solution if first_solution != GREEDY else "local_cheapest_insertion"
    params = search_parameters(time_limit, strategy, iterated=iterated)
    stats = SolveStats()

    def record() -> None:
        stats.solutions_found += 1
        elapsed = wallclock.perf_counter() - began
        if stats.first_solution_seconds is None:
            stats.first_solution_seconds = round(elapsed, 3)
        if on_solution is not None:
            on_solution(SolutionProgress(stats.solutions_found, int(routing.CostVar().Max()), elapsed))

    routing.AddAtSolutionCallback(record)
    repair_budget = max(0.2 if ctx.exact_breaks else 0.5, time_limit * 0.05)
    routing.CloseModelWithParameters(params)
    initial = _initial_assignment(ctx, warm_start) if warm_start is not None else None
    seed: Plan | None = None
    if first_solution == GREEDY:
        # The constructive plan is the floor: the search starts from it (or from the warm start when that
        # already places as much; iterated search builds its own) and the answer is never worse, however
        # little CPU the search got.
        seed = greedy_plan(problem, network, ctx.screening, reserve_breaks=not ctx.exact_breaks, keep=warm_start)
        if not iterated and (initial is None or len(seed.assignment()) > _placed(ctx, warm_start)):
            initial = _initial_assignment(ctx, seed) or initial
    # Model building and the greedy seed count against the limit, and so does the repair pass after it.
    remaining = max(0.05, time_limit - (wallclock.perf_counter() - began) - repair_budget)
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    searched = wallclock.perf_counter()
    if initial is not None:
        stats.first_solution_seconds = round(wallclock.perf_counter() - began, 3)
        solution = routing.SolveFromAssignmentWithParameters(initial, params)
    elif iterated:
        solution = routing.SolveWithIteratedLocalSearch(params)
    else:
        solution = routing.SolveWithParameters(params)
    status = routing.status()
    if iterated and solution is not None and status == 0:
        status = 1  # iterated local search leaves the model's status unset when it returns a plan
    stats.status = STATUS_NAMES.get(status, str(status))
    # Guided local search stops only on its limit; a first-solution failure after the limit is a timeout.
    stats.time_limit_reached = status in (2, 4) or wallclock.perf_counter() - searched >= 0.9 * remaining
    if solution is None:
        fallback = seed if seed is not None else greedy_plan(problem, network, ctx.screening)
        plan = fallback
        stats.status = f"{stats.status}; constructive plan returned"
    else:
        plan = extract_plan(ctx, solution)
        # With a churn reference the search also prices moves, which the recomputed objective does not.
        if seed is not None and churn_reference is None and seed.objective.total_cost < plan.objective.total_cost:
            plan = seed
            stats.status = f"{stats.status}; constructive plan kept (cheaper)"
    # Fit what is still out where it fits, so "days are full" is true of the plan returned.
    plan = repair_insertions(problem, plan, network, ctx.screening, budget_seconds=repair_budget)
    stats.wall_seconds = round(wallclock.perf_counter() - began, 3)
    plan.stats = stats
    return plan


def _placed(ctx: RoutingContext, plan: Plan | None) -> int:
    """How many of the model's jobs ``plan`` places (what a warm start brings to the search)."""
    if plan is None:
        return 0
    known = {job.id for job in ctx.jobs}
    return sum(1 for job_id in plan.assignment() if job_id in known)


def _initial_assignment(ctx: RoutingContext, plan: Plan) -> pywrapcp.Assignment | None:
    """Routes, visit times and break starts of ``plan`` as an OR-Tools assignment (None if not usable).

    Times and breaks are given explicitly: OR-Tools cannot place breaks by propagation alone, and
    its restore search gives up on a route it could in fact serve.
    """
    if not ctx.exact_breaks:
        return _route_assignment(ctx, plan)
    exact = _timed_assignment(ctx, plan)
    if exact is not None and ctx.routing.RestoreAssignment(exact) is not None:
        return exact
    # Some routes OR-Tools will not restore (its break reasoning is stricter than the plan's timing):
    # keep the routes it accepts one by one and leave the rest of the jobs to the search.
    kept = copy.deepcopy(plan)
    for route in kept.routes:
        if not route.visits:
            continue
        alone = copy.deepcopy(plan)
        for other in alone.routes:
            if other.technician_id != route.technician_id:
                other.visits, other.breaks = [], []
        single = _timed_assignment(ctx, alone)
        if single is None or ctx.routing.RestoreAssignment(single) is None:
            route.visits, route.breaks = [], []
    repaired = _timed_assignment(ctx, kept)
    if repaired is not None and ctx.routing.RestoreAssignment(repaired) is not None:
        return repaired
    return _route_assignment(ctx, plan)


def _timed_assignment(ctx: RoutingContext, plan: Plan) -> pywrapcp.Assignment | None:
    routing, time = ctx.routing, ctx.time
    positions = {job.id: i for i, job in enumerate(ctx.jobs)}
    assignment = routing.solver().Assignment()
    placed: set[int] = set()
    for v, tech in enumerate(ctx.technicians):
        route = plan.route_of(tech.id)
        visits = [x for x in (route.visits if route else []) if x.job_id in positions]
        started = [s.job_id for s in sorted(tech.started_jobs, key=lambda s: s.started_at) if s.job_id in positions]
        if [x.job_id for x in visits[: len(started)]] != started:
            return None
        previous = routing.Start(v)
        start_time = route.start if route is not None and visits else time.CumulVar(previous).Min()
        assignment.Add(time.CumulVar(previous))
        assignment.SetValue(time.CumulVar(previous), start_time)
        for visit in visits:
            index = ctx.job_index(positions[visit.job_id])
            if not routing.IsVehicleAllowedForIndex(v, index):
                return None
            assignment.Add(routing.NextVar(previous))
            assignment.SetValue(routing.NextVar(previous), index)
            assignment.Add(time.CumulVar(index))
            assignment.SetValue(time.CumulVar(index), visit.start)
            placed.add(index)
            previous = index
        end = routing.End(v)
        assignment.Add(routing.NextVar(previous))
        assignment.SetValue(routing.NextVar(previous), end)
        assignment.Add(time.CumulVar(end))
        assignment.SetValue(time.CumulVar(end), route.end if route is not None and visits else start_time)
        intervals = ctx.break_intervals.get(v, [])
        taken = sorted(route.breaks) if route is not None and visits else []
        for k, interval in enumerate(intervals):
            assignment.Add(interval)
            if k < len(taken) and interval.StartMin() <= taken[k].start <= interval.StartMax():
                begin = taken[k].start
            elif visits:
                return None
            else:
                begin = interval.StartMin()
            assignment.SetStartRange(interval, begin, begin)
            assignment.SetDurationRange(interval, interval.DurationMin(), interval.DurationMin())
            assignment.SetEndRange(interval, begin + interval.DurationMin(), begin + interval.DurationMin())
            assignment.SetPerformedRange(interval, 1, 1)
    for i in range(len(ctx.jobs)):
        index = ctx.job_index(i)
        if index not in placed:
            assignment.Add(routing.NextVar(index))
            assignment.SetValue(routing.NextVar(index), index)
    return assignment


def _route_assignment(ctx: RoutingContext, plan: Plan) -> pywrapcp.Assignment | None:
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
        if visits and not tech.started_jobs:
            # Leave just in time for the first stop (the model's departure is the earliest possible).
            first = visits[0]
            before = sum(b.end - b.start for b in breaks if route_start <= b.start < first.start)
            route_start = max(route_start, first.start - first.travel_seconds - before)
            visits[0] = Visit(first.job_id, first.start, first.start, first.end, first.travel_seconds)
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
    linked = linked_ids(ctx.problem)
    for i, job in enumerate(ctx.jobs):
        index = ctx.job_index(i)
        if solution.Value(routing.NextVar(index)) == index:
            if job.id in linked:
                unassigned.append(
                    Unassigned(
                        job.id, UnassignedReason.LINKED_JOB_NOT_PLANNED, "not placed together with its linked jobs"
                    )
                )
            elif job.pinned_technician is not None:
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
    if not ctx.exact_breaks:
        routes = [_retime_with_breaks(ctx, route, unassigned) for route in routes]
    order = {job.id: k for k, job in enumerate(ctx.problem.jobs)}
    unassigned.sort(key=lambda u: order.get(u.job_id, 0))
    plan = Plan(ctx.problem.horizon_start, routes, unassigned)
    plan.objective = objective_of(ctx.problem, plan)
    return plan


def _retime_with_breaks(ctx: RoutingContext, route: Route, unassigned: list[Unassigned]) -> Route:
    """Reserve mode: time the solver's order with breaks placed; drop what no longer fits."""
    tech = ctx.problem.technician(route.technician_id)
    if not route.visits or not tech.breaks:
        return route
    jobs = {job.id: job for job in ctx.jobs}
    clock = RouteClock(tech, ctx.network, ctx.horizon, ctx.problem.weights)
    for visit in route.visits:
        trial = clock.copy()
        if trial.push(jobs[visit.job_id]) and trial.close() is not None:
            clock = trial
        else:
            unassigned.append(
                Unassigned(
                    visit.job_id, UnassignedReason.DAY_FULL, f"no room on {tech.id}'s day once the break is placed"
                )
            )
    timing = clock.close()
    if timing is None or not timing.visits:
        return Route(tech.id, route.start, route.start)
    return timing.as_route(tech.id)


def _solve_one(args: tuple[Problem, float]) -> Plan:
    problem, time_limit = args
    return solve(problem, time_limit=time_limit, processes=1)  # territories already run side by side


def solve_partitioned(
    problems: Sequence[Problem], processes: int | None = None, time_limit: float = 10.0
) -> list[Plan]:
    """Solve independent territories side by side, one process each (OR-Tools holds the GIL)."""
    workers = max(1, min(processes or os.cpu_count() or 1, len(problems)))
    if workers == 1:
        return [solve(p, time_limit=time_limit) for p in problems]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_solve_one, [(p, time_limit) for p in problems]))
