"""Slot offers: each promisable window priced by its cheapest insertion, infeasible ones left out."""

from __future__ import annotations

from optimizer.greedy import greedy_plan
from optimizer.slots import arrival_windows, offer_slots
from tests.optimizer.optimizer_cases import H, job, loc, problem, tech, window


def test_windows_are_ranked_by_added_cost_and_a_full_window_is_not_offered() -> None:
    # T1 works 08-16 with a 3-hour job 09:00-12:00 pinned in place (window 9-9).
    p = problem(
        [tech("T1", skills={"gas": 2})],
        [job("BIG", loc(5, 5), 3 * H, time_windows=[window(9, 9)])],
    )
    plan = greedy_plan(p)
    new = job("NEW", loc(5, 6), H, required_skills={"gas": 2})
    windows = arrival_windows(8 * H, 16 * H)
    offers = offer_slots(p, plan, new, windows)
    offered = {o.window.start for o in offers}
    # BIG holds T1 09:00-12:00: an hour before it does not fit, so the first window is 11-13 (arrive 12:0x)
    assert offered == {11 * H, 12 * H, 13 * H, 14 * H}
    costs = [o.cost for o in offers]
    assert costs == sorted(costs)
    for o in offers:
        assert o.window.start <= o.start <= o.window.end and o.technician_id == "T1"
    assert all(o.displaced == () for o in offers)  # after BIG: nothing moves


def test_displaced_work_and_skills() -> None:
    p = problem(
        [tech("T1", skills={"gas": 2}), tech("T2", skills={"hvac": 1})],
        [job("A", loc(1, 1), H, time_windows=[window(9, 12)])],
    )
    plan = greedy_plan(p)
    assert plan.assignment()["A"][1].start < 10 * H
    new = job("NEW", loc(1, 2), 2 * H, required_skills={"gas": 2})
    offers = offer_slots(p, plan, new, [window(8, 9)])
    assert len(offers) == 1 and offers[0].technician_id == "T1"
    assert [d.job_id for d in offers[0].displaced] == ["A"] and offers[0].displaced[0].minutes_later > 0
    assert offer_slots(p, plan, job("X", loc(1, 2), H, required_skills={"gas": 3}), [window(8, 10)]) == []


def test_a_day_that_starts_after_its_break_window_still_takes_work() -> None:
    # Planning at 13:20: the lunch window (10:30-13:00 start) is over, taken or not; the day goes on.
    from optimizer.model import BreakRule

    late = tech("T1", breaks=[BreakRule(int(10.5 * H), 13 * H, 30 * 60)], available_from=13 * H + 20 * 60)
    p = problem([late], [job("A", loc(1, 1), H)])
    plan = greedy_plan(p)
    assert "A" in plan.assignment()
    assert offer_slots(p, plan, job("NEW", loc(1, 2), H), [window(14, 16)])
