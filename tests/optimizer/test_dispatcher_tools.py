"""suggest, replan, explain and diff: what the console shows a dispatcher."""

from __future__ import annotations

import random

from optimizer_cases import H, assert_valid, job, loc, problem, tech, tech_of, window

from optimizer.diff import diff
from optimizer.explain import explain
from optimizer.greedy import greedy_plan
from optimizer.model import BreakRule, Job, Location, StartedJob, UnassignedReason
from optimizer.network import Network
from optimizer.replan import JobAdded, JobCancelled, JobOverrun, TechnicianAbsent, apply_change, replan
from optimizer.solver import solve
from optimizer.suggest import suggest


def test_suggest_ranks_the_nearby_technician_first() -> None:
    p = problem(
        [tech("NEAR", loc(0, 0)), tech("FAR", loc(8, 8)), tech("UNSKILLED", loc(0, 0))],
        [job("X", loc(0, 1), required_skills={"gas": 1}), job("Y", loc(8, 9))],
    )
    for t in p.technicians[:2]:
        t.skills = {"gas": 1}
    plan = solve(p, time_limit=0.5)
    options = suggest(p, plan, "X", k=5)
    assert options[0].technician_id == "NEAR"
    assert all(o.technician_id != "UNSKILLED" for o in options)
    assert [o.cost for o in options] == sorted(o.cost for o in options)


def test_suggest_respects_windows_and_shift() -> None:
    p = problem([tech("T1")], [job("LATE", time_windows=[window(18, 19)]), job("OK", time_windows=[window(9, 10)])])
    plan = solve(p, time_limit=0.5)
    assert suggest(p, plan, "LATE") == []
    assert 9 * H <= suggest(p, plan, "OK")[0].start <= 10 * H


def test_suggest_answers_on_50_technicians_and_400_jobs() -> None:
    """How fast is for the bench (`bench/fsm_day.py` times suggest on this size); a test asserts what comes back."""
    rng = random.Random(7)
    techs = [
        tech(f"T{i}", loc(rng.uniform(-5, 5), rng.uniform(-5, 5)), breaks=[BreakRule(11 * H, 13 * H, 1800)])
        for i in range(50)
    ]
    jobs = [job(f"J{i}", loc(rng.uniform(-5, 5), rng.uniform(-5, 5)), duration=40 * 60) for i in range(400)]
    p = problem(techs, jobs)
    network = Network.for_problem(p)
    plan = greedy_plan(p, network)
    options = suggest(p, plan, "J0", k=5, network=network)
    assert 0 < len(options) <= 5


