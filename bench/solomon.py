"""Solomon VRPTW benchmark of the OR-Tools search set-up used by the optimizer.

Reads the 56 instances from the shared bench folder (``DISPATCH_SHARED`` or ``../shared`` next to the
repo), solves each with capacity as an extra dimension, Euclidean distances as integers x1000, and
the literature's hierarchical objective (vehicles first, then distance): a fixed cost per vehicle, then a
route-elimination phase and a distance phase on the fleet found (see ``solve_instance``).
Prints one line per instance and time limit and writes JSON to ``bench/results/``.

    ./dev run python bench/solomon.py --time-limit 30 --processes 2 --gls-lambda 0.3 --tag elim_lambda03
    ./dev run python bench/solomon.py --instances C101 R101 RC101 --time-limit 5
"""

from __future__ import annotations

import argparse
import csv
import itertools
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


STRATEGIES = {
    "parallel_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    "path_cheapest_arc": routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC,
    "savings": routing_enums_pb2.FirstSolutionStrategy.SAVINGS,
}
DROP_PENALTY = 100 * VEHICLE_FIXED_COST
PHASE_CONSTRUCT = 0.25
"""Share of the time for the first plan and its improvement; route elimination runs up to PHASE_ELIMINATE."""
PHASE_ELIMINATE = 0.5


@dataclass(slots=True)
class Model:
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel


def build_model(inst: Instance, dist: list[list[int]], vehicles: int, objective: str, droppable: bool) -> Model:
    """The VRPTW model; ``objective`` 'hierarchical' adds the dominating vehicle cost, 'capped' and 'distance'
    price distance only ('capped': the fleet size itself is the vehicle limit found so far)."""
    n = len(inst.xy)
    manager = pywrapcp.RoutingIndexManager(n, vehicles, 0)
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
        if droppable:
            routing.AddDisjunction([manager.NodeToIndex(node)], DROP_PENALTY)
    for v in range(vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(inst.ready[0] * SCALE, inst.due[0] * SCALE)
        time_dim.CumulVar(routing.End(v)).SetRange(inst.ready[0] * SCALE, inst.due[0] * SCALE)
    demand = routing.RegisterUnaryTransitVector(inst.demand)
    routing.AddDimensionWithVehicleCapacity(demand, 0, [inst.capacity] * vehicles, True, "capacity")
    return Model(manager, routing)


GLS_LAMBDA: float | None = None
"""``--gls-lambda``: OR-Tools' guided_local_search_lambda_coefficient (None keeps its default, 0.1)."""


def search(time_limit: float, strategy: str) -> pywrapcp.DefaultRoutingSearchParameters:
    params = pywrapcp.DefaultRoutingSearchParameters()
    if GLS_LAMBDA is not None:
        params.guided_local_search_lambda_coefficient = GLS_LAMBDA
    params.first_solution_strategy = STRATEGIES[strategy]
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(100, int(time_limit * 1000)))
    return params


def routes_of(model: Model, solution: pywrapcp.Assignment) -> list[list[int]]:
    """Customer nodes per used vehicle (empty routes left out)."""
    out = []
    routing, manager = model.routing, model.manager
    for v in range(routing.vehicles()):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        nodes = []
        while not routing.IsEnd(index):
            nodes.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if nodes:
            out.append(nodes)
    return out


def warm(model: Model, routes: list[list[int]]) -> pywrapcp.Assignment | None:
    indexed = [[model.manager.NodeToIndex(n) for n in r] for r in routes]
    indexed += [[] for _ in range(model.routing.vehicles() - len(indexed))]
    return model.routing.ReadAssignmentFromRoutes(indexed, True)


