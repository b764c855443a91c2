"""One builder per business rule of the routing model; each says in its name what it adds.

Cost units inside OR-Tools: 1 unit = 1/3600 of a currency unit, so a cost per hour is exactly a
coefficient per second (a technician at 40/h costs 40 units per driving second).
"""

from __future__ import annotations

import itertools

from ortools.constraint_solver import pywrapcp

from optimizer.model import Plan
from optimizer.objective import balance_target_seconds
from optimizer.routing_model import CHURN, PIN_PENALTY_FACTOR, TIME, WORK, RoutingContext
from optimizer.screening import effective_windows

UNITS_PER_CURRENCY = 3600


def per_second(cost_per_hour: float) -> int:
    """Currency per hour -> integer cost units per second."""
    return max(0, round(cost_per_hour))


def _travel_node_matrix(ctx: RoutingContext) -> list[list[int]]:
    net = ctx.network
    loc_idx = [net.index[loc] for loc in ctx.node_location]
    rows = [net.seconds_matrix[i] for i in loc_idx]
    matrix = [[row[j] for j in loc_idx] for row in rows]
    for v in range(len(ctx.technicians)):
        start = ctx.manager.GetStartIndex(v)
        end = ctx.manager.GetEndIndex(v)
        # An idle technician does not drive home from home: the start->end arc of an empty route is free.
        matrix[ctx.manager.IndexToNode(start)][ctx.manager.IndexToNode(end)] = 0
    return matrix


def add_travel_seconds_cost(ctx: RoutingContext, travel_matrix: list[list[int]]) -> None:
    """Arc cost = driving seconds x the technicians' mean hourly cost x the travel weight.

    One matrix for all: a matrix per hourly rate costs about half a second each to build at 1,000
    jobs, and the rate spread rarely changes who should drive where. The reported objective uses
    each technician's own rate.
    """
    techs = ctx.technicians
    mean_rate = sum(t.cost_per_hour for t in techs) / max(1, len(techs))
    coefficient = max(1, per_second(mean_rate * ctx.problem.weights.travel))
    scaled = [[c * coefficient for c in row] for row in travel_matrix]
    ctx.routing.SetArcCostEvaluatorOfAllVehicles(ctx.routing.RegisterTransitMatrix(scaled))


def add_service_and_travel_transits(ctx: RoutingContext, travel_matrix: list[list[int]]) -> None:
    """Register 'service at from-node + travel' per class of technicians sharing service durations."""
    n = len(ctx.node_location)
    job_pos = {job.id: i for i, job in enumerate(ctx.jobs)}
    by_key: dict[tuple[int, ...], int] = {}
    base_service: list[int] | None = None
    base_rows: list[list[int]] = []
    for tech in ctx.technicians:
        service = [0] * n
        for i, job in enumerate(ctx.jobs):
            service[i] = job.duration_for(tech)
        for started in tech.started_jobs:
            if started.job_id in job_pos:
                job = ctx.jobs[job_pos[started.job_id]]
                end = started.expected_end if started.expected_end is not None else started.started_at + job.duration
                service[job_pos[started.job_id]] = max(0, end - started.started_at)
        key = tuple(service)
        if key not in by_key:
            if base_service is None:
                base_service = service
                base_rows = [[service[i] + c for c in travel_matrix[i]] for i in range(n)]
                matrix = base_rows
            else:  # share the rows that do not differ (building rows is what costs time at 1,000 jobs)
                matrix = [
                    base_rows[i] if service[i] == base_service[i] else [service[i] + c for c in travel_matrix[i]]
                    for i in range(n)
                ]
            by_key[key] = ctx.routing.RegisterTransitMatrix(matrix)
        ctx.service_by_vehicle.append(service)
        ctx.transit_callbacks.append(by_key[key])