def test_replan_after_absence_keeps_started_work_and_moves_the_rest() -> None:
    p = problem(
        [
            tech("T1", current_location=loc(0, 1), available_from=9 * H, started_jobs=[StartedJob("S", 9 * H)]),
            tech("T2", loc(1, 1)),
        ],
        [job("S", loc(0, 1)), *[job(f"J{i}", loc(i % 3, 1 + i // 3)) for i in range(5)]],
    )
    plan = solve(p, time_limit=0.5)
    assert_valid(p, plan)
    change = TechnicianAbsent("T1", 10 * H)
    new = replan(p, plan, change, time_limit=0.5)
    updated = apply_change(p, plan, change)
    assert_valid(updated, new)
    t1 = new.route_of("T1")
    assert t1 is not None and [v.job_id for v in t1.visits] == ["S"]
    assert t1.visits[0].start == 9 * H


def test_replan_reduces_churn_of_communicated_appointments() -> None:
    rng = random.Random(3)
    techs = [tech(f"T{i}", loc(rng.uniform(-3, 3), rng.uniform(-3, 3))) for i in range(4)]
    jobs = [job(f"J{i}", loc(rng.uniform(-3, 3), rng.uniform(-3, 3)), duration=45 * 60) for i in range(16)]
    p = problem(techs, jobs)
    plan = solve(p, time_limit=1.0)
    for j in p.jobs:
        placed = plan.assignment().get(j.id)
        if placed:
            j.communicated_start = placed[1].start
    urgent = Job("NEW", Location(60.17, 24.94), 3600, priority=1)
    with_churn = replan(p, plan, JobAdded(urgent), time_limit=1.0)
    updated = apply_change(p, plan, JobAdded(urgent))
    assert_valid(updated, with_churn)
    assert tech_of(with_churn, "NEW") is not None
    fresh = solve(updated, time_limit=1.0)
    moved_replan = sum(1 for m in diff(plan, with_churn).moves if m.technician_changed)
    moved_fresh = sum(1 for m in diff(plan, fresh).moves if m.technician_changed)
    assert moved_replan <= moved_fresh
    assert moved_replan <= 2


def test_replan_cancel_and_overrun() -> None:
    p = problem(
        [tech("T1", current_location=loc(1, 1), available_from=8 * H, started_jobs=[StartedJob("S", 8 * H)])],
        [job("S", loc(1, 1)), job("A", loc(1, 2)), job("B", loc(1, 3))],
    )
    plan = solve(p, time_limit=0.5)
    cancelled = replan(p, plan, JobCancelled("B"), time_limit=0.5)
    assert "B" not in cancelled.assignment()
    assert diff(plan, cancelled).removed == ["B"]
    overrun = replan(p, plan, JobOverrun("S", 11 * H), time_limit=0.5)
    assert_valid(apply_change(p, plan, JobOverrun("S", 11 * H)), overrun)
    assert overrun.assignment()["S"][1].end == 11 * H
    assert overrun.assignment()["A"][1].start >= 11 * H


def test_diff_reports_moves_new_and_unassigned() -> None:
    p = problem([tech("T1"), tech("T2", loc(4, 4))], [job("A", loc(0, 1)), job("B", loc(4, 5))])
    old = solve(p, time_limit=0.5)
    p.technicians[1].shift_end = p.technicians[1].shift_start  # T2 goes home
    new = solve(p, time_limit=0.5)
    d = diff(old, new)
    assert [m.job_id for m in d.moves if m.technician_changed] == ["B"]
    assert not d.newly_unassigned
    assert diff(old, old).empty


def test_explain_names_skills_travel_and_reasons() -> None:
    p = problem(
        [tech("T1", skills={"hvac": 3}), tech("T2", skills={"hvac": 1})],
        [job("A", required_skills={"hvac": 2}), job("Z", required_skills={"lift": 1})],
    )
    plan = solve(p, time_limit=0.5)
    info = explain(p, plan)
    a = info.assignments[0]
    assert a.job_id == "A" and a.technician_id == "T1" and a.skills_matched == {"hvac": (3, 2)}
    assert a.alternatives == 0 and "hvac 3/2" in a.text
    assert info.unassigned[0].reason is UnassignedReason.NO_QUALIFIED_TECHNICIAN


def test_replan_with_now_freezes_work_already_begun() -> None:
    p = problem([tech("T1"), tech("T2", loc(2, 2))], [job(f"J{i}", loc(i % 2, i // 2), duration=H) for i in range(6)])
    plan = solve(p, time_limit=0.5)
    first = min((v for r in plan.routes for v in r.visits), key=lambda v: v.start)
    now = first.start + 60
    new = replan(p, plan, JobAdded(job("NEW", loc(1, 1), priority=1)), now=now, time_limit=0.5)
    owner = tech_of(plan, first.job_id)
    route = new.route_of(owner or "")
    assert route is not None and route.visits[0].job_id == first.job_id
    assert route.visits[0].start == first.start
    assert tech_of(new, "NEW") is not None


def test_absent_technician_pinned_job_is_reported() -> None:
    p = problem([tech("T1"), tech("T2")], [job("PIN", pinned_technician="T1"), job("FREE")])
    plan = solve(p, time_limit=0.5)
    new = replan(p, plan, TechnicianAbsent("T1", 8 * H), time_limit=0.5)
    assert [(u.job_id, u.reason) for u in new.unassigned] == [("PIN", UnassignedReason.PINNED_TECHNICIAN_UNAVAILABLE)]
    d = diff(plan, new)
    assert [u.job_id for u in d.newly_unassigned] == ["PIN"]
    assert tech_of(new, "FREE") == "T2"
