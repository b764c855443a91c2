"""Dependencies (B after A with a gap) and crews (one visit, several technicians starting together)."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.errors import ProblemError
from optimizer.explain import explain
from optimizer.io import dump_problem, load_problem
from optimizer.links import link_violations
from optimizer.model import Dependency, Plan, UnassignedReason
from optimizer.solver import solve
from optimizer.validate import validate
from tests.optimizer.optimizer_cases import H, assert_valid, job, loc, problem, tech, window


def test_b_starts_after_a_ends_plus_the_gap_on_another_technician() -> None:
    # B is near T2 and would start first; it must wait until A (on T1, far away) ends + 2 h.
    p = problem(
        [tech("T1", loc(0, 0), skills={"a": 1}), tech("T2", loc(8, 8), skills={"b": 1})],
        [
            job("B", loc(8, 9), H, required_skills={"b": 1}),
            job("A", loc(0, 1), H, required_skills={"a": 1}, time_windows=[window(9, 10)]),
        ],
    )
    p.jobs[0].after = [Dependency("A", 2 * H)]
    plan = solve(p, time_limit=2)
    assert_valid(p, plan)
    placed = plan.assignment()
    assert placed["A"][0] == "T1" and placed["B"][0] == "T2"
    assert placed["B"][1].start >= placed["A"][1].end + 2 * H
    assert any("after A + 120 min gap" in a.text for a in explain(p, plan).assignments)


def test_both_or_neither_and_the_validator_sees_a_broken_dependency() -> None:
    # A cannot be done by anyone: B, which depends on it, is left out too, with the reason.
    p = problem(
        [tech("T1", skills={"b": 1})],
        [job("A", loc(1, 1), H, required_skills={"x": 1}), job("B", loc(1, 2), H, required_skills={"b": 1})],
    )
    p.jobs[1].after = [Dependency("A")]
    plan = solve(p, time_limit=1)
    assert_valid(p, plan)
    reasons = {u.job_id: u.reason for u in plan.unassigned}
    assert reasons["B"] is UnassignedReason.LINKED_JOB_NOT_PLANNED
    assert "could not be planned with it" in " ".join(u.text for u in explain(p, plan).unassigned)
    ok = problem([tech("T1")], [job("A", loc(1, 1), H), job("B", loc(1, 2), H)])
    ok.jobs[1].after = [Dependency("A", H)]
    good = solve(ok, time_limit=1)
    assert_valid(ok, good)
    early = good.assignment()
    assert early["B"][1].start >= early["A"][1].end + H
    # Ask for a longer gap than the plan leaves: the validator names the dependency.
    gap = early["B"][1].start - early["A"][1].end
    ok.jobs[1].after = [Dependency("A", gap + 60)]
    assert [v.kind for v in validate(ok, good).violations] == ["dependency"]
    ok.jobs[1].after = [Dependency("A", 0)]
    alone = Plan(good.horizon_start, [r for r in good.routes], [])
    alone.routes[0].visits = [v for v in alone.routes[0].visits if v.job_id == "B"]
    assert any("B is planned but A before it is not" in b.message for b in link_violations(ok, alone))


def test_a_crew_starts_together_on_different_technicians() -> None:
    p = problem(
        [tech("T1", skills={"elec": 2}), tech("T2", skills={"hvac": 2}), tech("T3", skills={"hvac": 2})],
        [
            job("C1", loc(2, 2), 2 * H, required_skills={"elec": 2}, crew="C", time_windows=[window(10, 12)]),
            job("C1#2", loc(2, 2), 2 * H, required_skills={"hvac": 2}, crew="C", time_windows=[window(10, 12)]),
            job("X", loc(1, 1), H, required_skills={"hvac": 1}),
        ],
    )
    plan = solve(p, time_limit=2)
    assert_valid(p, plan)
    placed = plan.assignment()
    assert placed["C1"][1].start == placed["C1#2"][1].start
    assert placed["C1"][0] == "T1" and placed["C1#2"][0] in ("T2", "T3")
    assert any("crew C with" in a.text for a in explain(p, plan).assignments)


def test_a_crew_short_of_a_member_is_left_out_whole() -> None:
    p = problem(
        [tech("T1", skills={"elec": 2})],
        [
            job("C1", loc(2, 2), H, required_skills={"elec": 2}, crew="C"),
            job("C1#2", loc(2, 2), H, required_skills={"elec": 2}, crew="C"),  # only one electrician
        ],
    )
    plan = solve(p, time_limit=1)
    assert_valid(p, plan)
    assert plan.assignment() == {}
    assert {u.reason for u in plan.unassigned} == {UnassignedReason.LINKED_JOB_NOT_PLANNED}


def test_links_round_trip_in_json_and_bad_ones_are_named() -> None:
    p = problem([tech("T1")], [job("A"), job("B", crew="K"), job("B2", crew="K")])
    p.jobs[1].after = [Dependency("A", 600)]
    again = load_problem(dump_problem(p))
    assert again.jobs[1].after == [Dependency("A", 600)] and again.jobs[2].crew == "K"
    raw = dump_problem(p)
    raw["jobs"][1]["after"] = [{"job_id": "NOPE"}]
    with pytest.raises(ProblemError, match="job B: after\\[0\\] names unknown job 'NOPE'"):
        load_problem(raw)
    raw["jobs"][1]["after"] = [{"job_id": "A"}]
    raw["jobs"][0]["after"] = [{"job_id": "B"}]
    with pytest.raises(ProblemError, match="dependencies loop"):
        load_problem(raw)
    raw["jobs"][0]["after"] = [{"job_id": "A", "min_gap_seconds": -1}]
    with pytest.raises(ProblemError, match="job A"):
        load_problem(raw)


def test_the_constructive_plan_keeps_links_when_the_gap_closes_every_window() -> None:
    from optimizer.greedy import greedy_plan

    p = problem(
        [tech("T1")],
        [
            job("A", loc(1, 1), H, time_windows=[window(8, 10)]),
            job("B", loc(1, 2), H, time_windows=[window(8, 10)]),
            job("C", loc(2, 2), H),
        ],
    )
    p.jobs[1].after = [Dependency("A", 3 * H)]  # B could start at 12:00 at the earliest: its window is gone
    seed = greedy_plan(p)
    assert_valid(p, seed)
    assert set(seed.assignment()) == {"C"}
    plan = solve(p, time_limit=1)
    assert_valid(p, plan)
    assert set(plan.assignment()) == {"C"}


def test_schedule_command_plans_a_crew_and_a_dependency_from_a_problem_file(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from dispatch_tui.cli.main import app

    p = problem(
        [tech("T1", skills={"elec": 1}), tech("T2", skills={"hvac": 1})],
        [
            job("C", loc(2, 2), H, required_skills={"elec": 1}, crew="C"),
            job("C#2", loc(2, 2), H, required_skills={"hvac": 1}, crew="C"),
            job("D", loc(2, 3), H),
        ],
    )
    p.jobs[2].after = [Dependency("C", 1800)]
    source, out = tmp_path / "problem.json", tmp_path / "plan.json"
    source.write_text(json.dumps(dump_problem(p)))
    result = CliRunner().invoke(app, ["schedule", "--problem", str(source), "--out", str(out), "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    from optimizer.io import load_plan

    plan = load_plan(out)
    assert_valid(p, plan)
    placed = plan.assignment()
    assert placed["C"][1].start == placed["C#2"][1].start and placed["D"][1].start >= placed["C"][1].end + 1800


def test_a_crew_goes_between_work_already_planned_on_both_days() -> None:
    # Each technician has an urgent 08:00 and a 14:00 job; the crew fits only between them (10-12).
    def day(tid: str) -> list:
        return [
            job(f"{tid}-am", loc(1, 1), H, time_windows=[window(8, 8.5)], priority=1),
            job(f"{tid}-pm", loc(1, 2), H, time_windows=[window(14, 14.5)], priority=1),
        ]

    p = problem(
        [tech("T1"), tech("T2")],
        [
            *day("T1"),
            *day("T2"),
            job("K", loc(2, 2), H, crew="K", priority=4, time_windows=[window(10, 12)]),
            job("K#2", loc(2, 2), H, crew="K", priority=4, time_windows=[window(10, 12)]),
        ],
    )
    plan = solve(p, time_limit=2)
    assert_valid(p, plan)
    placed = plan.assignment()
    assert {"K", "K#2"} <= set(placed) and placed["K"][1].start == placed["K#2"][1].start
    assert len(placed) == 6