def add_shift_time_dimension(ctx: RoutingContext) -> None:
    """Time dimension with waiting allowed (slack); each route starts and ends inside its shift.

    The end is hard-limited to shift end + overtime allowance; ``add_overtime_cost`` prices the excess.
    """
    ctx.routing.AddDimensionWithVehicleTransits(ctx.transit_callbacks, ctx.horizon, ctx.horizon, False, TIME)
    time = ctx.time
    for v, tech in enumerate(ctx.technicians):
        start_var = time.CumulVar(ctx.routing.Start(v))
        end_var = time.CumulVar(ctx.routing.End(v))
        if tech.started_jobs:
            first = min(s.started_at for s in tech.started_jobs)
            start_var.SetRange(0, max(0, first))
        elif tech.earliest_departure <= tech.latest_end:
            # Fixed departure time (waiting happens at the first stop), so overtime can be a soft bound on
            # the route's span; the plan reports the leave-just-in-time departure instead.
            start_var.SetValue(tech.earliest_departure)
        else:
            start_var.SetRange(tech.latest_end, tech.latest_end)
        end_var.SetRange(0, max(tech.latest_end, 0))
        # No finalizer on start/end cumuls: walking a 60,000-value domain from the top exhausts the
        # restore search once breaks are in the model. The plan reports leave-just-in-time departures.


def add_time_windows(ctx: RoutingContext) -> None:
    """Start of service inside one of the job's windows: the outer range, minus the gaps between windows."""
    time = ctx.time
    for i, job in enumerate(ctx.jobs):
        index = ctx.job_index(i)
        var = time.CumulVar(index)
        if job.id in ctx.screening.started_by:
            continue  # add_started_jobs fixes it
        windows = sorted(effective_windows(job, ctx.horizon), key=lambda w: w.start)
        var.SetRange(windows[0].start, windows[-1].end)
        for before, after in itertools.pairwise(windows):
            if after.start - before.end > 1:
                var.RemoveInterval(before.end + 1, after.start - 1)


def add_skill_restrictions(ctx: RoutingContext) -> None:
    """Only technicians holding every required skill at the minimum level (and able to reach it) may visit."""
    all_vehicles = len(ctx.technicians)
    for i, job in enumerate(ctx.jobs):
        allowed = ctx.screening.candidates[job.id]
        if len(allowed) < all_vehicles:
            # -1 keeps 'not performed' possible; the disjunction decides whether dropping is worth it.
            ctx.routing.VehicleVar(ctx.job_index(i)).SetValues([-1, *allowed])


def add_priority_penalties(ctx: RoutingContext) -> None:
    """Every job may be dropped at a price that grows with its priority (1 = most urgent = dearest).

    Pinned and started jobs cost ten times a priority-1 drop, so they stay unless truly impossible.
    """
    weights = ctx.problem.weights
    top = round(weights.penalty_for(1) * UNITS_PER_CURRENCY)
    for i, job in enumerate(ctx.jobs):
        penalty = round(weights.penalty_for(job.priority) * UNITS_PER_CURRENCY)
        if job.pinned_technician or job.pinned_start is not None or job.id in ctx.screening.started_by:
            penalty = max(penalty, top) * PIN_PENALTY_FACTOR
        ctx.routing.AddDisjunction([ctx.job_index(i)], penalty)


def add_sla_deadlines(ctx: RoutingContext) -> None:
    """Soft SLA: each second the start passes ``sla_due`` costs the job's lateness rate (hard ones are windows)."""
    time = ctx.time
    for i, job in enumerate(ctx.jobs):
        if job.sla_due is None or job.sla_hard or job.id in ctx.screening.started_by:
            continue
        coefficient = per_second(job.lateness_cost_per_hour * ctx.problem.weights.lateness)
        if coefficient > 0:
            time.SetCumulVarSoftUpperBound(ctx.job_index(i), max(0, job.sla_due), coefficient)


def add_overtime_cost(ctx: RoutingContext) -> None:
    """Coming home after shift end costs the technician's overtime rate per second (hard cap set by the shift).

    Large-problem mode (see ``solver.solve``) leaves this out of the search: any clock-time cost makes
    OR-Tools' local search about ten times slower, and at 1,000 jobs that costs more travel than it saves
    overtime. The hard cap still holds and the reported objective still prices overtime.
    """
    if not ctx.exact_breaks:
        return
    time = ctx.time
    for v, tech in enumerate(ctx.technicians):
        coefficient = per_second(tech.overtime_cost_per_hour * ctx.problem.weights.overtime)
        if tech.overtime_allowance_minutes > 0 and coefficient > 0:
            if tech.started_jobs or tech.earliest_departure > tech.latest_end:
                time.SetCumulVarSoftUpperBound(ctx.routing.End(v), tech.shift_end, coefficient)
            else:
                bound = max(0, tech.shift_end - tech.earliest_departure)
                time.SetSoftSpanUpperBoundForVehicle(pywrapcp.BoundCost(bound, coefficient), v)