def solve_instance(
    inst: Instance,
    time_limit: float,
    bks: tuple[int, float],
    objective: str = "hierarchical",
    strategy: str = "parallel_cheapest_insertion",
    eliminate: bool = True,
) -> Result:
    """Hierarchical objective with ``eliminate``: (1) first plan + GLS with a dominating vehicle cost,
    (2) route elimination: drop the route with fewest customers, fleet capped one lower, customers
    droppable at a price above any distance, GLS re-inserts them; kept only if every customer is served,
    (3) distance: GLS on the fleet found, every customer mandatory, warm-started from (2).
    Phases 2 and 3 carry no vehicle cost: a cost that large inflates guided local search's penalty
    scale (it follows the mean arc cost) and blunts the distance search."""
    began = time.perf_counter()
    dist = [[round(math.dist(a, b) * SCALE) for b in inst.xy] for a in inst.xy]
    customers = len(inst.xy) - 1
    first: list[float] = []
    staged = objective == "hierarchical" and eliminate
    model = build_model(inst, dist, inst.vehicles, objective, droppable=False)
    model.routing.AddAtSolutionCallback(lambda: first.append(time.perf_counter() - began) if not first else None)
    solution = model.routing.SolveWithParameters(search(time_limit * (PHASE_CONSTRUCT if staged else 1.0), strategy))
    routes = routes_of(model, solution) if solution is not None else None
    if staged and routes is not None:
        while len(routes) > 1 and time.perf_counter() - began < time_limit * PHASE_ELIMINATE:
            sizes = [len(r) for r in routes]
            shortest = sizes.index(min(sizes))
            kept = [r for k, r in enumerate(routes) if k != shortest]
            trial = build_model(inst, dist, len(kept), "capped", droppable=True)
            seed = warm(trial, kept)
            if seed is None:
                break
            budget = time_limit * PHASE_ELIMINATE - (time.perf_counter() - began)
            found = trial.routing.SolveFromAssignmentWithParameters(seed, search(budget, strategy))
            candidate = routes_of(trial, found) if found is not None else []
            if sum(len(r) for r in candidate) < customers:
                break
            routes = candidate
        final = build_model(inst, dist, len(routes), "capped", droppable=False)
        seed = warm(final, routes)
        if seed is not None:
            left = time_limit - (time.perf_counter() - began)
            found = final.routing.SolveFromAssignmentWithParameters(seed, search(left, strategy))
            if found is not None:
                routes = routes_of(final, found)
    vehicles, distance = 0, 0.0
    for route in routes or []:
        vehicles += 1
        path = [0, *route, 0]
        distance += sum(math.dist(inst.xy[a], inst.xy[b]) for a, b in itertools.pairwise(path))
    return Result(
        inst.name,
        time_limit,
        vehicles,
        round(distance, 2),
        bks[0],
        bks[1],
        round((distance - bks[1]) / bks[1] * 100, 2) if routes is not None else math.inf,
        round(first[0], 3) if first else math.inf,
        round(time.perf_counter() - began, 2),
        routes is not None,
    )


def _run(args: tuple[Path, float, tuple[int, float], str, str, bool, float | None]) -> Result:
    global GLS_LAMBDA
    path, limit, bks, objective, strategy, eliminate, GLS_LAMBDA = args
    return solve_instance(read_instance(path), limit, bks, objective, strategy, eliminate)


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
    parser.add_argument("--first-solution", choices=sorted(STRATEGIES), default="parallel_cheapest_insertion")
    parser.add_argument(
        "--no-route-elimination", action="store_true", help="one GLS run with the vehicle cost (the old set-up)"
    )
    parser.add_argument("--gls-lambda", type=float, default=None, help="guided local search lambda coefficient")
    parser.add_argument("--tag", default="", help="appended to the result file name")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    folder = shared_dir() / "bench" / "solomon"
    with (folder / "bks.csv").open() as fh:
        bks = {row["instance"]: (int(row["vehicles"]), float(row["distance"])) for row in csv.DictReader(fh)}
    names = args.instances or sorted(bks)
    eliminate = not args.no_route_elimination
    jobs = [
        (folder / f"{name}.txt", limit, bks[name], args.objective, args.first_solution, eliminate, args.gls_lambda)
        for limit in args.time_limit
        for name in names
    ]
    load_before = os.getloadavg()[0]
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
    suffix += f"_{args.tag}" if args.tag else ""
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
                "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                "objective": args.objective,
                "first_solution": args.first_solution,
                "route_elimination": eliminate,
                "gls_lambda": args.gls_lambda,
                "summary": summary,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
