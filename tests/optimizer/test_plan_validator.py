"""The validator catches deliberately broken plans, each with the right kind of violation."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from optimizer_cases import H, assert_valid, job, loc, problem, tech, window

from optimizer.model import BreakRule, PlacedBreak, Plan, Problem, Visit
from optimizer.solver import solve
from optimizer.validate import validate


@pytest.fixture(scope="module")
def solved() -> tuple[Problem, Plan]:
    p = problem(
        [tech("T1", skills={"hvac": 2}, breaks=[BreakRule(11 * H, 13 * H, 1800)]), tech("T2", loc(3, 3))],
        [
            job("A", loc(1, 0), required_skills={"hvac": 1}, time_windows=[window(8, 12)]),
            job("B", loc(2, 0), required_skills={"hvac": 1}),
            job("C", loc(3, 2)),
            job("D", loc(3, 4)),
        ],
    )
    plan = solve(p, time_limit=1.0)
    assert_valid(p, plan)
    return p, plan


def kinds(p: Problem, plan: Plan) -> set[str]:
    return {v.kind for v in validate(p, plan).violations}


def shifted(visit: Visit, seconds: int) -> Visit:
    return dataclasses.replace(
        visit, arrival=visit.arrival + seconds, start=visit.start + seconds, end=visit.end + seconds
    )


def test_overlap_is_caught(solved: tuple[Problem, Plan]) -> None:
    p, plan = solved
    broken = copy.deepcopy(plan)
    route = next(r for r in broken.routes if len(r.visits) >= 2)
    first, second = route.visits[0], route.visits[1]
    route.visits[1] = dataclasses.replace(
        second, start=first.end - 600, end=first.end - 600 + (second.end - second.start)
    )
    assert "overlap" in kinds(p, broken)


def test_skill_mismatch_is_caught(solved: tuple[Problem, Plan]) -> None:
    p, plan = solved
    broken = copy.deepcopy(plan)
    t1 = broken.route_of("T1")
    t2 = broken.route_of("T2")
    assert t1 is not None and t2 is not None
    hvac = next(v for v in t1.visits if v.job_id in ("A", "B"))
    t1.visits.remove(hvac)
    t2.visits.append(dataclasses.replace(hvac, start=15 * H, end=16 * H, arrival=15 * H))
    assert "skill" in kinds(p, broken)


def test_window_violation_is_caught(solved: tuple[Problem, Plan]) -> None:
    p, plan = solved
    broken = copy.deepcopy(plan)
    for route in broken.routes:
        for k, visit in enumerate(route.visits):
            if visit.job_id == "A":
                route.visits[k] = shifted(visit, (12 * H + 60) - visit.start)
    assert "window" in kinds(p, broken)


def test_travel_too_short_is_caught(solved: tuple[Problem, Plan]) -> None:
    p, plan = solved
    broken = copy.deepcopy(plan)
    route = next(r for r in broken.routes if len(r.visits) >= 2)
    prev, nxt = route.visits[0], route.visits[1]
    gap = nxt.start - prev.end
    route.visits[1] = shifted(nxt, -gap)  # arrives the second the previous job ends
    assert "travel" in kinds(p, broken)


def test_misreported_travel_is_caught(solved: tuple[Problem, Plan]) -> None:
    p, plan = solved
    broken = copy.deepcopy(plan)
    route = next(r for r in broken.routes if r.visits)
    route.visits[0] = dataclasses.replace(route.visits[0], travel_seconds=route.visits[0].travel_seconds + 99)
    assert "travel" in kinds(p, broken)


def test_missing_job_and_shift_overrun_are_caught(solved: tuple[Problem, Plan]) -> None:
    p, plan = solved
    broken = copy.deepcopy(plan)
    route = next(r for r in broken.routes if r.visits)
    route.visits.pop()
    route.end = 20 * H
    found = kinds(p, broken)
    assert "coverage" in found and "overtime" in found


def test_break_outside_its_window_is_caught(solved: tuple[Problem, Plan]) -> None:
    p, plan = solved
    broken = copy.deepcopy(plan)
    t1 = broken.route_of("T1")
    assert t1 is not None and t1.breaks
    t1.breaks = [PlacedBreak(14 * H, 14 * H + 1800)]
    t1.start = 8 * H
    t1.end = max(t1.end, 15 * H)
    assert "break" in kinds(p, broken)
