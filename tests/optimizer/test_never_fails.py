"""A plan always comes back: work under way past the day's end and pins that cannot be kept are conflicts."""

from __future__ import annotations

import os

import jsonschema
import pytest

from optimizer.io import dump_plan, load_plan, plan_schema
from optimizer.model import BreakRule, StartedJob, UnassignedReason
from optimizer.solver import solve
from optimizer.validate import validate
from tests.optimizer.optimizer_cases import H, assert_valid, job, problem, tech


def _evening() -> tuple[object, ...]:
    """23:30: every shift is over, J9 still on site with T4 (since 11:00), J1 pinned on T4 at 13:00."""
    late = 23 * H + 1800
    t4 = tech(
        "T4",
        shift_end=12 * H,
        breaks=[BreakRule(10 * H, 11 * H, 1800)],
        started_jobs=[StartedJob("J9", 11 * H, late)],
        available_from=late,
    )
    t5 = tech("T5", available_from=late, overtime_allowance_minutes=60)
    jobs = [
        job("J9"),
        job("J1", pinned_technician="T4", pinned_start=13 * H),
        job("J2", earliest_start=late),
    ]
    return problem([t4, t5], jobs), late


def test_evening_with_work_under_way_returns_a_plan_with_conflicts() -> None:
    p, _ = _evening()
    plan = solve(p, time_limit=1)  # type: ignore[arg-type]
    assert_valid(p, plan)  # type: ignore[arg-type]
    assert [v.job_id for v in plan.route_of("T4").visits] == ["J9"]  # type: ignore[union-attr]
    messages = {c.job_id: c.message for c in plan.conflicts}
    assert messages["J1"] == "J1 is pinned on T4 13:00 but T4's shift ended at 12:00"
    assert "J9 is under way with T4 until 23:30" in messages["J9"]
    reasons = {u.job_id: u.reason for u in plan.unassigned}
    assert reasons["J1"] is UnassignedReason.PINNED_TECHNICIAN_UNAVAILABLE
    assert "J2" in reasons


def test_overlapping_pins_keep_one_and_report_the_other() -> None:
    p = problem(
        [tech("T1")],
        [
            job("A", pinned_technician="T1", pinned_start=9 * H),
            job("B", pinned_technician="T1", pinned_start=9 * H + 1800, priority=4),
            job("C"),
        ],
    )
    plan = solve(p, time_limit=1)
    assert_valid(p, plan)
    assert {v.job_id for v in plan.route_of("T1").visits} == {"A", "C"}  # type: ignore[union-attr]
    [conflict] = plan.conflicts
    assert conflict.kind == "pins_overlap" and conflict.job_id == "B"
    assert conflict.message == "B is pinned on T1 09:30 but A is pinned on T1 09:00-10:00"


def test_validator_insists_the_conflict_is_reported() -> None:
    p, _ = _evening()
    plan = solve(p, time_limit=1)  # type: ignore[arg-type]
    plan.conflicts = []
    kinds = {v.kind for v in validate(p, plan).violations}  # type: ignore[arg-type]
    assert "conflict" in kinds


def test_plan_json_carries_status_time_limit_and_conflicts() -> None:
    p, _ = _evening()
    plan = solve(p, time_limit=1)  # type: ignore[arg-type]
    document = dump_plan(plan)
    jsonschema.validate(document, plan_schema())
    assert isinstance(document["stats"]["time_limit_reached"], bool)
    assert document["stats"]["status"]
    assert {c["job_id"] for c in document["conflicts"]} == {"J1", "J9"}
    again = load_plan(document)
    assert again.conflicts == plan.conflicts
    assert again.stats.time_limit_reached == plan.stats.time_limit_reached


def test_or_tools_log_lines_never_reach_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    p, _ = _evening()
    solve(p, time_limit=0.5)  # type: ignore[arg-type]
    os.write(2, b"")  # the descriptor is back in place
    captured = capfd.readouterr()
    assert "absl" not in captured.err and "routing.cc" not in captured.err


def test_sick_from_ten_means_nothing_after_ten() -> None:
    """The overtime allowance does not run on after an absence, and the validator checks absences itself."""
    from optimizer.model import Absence, Plan, Route, Visit

    sick = tech("T1", overtime_allowance_minutes=60, absences=[Absence(10 * H, 16 * H)])
    assert sick.latest_end == 10 * H
    p = problem([sick], [job("A", duration=H), job("B", duration=H)])
    plan = solve(p, time_limit=0.5)
    assert_valid(p, plan)
    assert all(v.end <= 10 * H for v in plan.route_of("T1").visits)  # type: ignore[union-attr]
    # A plan made without knowing of the absence: a job after 10:00 is flagged.
    late = problem([tech("T1", overtime_allowance_minutes=60)], [job("A", duration=H)])
    unaware = solve(late, time_limit=0.5)
    visit = unaware.route_of("T1").visits[0]  # type: ignore[union-attr]
    moved = Visit("A", 10 * H + 600, 10 * H + 600, 11 * H + 600, visit.travel_seconds)
    route = unaware.route_of("T1")
    assert route is not None
    shifted = Plan(
        p.horizon_start,
        [
            Route(
                "T1",
                10 * H + 600 - visit.travel_seconds,
                11 * H + 600 + route.end_travel_seconds,
                [moved],
                [],
                route.travel_seconds,
                route.end_travel_seconds,
            )
        ],
        [],
    )
    kinds = {v.kind for v in validate(problem([sick], [job("A", duration=H)]), shifted).violations}
    assert "absence" in kinds


def test_a_native_error_line_is_swallowed(capfd: pytest.CaptureFixture[str]) -> None:
    from ortools.constraint_solver import pywrapcp

    from optimizer.native_log import quiet_native_logs, set_stderr_redirect

    set_stderr_redirect(True)  # the default, whatever a console test before this one left

    with quiet_native_logs():
        manager = pywrapcp.RoutingIndexManager(4, 2, [0, 1], [0, 1])
        routing = pywrapcp.RoutingModel(manager)
        routing.VehicleVar(manager.NodeToIndex(2)).SetValues([-1, 0])
        routing.CloseModel()
        assert routing.ReadAssignmentFromRoutes([[], [manager.NodeToIndex(2)]], True) is None
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "not allowed" not in err and "InitializeLog" not in err
    assert "after" in err  # the descriptor is back in place
