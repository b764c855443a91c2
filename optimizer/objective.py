"""The plan's cost recomputed from its routes alone, term by term, with the problem's weights.

Used to report the solver's plan and, independently, by the validator: it never reads OR-Tools state.
"""

from __future__ import annotations

import math

from optimizer.model import ObjectiveBreakdown, Plan, Problem


def balance_target_seconds(problem: Problem) -> int:
    """A fair day's work: all job time plus 20% for driving, shared by the technicians on shift.

    Working time (service + travel) above it is priced at ``Weights.balance_per_hour``.
    """
    on_shift = [t for t in problem.technicians if t.earliest_departure < t.latest_end]
    total = sum(j.duration for j in problem.jobs) * 1.2
    return math.ceil(total / max(1, len(on_shift)))


def objective_of(problem: Problem, plan: Plan) -> ObjectiveBreakdown:
    weights = problem.weights
    techs = {t.id: t for t in problem.technicians}
    jobs = {j.id: j for j in problem.jobs}
    out = ObjectiveBreakdown()
    cost = 0.0
    work_days: list[int] = []
    target = balance_target_seconds(problem)
    above_target = 0
    for route in plan.routes:
        tech = techs.get(route.technician_id)
        if tech is None:
            continue
        travel = sum(v.travel_seconds for v in route.visits) + (route.end_travel_seconds if route.visits else 0)
        out.travel_seconds += travel
        cost += travel / 3600 * tech.cost_per_hour * weights.travel
        if route.visits:
            overtime = max(0, route.end - tech.shift_end)
            out.overtime_seconds += overtime
            cost += overtime / 3600 * tech.overtime_cost_per_hour * weights.overtime
            worked = travel + sum(v.end - v.start for v in route.visits)
            work_days.append(worked)
            above_target += max(0, worked - target)
        for visit in route.visits:
            job = jobs.get(visit.job_id)
            if job is None or job.sla_due is None:
                continue
            late = max(0, visit.start - job.sla_due)
            out.lateness_seconds += late
            cost += late / 3600 * job.lateness_cost_per_hour * weights.lateness
    for item in plan.unassigned:
        job = jobs.get(item.job_id)
        priority = job.priority if job is not None else 4
        out.unassigned_by_priority[priority] = out.unassigned_by_priority.get(priority, 0) + 1
        cost += weights.penalty_for(priority)
    out.longest_day_seconds = max(work_days, default=0)
    out.balance_seconds = out.longest_day_seconds - min(work_days, default=0)
    out.above_fair_share_seconds = above_target
    cost += above_target / 3600 * weights.balance_per_hour
    out.total_cost = round(cost, 2)
    return out
