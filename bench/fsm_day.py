"""A realistic field-service day: the product's plan against a greedy baseline and against VROOM.

Seeded generator (technicians with role templates, skills and levels, shifts, lunch breaks; jobs with
windows, priorities, SLAs, skill-level durations) around Helsinki. Reports jobs assigned, travel,
overtime, lateness, time to first feasible plan; also times ``suggest`` on 50 technicians x 400 jobs.
VROOM (pyvroom, a bench-only dependency) plans the same problem with the same travel matrix as a
reference (``--no-vroom`` skips it); its plan is turned into ours and checked by the same validator.
What VROOM cannot express is stated in ``VROOM_RELAXATIONS``. Writes JSON to ``bench/results/``.

    ./dev run python bench/fsm_day.py --technicians 100 --jobs 1000 --time-limit 60
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from optimizer.greedy import greedy_plan
from optimizer.model import (
    BreakRule,
    Job,
    Location,
    PlacedBreak,
    Plan,
    Problem,
    Route,
    Technician,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    Visit,
)
from optimizer.network import Network
from optimizer.solver import solve
from optimizer.suggest import suggest
from optimizer.validate import validate

H = 3600
ROLES: list[tuple[str, dict[str, int], float]] = [
    ("senior hvac", {"hvac": 3, "electrical": 2}, 55.0),
    ("hvac", {"hvac": 2}, 45.0),
    ("plumber", {"plumbing": 2}, 45.0),
    ("senior plumber", {"plumbing": 3, "gas": 2}, 55.0),
    ("electrician", {"electrical": 3}, 50.0),
    ("generalist", {"hvac": 1, "plumbing": 1, "electrical": 1}, 40.0),
]


def generate_day(technicians: int, jobs: int, seed: int = 42) -> Problem:
    rng = random.Random(seed)

    def point() -> Location:
        return Location(round(rng.uniform(60.15, 60.32), 5), round(rng.uniform(24.70, 25.20), 5))

    techs: list[Technician] = []
    for i in range(technicians):
        _, skills, rate = ROLES[i % len(ROLES)]
        start = rng.choice([7, 8, 8, 8, 9]) * H
        home = point()
        techs.append(
            Technician(
                id=f"T{i:03d}",
                start_location=home,
                shift_start=start,
                shift_end=start + 8 * H,
                skills=dict(skills),
                breaks=[BreakRule(start + 3 * H, start + 5 * H, 30 * 60)],
                max_working_minutes=9 * 60,
                overtime_allowance_minutes=60,
                overtime_cost_per_hour=rate * 1.5,
                cost_per_hour=rate,
            )
        )
    out: list[Job] = []
    for j in range(jobs):
        skill = rng.choice(["hvac", "hvac", "plumbing", "plumbing", "electrical", "gas"])
        level = rng.choice([1, 1, 2]) if skill != "gas" else 2
        duration = rng.choice([20, 30, 30, 45, 45, 60]) * 60
        kind = rng.random()
        if kind < 0.4:
            windows = [TimeWindow(8 * H, 12 * H)] if rng.random() < 0.5 else [TimeWindow(12 * H, 16 * H)]
        elif kind < 0.6:
            s = rng.randrange(8, 15) * H
            windows = [TimeWindow(s, s + 2 * H)]
        elif kind < 0.7:
            windows = [TimeWindow(8 * H, 10 * H), TimeWindow(14 * H, 16 * H)]
        else:
            windows = []
        priority = rng.choices([1, 2, 3, 4], weights=[1, 2, 5, 2])[0]
        sla = 11 * H if priority == 1 else None
        out.append(
            Job(
                id=f"J{j:04d}",
                location=point(),
                duration=duration,
                required_skills={skill: level},
                time_windows=windows,
                priority=priority,
                sla_due=sla,
                lateness_cost_per_hour=200.0,
                duration_by_skill_level={3: int(duration * 0.75)} if rng.random() < 0.3 else {},
            )
        )
    return Problem(datetime(2026, 11, 25, tzinfo=UTC), techs, out, name=f"fsm day {technicians}x{jobs} seed {seed}")


def summary(problem: Problem, plan: Plan, network: Network) -> dict[str, object]:
    report = validate(problem, plan, network)
    o = report.objective
    return {
        "assigned": len(plan.assignment()),
        "unassigned": len(plan.unassigned),
        "unassigned_by_priority": o.unassigned_by_priority,
        "travel_hours": round(o.travel_seconds / H, 1),
        "overtime_hours": round(o.overtime_seconds / H, 1),
        "lateness_hours": round(o.lateness_seconds / H, 1),
        "longest_day_hours": round(o.longest_day_seconds / H, 2),
        "total_cost": o.total_cost,
        "violations": len(report.violations),
        "stats": asdict(plan.stats),
    }


VROOM_RELAXATIONS = (
    "no soft SLA deadlines or lateness cost (priority decides who is left out), no overtime price (the shift "
    "plus its overtime allowance is the hard window), no maximum working minutes, base service durations "
    "(no faster service for level-3 technicians: the plan is timed with ours afterwards)"
)
VROOM_PRIORITY = {1: 100, 2: 50, 3: 10, 4: 1}


def solve_with_vroom(problem: Problem, network: Network, time_limit: float, threads: int) -> Plan:
    """The same day through VROOM: skills with levels as skill ids, breaks, windows, priorities."""
    from datetime import timedelta

    import numpy as np
    import vroom

    skill_ids: dict[tuple[str, int], int] = {}

    def skill_id(skill: str, level: int) -> int:
        return skill_ids.setdefault((skill, level), len(skill_ids) + 1)

    data = vroom.Input()
    data.set_durations_matrix(profile="car", matrix_input=np.array(network.seconds_matrix, dtype=np.uint32))
    for v, tech in enumerate(problem.technicians):
        provides = {skill_id(s, lvl) for s, top in tech.skills.items() for lvl in range(1, top + 1)}
        breaks = [
            vroom.Break(
                100_000 * (v + 1) + k,
                time_windows=[vroom.TimeWindow(b.earliest_start, b.latest_start)],
                service=b.duration,
            )
            for k, b in enumerate(tech.breaks)
        ]
        data.add_vehicle(
            vroom.Vehicle(
                v + 1,
                start=network.index[tech.route_start_location],
                end=network.index[tech.route_end_location],
                skills=provides,
                time_window=vroom.TimeWindow(tech.earliest_departure, tech.latest_end),
                breaks=breaks,
            )
        )
    data.add_job(
        [
            vroom.Job(
                k + 1,
                location=network.index[job.location],
                default_service=job.duration,
                skills={skill_id(s, lvl) for s, lvl in job.required_skills.items()},
                priority=VROOM_PRIORITY.get(job.priority, 1),
                time_windows=[vroom.TimeWindow(w.start, w.end) for w in job.time_windows],
            )
            for k, job in enumerate(problem.jobs)
        ]
    )
    answer = data.solve(exploration_level=5, nb_threads=threads, timeout=timedelta(seconds=time_limit)).to_dict()
    routes: list[Route] = []
    for raw in answer["routes"]:
        tech = problem.technicians[raw["vehicle"] - 1]
        visits: list[Visit] = []
        placed: list[PlacedBreak] = []
        here = tech.route_start_location
        start = end = raw["steps"][0]["arrival"]
        for step in raw["steps"]:
            begin = step["arrival"] + step["waiting_time"] + step["setup"]
            if step["type"] == "job":
                job = problem.jobs[step["id"] - 1]
                travel = network.seconds(here, job.location)
                visits.append(Visit(job.id, step["arrival"], begin, begin + job.duration_for(tech), travel))
                here = job.location
            elif step["type"] == "break":
                placed.append(PlacedBreak(begin, begin + step["service"]))
            elif step["type"] == "end":
                end = step["arrival"]
        back = network.seconds(here, tech.route_end_location) if visits else 0
        routes.append(Route(tech.id, start, end, visits, placed, sum(v.travel_seconds for v in visits) + back, back))
    assigned = {v.job_id for r in routes for v in r.visits}
    unassigned = [Unassigned(j.id, UnassignedReason.DAY_FULL) for j in problem.jobs if j.id not in assigned]
    return Plan(problem.horizon_start, routes, unassigned)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--technicians", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--first-solution", default="greedy")
    parser.add_argument("--processes", type=int, default=2, help="regions solved side by side (large days)")
    parser.add_argument("--single-model", action="store_true", help="one OR-Tools model for the whole day (no regions)")
    parser.add_argument("--no-vroom", action="store_true", help="skip the VROOM reference run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    problem = generate_day(args.technicians, args.jobs, args.seed)
    began = time.perf_counter()
    network = Network.for_problem(problem)
    matrix_seconds = time.perf_counter() - began
    print(f"{problem.name}: travel matrix {len(network.locations)} locations in {matrix_seconds:.1f} s", flush=True)

    greedy = greedy_plan(problem, network)
    g = summary(problem, greedy, network)
    print(f"greedy : {g}", flush=True)

    load_before = os.getloadavg()[0]
    solve_began = time.perf_counter()
    plan = solve(
        problem,
        time_limit=args.time_limit,
        network=network,
        first_solution=args.first_solution,
        processes=args.processes,
        decompose=False if args.single_model else None,
    )
    solve_wall = time.perf_counter() - solve_began
    load_after = os.getloadavg()[0]
    s = summary(problem, plan, network)
    first = plan.stats.first_solution_seconds or float("nan")
    print(f"solver : {s}", flush=True)
    travel_saving = 1 - float(s["travel_hours"]) / max(1e-9, float(g["travel_hours"]))  # type: ignore[arg-type]
    print(
        f"first feasible plan after {first + matrix_seconds:.1f} s (matrix {matrix_seconds:.1f} s + model/search "
        f"{first:.1f} s); travel {travel_saving:.0%} less than greedy; "
        f"assigned {s['assigned']} vs greedy {g['assigned']}; solve wall {solve_wall:.1f} s "
        f"(limit {args.time_limit:g} s); load {load_before:.1f} -> {load_after:.1f}",
        flush=True,
    )

    reference: dict[str, object] | None = None
    if not args.no_vroom:
        vroom_began = time.perf_counter()
        vroom_plan = solve_with_vroom(problem, network, args.time_limit, threads=args.processes)
        vroom_wall = time.perf_counter() - vroom_began
        v = summary(problem, vroom_plan, network)
        reference = {"vroom": v, "wall_seconds": round(vroom_wall, 2), "relaxations": VROOM_RELAXATIONS}
        print(f"vroom  : {v} in {vroom_wall:.1f} s", flush=True)
        print(
            f"product vs VROOM: assigned {s['assigned']} vs {v['assigned']}, travel {s['travel_hours']} h vs "
            f"{v['travel_hours']} h, lateness {s['lateness_hours']} h vs {v['lateness_hours']} h",
            flush=True,
        )

    small = generate_day(50, 400, args.seed + 1)
    small_net = Network.for_problem(small)
    small_plan = greedy_plan(small, small_net)
    rng = random.Random(args.seed)
    timings = []
    for job in rng.sample(small.jobs, 20):
        t0 = time.perf_counter()
        suggest(small, small_plan, job.id, k=5, network=small_net)
        timings.append(time.perf_counter() - t0)
    suggest_stats = {
        "median_seconds": round(statistics.median(timings), 4),
        "max_seconds": round(max(timings), 4),
        "calls": len(timings),
    }
    print(f"suggest on 50x400: {suggest_stats}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "_single" if args.single_model else ""
    out = args.out / f"fsm_day_{args.technicians}x{args.jobs}_{args.time_limit:g}s{suffix}.json"
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                },
                "problem": problem.name,
                "time_limit": args.time_limit,
                "processes": args.processes,
                "mode": "single model" if args.single_model else "automatic (regions above 300 jobs)",
                "solve_wall_seconds": round(solve_wall, 2),
                "load_average_1min": [round(load_before, 1), round(load_after, 1)],
                "matrix_seconds": round(matrix_seconds, 2),
                "first_feasible_seconds": round(first + matrix_seconds, 2),
                "travel_saving_vs_greedy": round(travel_saving, 3),
                "greedy": g,
                "solver": s,
                "suggest_50x400": suggest_stats,
                "reference": reference,
            },
            indent=2,
            default=str,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
