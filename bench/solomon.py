"""Solomon VRPTW benchmark of the OR-Tools search set-up used by the optimizer.

Reads the 56 instances from the shared bench folder (``DISPATCH_SHARED`` or ``../shared`` next to the
repo), solves each with capacity as an extra dimension, Euclidean distances as integers x1000, and
the literature's hierarchical objective (vehicles first, then distance) via a fixed cost per vehicle.
Prints one line per instance and time limit and writes JSON to ``bench/results/``.

    ./dev run python bench/solomon.py --time-limit 5 30 --processes 2
    ./dev run python bench/solomon.py --instances C101 R101 RC101 --time-limit 5
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

SCALE = 1000
# Larger than any instance's total scaled distance: one vehicle less always beats any distance saving.
VEHICLE_FIXED_COST = 10_000 * SCALE


def shared_dir() -> Path:
    env = os.environ.get("DISPATCH_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared"


@dataclass(slots=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    xy: list[tuple[float, float]]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]


def read_instance(path: Path) -> Instance:
    lines = [line.split() for line in path.read_text().splitlines()]
    vehicles, capacity = next((int(r[0]), int(r[1])) for r in lines if len(r) == 2 and r[0].isdigit())
    rows = [list(map(float, r)) for r in lines if len(r) == 7 and r[0].isdigit()]
    return Instance(
        path.stem,
        vehicles,
        capacity,
        [(r[1], r[2]) for r in rows],
        [int(r[3]) for r in rows],
        [int(r[4]) for r in rows],
        [int(r[5]) for r in rows],
        [int(r[6]) for r in rows],
    )


@dataclass(slots=True)
class Result:
    instance: str
    time_limit: float
    vehicles: int
    distance: float
    bks_vehicles: int
    bks_distance: float
    gap_percent: float
    first_solution_seconds: float
    wall_seconds: float
    feasible: bool


def solve_instance(
    inst: Instance, time_limit: float, bks: tuple[int, float], objective: str = "hierarchical"
) -> Result:
    began = time.perf_counter()
    n = len(inst.xy)
    dist = [[round(math.dist(a, b) * SCALE) for b in inst.xy] for a in inst.xy]
    manager = pywrapcp.RoutingIndexManager(n, inst.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    arc = routing.RegisterTransitMatrix(dist)
    routing.SetArcCostEvaluatorOfAllVehicles(arc)
    if objective == "hierarchical":
        routing.SetFixedCostOfAllVehicles(VEHICLE_FIXED_COST)
    travel_time = routing.RegisterTransitMatrix(
        [[inst.service[i] * SCALE + dist[i][j] for j in range(n)] for i in range(n)]
    )
    horizon = inst.due[0] * SCALE
    routing.AddDimension(travel_time, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for node in range(1, n):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(inst.ready[node] * SCALE, inst.due[node] * SCALE)
    for v in range(inst.vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(inst.ready[0] * SCALE, inst.due[0] * SCALE)
        time_dim.CumulVar(routing.End(v)).SetRange(inst.ready[0] * SCALE, inst.due[0] * SCALE)
    demand = routing.RegisterUnaryTransitVector(inst.demand)
    routing.AddDimensionWithVehicleCapacity(demand, 0, [inst.capacity] * inst.vehicles, True, "capacity")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(time_limit * 1000))
    first: list[float] = []
    routing.AddAtSolutionCallback(lambda: first.append(time.perf_counter() - began) if not first else None)
    solution = routing.SolveWithParameters(params)
    vehicles, distance = 0, 0.0
    if solution is not None:
        for v in range(inst.vehicles):
            index = routing.Start(v)
            if routing.IsEnd(solution.Value(routing.NextVar(index))):
                continue
            vehicles += 1
            while not routing.IsEnd(index):
                nxt = solution.Value(routing.NextVar(index))
                distance += math.dist(inst.xy[manager.IndexToNode(index)], inst.xy[manager.IndexToNode(nxt)])
                index = nxt
    return Result(
        inst.name,
        time_limit,
        vehicles,
        round(distance, 2),
        bks[0],
        bks[1],
        round((distance - bks[1]) / bks[1] * 100, 2) if solution is not None else math.inf,
        round(first[0], 3) if first else math.inf,
        round(time.perf_counter() - began, 2),
        solution is not None,
    )


def _run(args: tuple[Path, float, tuple[int, float], str]) -> Result:
    path, limit, bks, objective = args
    return solve_instance(read_instance(path), limit, bks, objective)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, nargs="+", default=[5.0, 30.0])
    parser.add_argument("--instances", nargs="*", help="names such as C101 R201 (default: all 56)")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--objective",
        choices=["hierarchical", "distance"],
        default="hierarchical",
        help="hierarchical = fewest vehicles, then distance (as the BKS table); distance = distance only",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    folder = shared_dir() / "bench" / "solomon"
    with (folder / "bks.csv").open() as fh:
        bks = {row["instance"]: (int(row["vehicles"]), float(row["distance"])) for row in csv.DictReader(fh)}
    names = args.instances or sorted(bks)
    jobs = [(folder / f"{name}.txt", limit, bks[name], args.objective) for limit in args.time_limit for name in names]
    print(f"{len(names)} instance(s) x {args.time_limit} s on {args.processes} process(es)", flush=True)
    results: list[Result] = []
    with ProcessPoolExecutor(max_workers=args.processes) as pool:
        for r in pool.map(_run, jobs):
            results.append(r)
            print(
                f"{r.instance:6} {r.time_limit:5.0f}s  vehicles {r.vehicles:3} (bks {r.bks_vehicles:3})  "
                f"distance {r.distance:9.2f} (bks {r.bks_distance:9.2f})  gap {r.gap_percent:6.2f}%  "
                f"first {r.first_solution_seconds:.2f}s",
                flush=True,
            )
    summary: dict[str, dict[str, float]] = {}
    for limit in args.time_limit:
        rs = [r for r in results if r.time_limit == limit and r.feasible]
        summary[f"{limit:g}s"] = {
            "instances": len(rs),
            "mean_gap_percent": round(statistics.mean(r.gap_percent for r in rs), 2) if rs else math.nan,
            "mean_gap_same_vehicles_percent": round(
                statistics.mean([r.gap_percent for r in rs if r.vehicles == r.bks_vehicles] or [math.nan]), 2
            ),
            "vehicles_total": sum(r.vehicles for r in rs),
            "bks_vehicles_total": sum(r.bks_vehicles for r in rs),
            "instances_at_bks_vehicles": sum(1 for r in rs if r.vehicles <= r.bks_vehicles),
        }
        print(f"== {limit:g} s: {summary[f'{limit:g}s']}")
    args.out.mkdir(parents=True, exist_ok=True)
    tag = "all" if not args.instances else "subset"
    suffix = "" if args.objective == "hierarchical" else "_distance"
    out = args.out / f"solomon_{tag}_{'_'.join(f'{t:g}' for t in args.time_limit)}s{suffix}.json"
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                },
                "processes": args.processes,
                "objective": args.objective,
                "summary": summary,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