def add_breaks(ctx: RoutingContext) -> None:
    """Breaks as fixed-duration intervals; they may fall while driving or waiting but never during service."""
    solver = ctx.routing.solver()
    time = ctx.time
    size = ctx.routing.Size()
    for v, tech in enumerate(ctx.technicians):
        if not tech.breaks:
            continue
        intervals = [
            solver.FixedDurationIntervalVar(
                b.earliest_start, b.latest_start, b.duration, False, f"break {tech.id} #{k}"
            )
            for k, b in enumerate(tech.breaks)
        ]
        service = ctx.service_by_vehicle[v]
        visit_transits = [service[ctx.manager.IndexToNode(index)] for index in range(size)]
        time.SetBreakIntervalsOfVehicle(intervals, v, visit_transits)
        ctx.break_intervals[v] = intervals
        # Decide break starts explicitly (earliest first): propagation alone cannot place them, and
        # without a decision the search that restores a warm-start plan fails.
        for interval in intervals:
            ctx.routing.AddIntervalToAssignment(interval)
            ctx.routing.AddVariableMinimizedByFinalizer(interval.SafeStartExpr(0).Var())


def add_break_reserve(ctx: RoutingContext) -> None:
    """Large problems: keep each technician's break time free by ending the day that much earlier."""
    time = ctx.time
    for v, tech in enumerate(ctx.technicians):
        reserve = sum(b.duration for b in tech.breaks)
        if reserve:
            end_var = time.CumulVar(ctx.routing.End(v))
            end_var.SetMax(max(end_var.Min(), tech.latest_end - reserve))


def add_workload_balance(ctx: RoutingContext) -> None:
    """A 'work' dimension (service + travel, no waiting): hard max working minutes per technician, and a
    soft upper bound at the fair share (``balance_target_seconds``) so each hour above it costs the
    balance weight (linear, so the objective can be recomputed exactly from a plan)."""
    coefficient = per_second(ctx.problem.weights.balance_per_hour)
    if coefficient == 0 and all(t.max_working_minutes is None for t in ctx.technicians):
        return  # nothing to limit or price: a second dimension would only slow the search
    capacities = [
        t.max_working_minutes * 60 if t.max_working_minutes is not None else ctx.horizon for t in ctx.technicians
    ]
    ctx.routing.AddDimensionWithVehicleTransitAndCapacity(ctx.transit_callbacks, 0, capacities, True, WORK)
    if coefficient > 0:
        work = ctx.routing.GetDimensionOrDie(WORK)
        target = balance_target_seconds(ctx.problem)
        for v in range(len(ctx.technicians)):
            work.SetCumulVarSoftUpperBound(ctx.routing.End(v), target, coefficient)


def add_pins(ctx: RoutingContext) -> None:
    """Pinned technician: only that vehicle (screening already narrowed candidates); pinned start: fixed cumul."""
    time = ctx.time
    for i, job in enumerate(ctx.jobs):
        if job.pinned_start is not None and job.id not in ctx.screening.started_by:
            time.CumulVar(ctx.job_index(i)).SetValue(job.pinned_start)


def add_started_jobs(ctx: RoutingContext) -> None:
    """Work under way is first on its technician's route, in the given order, at its actual start time."""
    time = ctx.time
    positions = {job.id: i for i, job in enumerate(ctx.jobs)}
    for v, tech in enumerate(ctx.technicians):
        previous = ctx.routing.Start(v)
        for started in sorted(tech.started_jobs, key=lambda s: s.started_at):
            if started.job_id not in positions:
                continue
            index = ctx.job_index(positions[started.job_id])
            time.CumulVar(index).SetValue(started.started_at)
            ctx.routing.VehicleVar(index).SetValue(v)
            ctx.routing.NextVar(previous).SetValue(index)
            previous = index


