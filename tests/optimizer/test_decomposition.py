"""Large days solved region by region: the partition, the merged plan's validity, the switch and the clock."""

from __future__ import annotations

import random

import pytest
from optimizer_cases import H, job, loc, problem, tech, window

from optimizer import decomposed, solver
from optimizer.decomposed import region_count, solve_decomposed
from optimizer.greedy import greedy_plan
from optimizer.model import Job, Plan, Problem, StartedJob, Technician
from optimizer.network import Network
from optimizer.regions import partition
from optimizer.validate import validate


def two_towns(techs_per_town: int = 4, jobs_per_town: int = 40, seed: int = 3) -> Problem:
    """Two clusters 30 blocks apart (about 17 km east-west), technicians living in each."""
    rng = random.Random(seed)
    techs: list[Technician] = []
    jobs: list[Job] = []
    for town, dx in enumerate((-15, 15)):
        for i in range(techs_per_town):
            techs.append(tech(f"T{town}{i}", loc(rng.uniform(-2, 2), dx + rng.uniform(-2, 2)), skills={"hvac": 2}))
        for i in range(jobs_per_town):
            w = [window(8, 12)] if i % 3 == 0 else [window(12, 16)] if i % 3 == 1 else []
            jobs.append(
                job(
                    f"J{town}{i:02d}",
                    loc(rng.uniform(-3, 3), dx + rng.uniform(-3, 3)),
                    duration=rng.choice([30, 45, 60]) * 60,
                    required_skills={"hvac": 1},
                    time_windows=w,
                    priority=rng.choice([1, 2, 3, 3, 4]),
                )
            )
    return problem(techs, jobs)


def assert_complete_and_valid(p: Problem, plan: Plan) -> None:
    report = validate(p, plan)
    assert report.violations == [], [str(v) for v in report.violations]
    placed = [v.job_id for r in plan.routes for v in r.visits]
    dropped = [u.job_id for u in plan.unassigned]
    assert sorted(placed + dropped) == sorted(j.id for j in p.jobs)
    assert sorted(r.technician_id for r in plan.routes) == sorted(t.id for t in p.technicians)
    assert report.objective.total_cost == plan.objective.total_cost


def test_partition_keeps_towns_apart_and_covers_everyone() -> None:
    p = two_towns()
    regions = partition(p, 2)
    assert len(regions) == 2
    for region in regions:
        towns = {t.id[1] for t in region.technicians}
        assert len(towns) == 1
        assert {j.id[1] for j in region.jobs} == towns
    assert sorted(j.id for r in regions for j in r.jobs) == sorted(j.id for j in p.jobs)
    assert sorted(t.id for r in regions for t in r.technicians) == sorted(t.id for t in p.technicians)


def test_scarce_skill_job_goes_to_the_region_with_a_qualified_technician() -> None:
    p = two_towns()
    p.technicians[-1].skills["gas"] = 2  # only a town-1 technician holds gas
    p.jobs.append(job("GAS", loc(0, -15), required_skills={"gas": 1}, priority=1))
    regions = partition(p, 2)
    home = next(r for r in regions if any(j.id == "GAS" for j in r.jobs))
    assert p.technicians[-1] in home.technicians
    plan = solve_decomposed(p, time_limit=4, processes=1, regions=2)
    assert_complete_and_valid(p, plan)
    assert plan.assignment()["GAS"][0] == p.technicians[-1].id


def test_pinned_and_started_jobs_follow_their_technician() -> None:
    p = two_towns()
    p.jobs.append(job("PIN", loc(0, 15), pinned_technician="T00"))
    p.jobs.append(job("RUN", loc(0, 15)))
    p.technicians[1].started_jobs = [StartedJob("RUN", 8 * H)]
    p.technicians[1].current_location = loc(0, 15)
    regions = partition(p, 2)
    for job_id, tech_id in (("PIN", "T00"), ("RUN", "T01")):
        region = next(r for r in regions if any(j.id == job_id for j in r.jobs))
        assert tech_id in {t.id for t in region.technicians}


def test_demand_spills_to_the_next_region_when_one_is_over_booked() -> None:
    rng = random.Random(5)
    techs = [tech("A", loc(0, -15)), *[tech(f"B{i}", loc(0, 15)) for i in range(3)]]
    jobs = [job(f"J{i}", loc(rng.uniform(-1, 1), -15 + rng.uniform(-1, 1))) for i in range(12)]
    regions = partition(problem(techs, jobs), 2)
    a = next(r for r in regions if r.technicians[0].id == "A")
    assert 0 < len(a.jobs) < 12  # A's 8 h day cannot hold 12 one-hour jobs; the rest go east


def test_decomposed_plan_is_valid_and_beats_greedy() -> None:
    p = two_towns(techs_per_town=5, jobs_per_town=60)
    network = Network.for_problem(p)
    greedy = greedy_plan(p, network)
    plan = solve_decomposed(p, time_limit=5, processes=2, network=network, regions=2)
    assert_complete_and_valid(p, plan)
    assert plan.stats.status.startswith("decomposed into 2 regions")
    assert plan.objective.total_cost <= greedy.objective.total_cost
    assert len(plan.assignment()) >= len(greedy.assignment())


def test_solve_switches_to_regions_above_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    p = two_towns(jobs_per_town=20)
    monkeypatch.setattr(solver, "DECOMPOSE_MIN_JOBS", 30)
    progress: list[int] = []
    plan = solver.solve(p, time_limit=3, processes=1, on_solution=lambda s: progress.append(s.solutions))
    assert plan.stats.status.startswith("decomposed")
    assert progress[0] == 1  # the whole day's greedy plan is reported first
    assert_complete_and_valid(p, plan)
    single = solver.solve(p, time_limit=1, decompose=False)
    assert not single.stats.status.startswith("decomposed")


def test_time_limit_covers_the_whole_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regions' budgets and the repair's fit in the limit: checked on the budgets handed out, not on a stopwatch
    (which a loaded machine stretches whatever the code does)."""
    p = two_towns(techs_per_town=5, jobs_per_town=60)
    budgets: list[float] = []
    solve_region = decomposed._solve_region

    def recording(task: tuple[Problem, Network, float]) -> Plan:
        budgets.append(task[2])
        return solve_region((task[0], task[1], 0.2))

    monkeypatch.setattr(decomposed, "_solve_region", recording)
    plan = solve_decomposed(p, time_limit=3, processes=1, regions=4)
    repair = max(0.5, 0.05 * 3)
    assert len(budgets) == 4 and sum(budgets) + repair <= 3
    assert_complete_and_valid(p, plan)


def test_region_count_fills_every_process() -> None:
    assert region_count(200, 2) == 1
    assert region_count(1000, 2) == 4
    assert region_count(1000, 1) == 4
    assert region_count(301, 2) == 2


def test_a_day_nobody_can_serve_comes_back_whole() -> None:
    p = two_towns(jobs_per_town=3)
    for j in p.jobs:
        j.required_skills = {"gas": 3}
    plan = solve_decomposed(p, time_limit=2, processes=2, regions=2)
    assert_complete_and_valid(p, plan)
    assert plan.assignment() == {}
