"""How the search is set up: iterated local search on one-model days, no dimension that prices nothing."""

from __future__ import annotations

from optimizer.model import Problem, Weights
from optimizer.network import Network
from optimizer.routing_model import WORK
from optimizer.solver import build_model, solve
from tests.optimizer.optimizer_cases import assert_valid, job, loc, problem, tech, window


def _day(balance_per_hour: float = 5.0, max_working_minutes: int | None = None) -> Problem:
    techs = [tech(f"T{i}", loc(i, -i), max_working_minutes=max_working_minutes) for i in range(3)]
    jobs = [job(f"J{i:02d}", loc(i % 5 - 2, i % 3 - 1), 30 * 60, time_windows=[window(8, 15)]) for i in range(12)]
    p = problem(techs, jobs)
    p.weights = Weights(balance_per_hour=balance_per_hour)
    return p


def test_no_work_dimension_when_nothing_limits_or_prices_working_time() -> None:
    p = _day(balance_per_hour=0.0)
    assert WORK not in build_model(p, Network.for_problem(p)).routing.GetAllDimensionNames()


def test_work_dimension_when_balance_is_priced_or_a_day_is_capped() -> None:
    for p in (_day(balance_per_hour=5.0), _day(balance_per_hour=0.0, max_working_minutes=300)):
        assert WORK in build_model(p, Network.for_problem(p)).routing.GetAllDimensionNames()


def test_a_small_day_is_solved_by_iterated_search_and_says_so() -> None:
    p = _day()
    plan = solve(p, time_limit=1.0)
    assert_valid(p, plan)
    assert len(plan.assignment()) == 12
    assert plan.stats.status.startswith("success")