def add_churn_costs(ctx: RoutingContext, reference: Plan) -> None:
    """Re-planning: moving an appointment the customer already heard about costs extra.

    Another technician costs ``churn_reassign`` (a per-vehicle unary 'churn' dimension priced by span);
    shifting the start by more than ``churn_free_minutes`` costs ``churn_shift_per_hour`` (soft bounds).
    """
    weights = ctx.problem.weights
    assigned = {job_id: tech_id for job_id, (tech_id, _) in reference.assignment().items()}
    time = ctx.time
    nodes = len(ctx.node_location)
    reassign_units = round(weights.churn_reassign * UNITS_PER_CURRENCY)
    shift_coefficient = per_second(weights.churn_shift_per_hour)
    free = weights.churn_free_minutes * 60
    communicated = [
        (i, job) for i, job in enumerate(ctx.jobs) if job.communicated_start is not None and job.id in assigned
    ]
    if not communicated:
        return
    for i, job in communicated:
        index = ctx.job_index(i)
        assert job.communicated_start is not None
        if shift_coefficient > 0 and job.id not in ctx.screening.started_by:
            upper = job.communicated_start + free
            if not time.HasCumulVarSoftUpperBound(index) or time.GetCumulVarSoftUpperBound(index) > upper:
                time.SetCumulVarSoftUpperBound(index, upper, shift_coefficient)
            time.SetCumulVarSoftLowerBound(index, max(0, job.communicated_start - free), shift_coefficient)
    if reassign_units <= 0:
        return
    tech_ids = [t.id for t in ctx.technicians]
    callbacks: list[int] = []
    for tech_id in tech_ids:
        vector = [0] * nodes  # indexed by node; job i is node i
        for i, job in communicated:
            if assigned[job.id] != tech_id:
                vector[i] = reassign_units
        callbacks.append(ctx.routing.RegisterUnaryTransitVector(vector))
    total = reassign_units * len(communicated) + 1
    ctx.routing.AddDimensionWithVehicleTransits(callbacks, 0, total, True, CHURN)
    ctx.routing.GetDimensionOrDie(CHURN).SetSpanCostCoefficientForAllVehicles(1)


def add_dependencies(ctx: RoutingContext) -> None:
    """B after A: B's start is at least A's start + A's longest service + the gap whenever B is performed,
    and the two are performed together (a started A is always performed)."""
    routing, time = ctx.routing, ctx.time
    solver = routing.solver()
    positions = {job.id: i for i, job in enumerate(ctx.jobs)}
    for i, job in enumerate(ctx.jobs):
        for dep in job.after:
            if dep.job_id not in positions:
                continue  # not in the model: enforce_links takes B out of the plan
            a, b = ctx.job_index(positions[dep.job_id]), ctx.job_index(i)
            before = ctx.jobs[positions[dep.job_id]]
            started = next((s for t in ctx.technicians for s in t.started_jobs if s.job_id == before.id), None)
            service = before.duration
            if started is not None and started.expected_end is not None:
                service = max(service, started.expected_end - started.started_at)
            solver.Add(routing.ActiveVar(a) == routing.ActiveVar(b))
            idle = (1 - routing.ActiveVar(b)) * ctx.horizon
            solver.Add(time.CumulVar(b) + idle >= time.CumulVar(a) + service + dep.min_gap)


def add_crews(ctx: RoutingContext) -> None:
    """Crew members: the same start, different technicians, all performed or none."""
    routing, time = ctx.routing, ctx.time
    solver = routing.solver()
    by_crew: dict[str, list[int]] = {}
    for i, job in enumerate(ctx.jobs):
        if job.crew is not None:
            by_crew.setdefault(job.crew, []).append(ctx.job_index(i))
    for members in by_crew.values():
        first = members[0]
        for other in members[1:]:
            solver.Add(routing.ActiveVar(first) == routing.ActiveVar(other))
            solver.Add(time.CumulVar(first) == time.CumulVar(other))
        if len(members) > 1:
            solver.Add(solver.AllDifferentExcept([routing.VehicleVar(m) for m in members], -1))


def build_travel_and_transits(ctx: RoutingContext) -> None:
    matrix = _travel_node_matrix(ctx)
    add_travel_seconds_cost(ctx, matrix)
    add_service_and_travel_transits(ctx, matrix)


__all__ = [
    "add_breaks",
    "add_churn_costs",
    "add_crews",
    "add_dependencies",
    "add_overtime_cost",
    "add_pins",
    "add_priority_penalties",
    "add_service_and_travel_transits",
    "add_shift_time_dimension",
    "add_skill_restrictions",
    "add_sla_deadlines",
    "add_started_jobs",
    "add_time_windows",
    "add_travel_seconds_cost",
    "add_workload_balance",
    "build_travel_and_transits",
    "pywrapcp",
]
