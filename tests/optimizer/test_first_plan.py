"""The first plan does not depend on spare CPU, and "days are full" is true of the plan returned."""

from __future__ import annotations

from optimizer.greedy import greedy_plan
from optimizer.model import Plan, Route, Unassigned, UnassignedReason
from optimizer.network import Network
from optimizer.repair import repair_insertions
from optimizer.routing_model import problem_horizon
from optimizer.screening import screen
from optimizer.solver import solve
from tests.optimizer.optimizer_cases import assert_valid, job, loc, problem, tech, window


def _day() -> object:
    techs = [tech(f"T{i}", loc(i, -i)) for i in range(4)]
    jobs = [job(f"J{i:02d}", loc(i % 7 - 3, i % 5 - 2), 30 * 60, time_windows=[window(8, 15)]) for i in range(40)]
    return problem(techs, jobs)


def _nothing_planned(p: object) -> Plan:
    routes = [Route(t.id, t.shift_start, t.shift_start) for t in p.technicians]  # type: ignore[attr-defined]
    unassigned = [Unassigned(j.id, UnassignedReason.DAY_FULL, "not planned yet") for j in p.jobs]  # type: ignore[attr-defined]
    return Plan(p.horizon_start, routes, unassigned)  # type: ignore[attr-defined]


def test_a_short_solve_from_an_empty_day_places_at_least_the_constructive_plan() -> None:
    p = _day()
    floor = len(greedy_plan(p).assignment())  # type: ignore[arg-type]
    plan = solve(p, time_limit=0.2, warm_start=_nothing_planned(p), churn_reference=_nothing_planned(p))  # type: ignore[arg-type]
    assert_valid(p, plan)  # type: ignore[arg-type]
    assert len(plan.assignment()) >= floor
    assert plan.stats.status


def test_day_full_is_only_said_when_no_one_has_room() -> None:
    p = problem([tech("T1"), tech("T2")], [job("A"), job("B", time_windows=[window(9, 10)])])
    network = Network.for_problem(p)
    screening = screen(p, network, problem_horizon(p))
    claimed = _nothing_planned(p)
    repaired = repair_insertions(p, claimed, network, screening, budget_seconds=5)
    assert not repaired.unassigned  # T1 and T2 were idle: the days were not full
    untried = repair_insertions(p, claimed, network, screening, budget_seconds=0)
    assert {u.reason for u in untried.unassigned} == {UnassignedReason.NOT_PLACED_IN_TIME}
    assert all(u.detail == "not placed within the time limit" for u in untried.unassigned)
