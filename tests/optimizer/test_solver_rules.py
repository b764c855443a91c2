"""Each rule of the routing model, on a case small enough to check by hand; every plan is validated."""

from __future__ import annotations

from optimizer_cases import H, assert_valid, job, loc, problem, tech, tech_of, window

from optimizer.model import BreakRule, StartedJob, UnassignedReason, Weights
from optimizer.solver import solve, solve_partitioned

LIMIT = 0.5


def test_only_qualified_technician_gets_the_job() -> None:
    p = problem(
        [tech("T1", skills={"hvac": 1}), tech("T2", skills={"hvac": 3})],
        [job("J1", required_skills={"hvac": 2})],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert tech_of(plan, "J1") == "T2"


def test_job_nobody_is_qualified_for_is_unassigned_with_reason() -> None:
    p = problem([tech("T1", skills={"hvac": 1})], [job("J1", required_skills={"elevator": 1})])
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert plan.unassigned[0].reason is UnassignedReason.NO_QUALIFIED_TECHNICIAN


def test_unreachable_window_leaves_job_unassigned_with_reason() -> None:
    # Window closes at 06:00, before anyone's 08:00 shift.
    p = problem([tech("T1")], [job("J1", time_windows=[window(5, 6)]), job("J2")])
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert [(u.job_id, u.reason) for u in plan.unassigned] == [("J1", UnassignedReason.WINDOW_UNREACHABLE)]
    assert tech_of(plan, "J2") == "T1"


def test_qualified_technician_off_shift_gives_on_shift_reason() -> None:
    p = problem([tech("T1", shift_start=8 * H, shift_end=8 * H)], [job("J1")])
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert plan.unassigned[0].reason is UnassignedReason.NO_QUALIFIED_TECHNICIAN_ON_SHIFT


def test_time_windows_are_met() -> None:
    jobs = [job(f"J{i}", loc(i, 0), time_windows=[window(8 + 2 * i, 9 + 2 * i)]) for i in range(4)]
    p = problem([tech("T1")], jobs)
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    for i in range(4):
        visit = plan.assignment()[f"J{i}"][1]
        assert (8 + 2 * i) * H <= visit.start <= (9 + 2 * i) * H


def test_multiple_windows_use_the_later_one_when_the_first_is_gone() -> None:
    # Technician only free from 10:00; J1 accepts 08-09 or 14-15.
    p = problem(
        [tech("T1", available_from=10 * H)],
        [job("J1", time_windows=[window(8, 9), window(14, 15)])],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    start = plan.assignment()["J1"][1].start
    assert 14 * H <= start <= 15 * H


def test_break_is_taken_inside_its_window_and_not_during_work() -> None:
    jobs = [job(f"J{i}", loc(i % 3, i // 3)) for i in range(6)]
    p = problem([tech("T1", breaks=[BreakRule(11 * H, 12 * H, 1800)], shift_end=17 * H)], jobs)
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    route = plan.route_of("T1")
    assert route is not None and len(route.visits) == 6
    assert len(route.breaks) == 1
    assert 11 * H <= route.breaks[0].start <= 12 * H


def test_pinned_technician_and_start_are_kept() -> None:
    p = problem(
        [tech("T1", loc(0, 0)), tech("T2", loc(5, 5))],
        [job("J1", loc(0, 1), pinned_technician="T2", pinned_start=13 * H), job("J2", loc(0, 1))],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    placed = plan.assignment()["J1"]
    assert placed[0] == "T2" and placed[1].start == 13 * H


def test_pin_to_a_technician_who_cannot_do_it_is_reported() -> None:
    p = problem(
        [tech("T1"), tech("T2", skills={"gas": 1})],
        [job("J1", required_skills={"gas": 1}, pinned_technician="T1")],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert plan.unassigned[0].reason is UnassignedReason.PINNED_TECHNICIAN_UNAVAILABLE
    assert "T1" in plan.unassigned[0].detail


def test_priority_one_is_kept_over_priority_four_when_the_day_is_full() -> None:
    # 8 h shift, two 5 h jobs: only one fits.
    p = problem(
        [tech("T1")], [job("LOW", duration=5 * H, priority=4), job("URGENT", loc(2, 2), duration=5 * H, priority=1)]
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert tech_of(plan, "URGENT") == "T1"
    assert [(u.job_id, u.reason) for u in plan.unassigned] == [("LOW", UnassignedReason.DAY_FULL)]
    assert plan.objective.unassigned_by_priority == {4: 1}


def test_started_job_stays_first_at_its_start() -> None:
    p = problem(
        [tech("T1", current_location=loc(3, 3), available_from=9 * H, started_jobs=[StartedJob("S", 9 * H, 10 * H)])],
        [job("A", loc(0, 1)), job("S", loc(3, 3)), job("B", loc(0, 2))],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    route = plan.route_of("T1")
    assert route is not None
    assert route.visits[0].job_id == "S" and route.visits[0].start == 9 * H and route.visits[0].end == 10 * H
    assert {v.job_id for v in route.visits} == {"S", "A", "B"}


def test_overtime_is_used_up_to_the_allowance_and_priced() -> None:
    # 8 h shift, 9 h of work: fits only with overtime.
    p = problem(
        [tech("T1", overtime_allowance_minutes=90)],
        [
            job("J1", loc(0, 0), duration=4 * H + 1800, priority=1),
            job("J2", loc(0, 0), duration=4 * H + 1800, priority=1),
        ],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert not plan.unassigned
    assert plan.objective.overtime_seconds == H


def test_overtime_beyond_the_allowance_drops_a_job() -> None:
    p = problem(
        [tech("T1", overtime_allowance_minutes=30)],
        [job("J1", loc(0, 0), duration=4 * H + 1800), job("J2", loc(0, 0), duration=4 * H + 1800)],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert len(plan.unassigned) == 1
    route = plan.route_of("T1")
    assert route is not None and route.end <= 16 * H + 1800


def test_soft_sla_lateness_is_reported_and_hard_sla_is_a_deadline() -> None:
    p = problem(
        [tech("T1")],
        [
            job("SOFT", loc(0, 0), duration=2 * H, sla_due=8 * H, priority=1),
            job("HARD", loc(0, 0), duration=2 * H, sla_due=8 * H, sla_hard=True, priority=1),
        ],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert plan.assignment()["HARD"][1].start == 8 * H
    assert plan.objective.lateness_seconds == 2 * H


def test_skill_level_shortens_duration() -> None:
    p = problem(
        [tech("T1", skills={"hvac": 3})],
        [job("J1", required_skills={"hvac": 1}, duration=2 * H, duration_by_skill_level={3: H})],
    )
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    visit = plan.assignment()["J1"][1]
    assert visit.end - visit.start == H


def test_max_working_minutes_caps_the_day() -> None:
    p = problem([tech("T1", max_working_minutes=150)], [job(f"J{i}", loc(0, 0)) for i in range(4)])
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert len(plan.assignment()) == 2


def test_different_start_and_end_locations() -> None:
    p = problem([tech("T1", loc(0, 0), end_location=loc(4, 0))], [job("J1", loc(2, 0))])
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    route = plan.route_of("T1")
    assert route is not None and route.end_travel_seconds > 0


def test_warm_start_keeps_a_good_plan() -> None:
    p = problem([tech("T1"), tech("T2", loc(4, 4))], [job(f"J{i}", loc(i, i)) for i in range(6)])
    first = solve(p, time_limit=LIMIT)
    again = solve(p, time_limit=0.5, warm_start=first)
    assert_valid(p, again)
    assert again.objective.total_cost <= first.objective.total_cost + 0.01


def test_solution_callback_reports_progress() -> None:
    seen: list[int] = []
    p = problem([tech("T1")], [job(f"J{i}", loc(i, 0)) for i in range(3)])
    assert_valid(p, solve(p, time_limit=0.5, on_solution=lambda s: seen.append(s.solutions)))
    assert seen and seen[0] == 1


def test_territories_solve_in_parallel_processes() -> None:
    north = problem([tech("N1", loc(5, 0))], [job("NJ", loc(5, 1))])
    south = problem([tech("S1", loc(-5, 0))], [job("SJ", loc(-5, 1))])
    plans = solve_partitioned([north, south], processes=2, time_limit=0.5)
    assert tech_of(plans[0], "NJ") == "N1" and tech_of(plans[1], "SJ") == "S1"
    assert_valid(north, plans[0])
    assert_valid(south, plans[1])


def test_weights_change_the_answer() -> None:
    # A cheap priority-4 job far away: dropped when leaving it unassigned costs little.
    far = job("FAR", loc(40, 40), priority=4)
    control = problem([tech("T1", shift_end=20 * H)], [far])
    kept = solve(control, time_limit=LIMIT)
    assert_valid(control, kept)
    assert not kept.unassigned and tech_of(kept, "FAR") == "T1"  # the default weights keep it
    p = problem([tech("T1", shift_end=20 * H)], [far])
    p.weights = Weights(unassigned_penalty={4: 1.0})
    plan = solve(p, time_limit=LIMIT)
    assert_valid(p, plan)
    assert [u.job_id for u in plan.unassigned] == ["FAR"]


def test_large_problem_mode_reserves_and_places_breaks() -> None:
    jobs = [job(f"J{i}", loc(i % 3, i // 3), time_windows=[window(8, 16)]) for i in range(6)]
    p = problem([tech("T1", breaks=[BreakRule(11 * H, 12 * H, 1800)], shift_end=17 * H)], jobs)
    plan = solve(p, time_limit=LIMIT, exact_breaks=False)
    assert_valid(p, plan)
    route = plan.route_of("T1")
    assert route is not None and len(route.visits) == 6 and len(route.breaks) == 1
    assert 11 * H <= route.breaks[0].start <= 12 * H


def test_greedy_plan_is_valid_and_the_solver_beats_it() -> None:
    import random

    from optimizer.greedy import greedy_plan

    rng = random.Random(5)
    techs = [
        tech(f"T{i}", loc(rng.uniform(-4, 4), rng.uniform(-4, 4)), breaks=[BreakRule(11 * H, 13 * H, 1800)])
        for i in range(4)
    ]
    jobs = [job(f"J{i}", loc(rng.uniform(-4, 4), rng.uniform(-4, 4)), duration=45 * 60) for i in range(24)]
    p = problem(techs, jobs)
    greedy = greedy_plan(p)
    assert_valid(p, greedy)
    plan = solve(p, time_limit=1.0)
    assert_valid(p, plan)
    assert plan.objective.total_cost <= greedy.objective.total_cost


def test_a_job_whose_window_closed_before_its_earliest_start_is_not_planned_in_the_past() -> None:
    # Planning at 12:00 (earliest start) a job whose only window was 08-10: it cannot be done today.
    p = problem([tech("T1")], [job("A", loc(1, 1), H, time_windows=[window(8, 10)], earliest_start=12 * H)])
    plan = solve(p, time_limit=0.5)
    assert plan.assignment() == {}
    assert [u.reason for u in plan.unassigned] == [UnassignedReason.WINDOW_UNREACHABLE]
