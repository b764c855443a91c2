"""Solomon VRPTW: the product's solver (``optimizer.solve``, as ``dispatch schedule`` runs it) against PyVRP.

Each instance becomes a ``Problem``: one technician per vehicle of the instance's fleet, all at the depot
with the depot's window as their shift; one job per customer with its window (start of service) and
service time; travel from an explicit matrix of Euclidean distances x1000 (so 1 distance unit = 1,000
"seconds"). Both solvers get the same integer matrix, the same fleet, distance as the only cost and
**capacity relaxed** (our model has no load dimension); every customer must be served. PyVRP 0.14
(bench-only dependency) runs at the same time as ours, one process each, with the same time limit, so both
get the same share of a loaded machine (``--processes N`` runs N instances side by side, 2N processes).

Every plan is checked here, independently of both solvers (each customer once, windows, depot window),
and ours also by ``optimizer.validate``. Prints one line per instance and limit, the ratio of our
distance to PyVRP's, and writes JSON to ``bench/results/``.

    ./dev run python bench/solomon.py --time-limit 5 30 60
    ./dev run python bench/solomon.py --instances C101 R101 RC101 --time-limit 5
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from optimizer.model import Job, Location, Plan, Problem, Technician, TimeWindow, Weights
from optimizer.solver import solve
from optimizer.travel import MatrixTravel
from optimizer.validate import validate

SCALE = 1000
HORIZON_START = datetime(2026, 1, 5, tzinfo=UTC)
INSTANCES = Path(__file__).parent / "data" / "solomon"


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


def distance_matrix(inst: Instance) -> list[list[int]]:
    return [[round(math.dist(a, b) * SCALE) for b in inst.xy] for a in inst.xy]


def node_location(inst: Instance, node: int) -> Location:
    """A distinct valid WGS84 point per node (only the explicit matrix prices travel)."""
    return Location(lat=node / 10_000, lon=0.0)


def as_problem(inst: Instance, dist: list[list[int]]) -> Problem:
    depot = node_location(inst, 0)
    technicians = [
        Technician(
            id=f"V{v:02d}",
            start_location=depot,
            shift_start=inst.ready[0] * SCALE,
            shift_end=inst.due[0] * SCALE,
            cost_per_hour=1.0,  # one cost unit per travel "second": the objective is distance
        )
        for v in range(inst.vehicles)
    ]
    jobs = [
        Job(
            id=f"C{node:03d}",
            location=node_location(inst, node),
            duration=inst.service[node] * SCALE,
            time_windows=[TimeWindow(inst.ready[node] * SCALE, inst.due[node] * SCALE)],
            priority=1,
        )
        for node in range(1, len(inst.xy))
    ]
    locations = [node_location(inst, n) for n in range(len(inst.xy))]
    return Problem(
        horizon_start=HORIZON_START,
        technicians=technicians,
        jobs=jobs,
        weights=Weights(balance_per_hour=0.0),
        travel=MatrixTravel(locations, dist),
        name=inst.name,
    )


@dataclass(slots=True)
class Side:
    """One solver's answer on one instance, as checked here."""

    vehicles: int
    distance: float
    served: int
    feasible: bool
    wall_seconds: float
    problem: str = ""


def check_routes(inst: Instance, dist: list[list[int]], routes: list[list[int]]) -> tuple[float, int, str]:
    """Independent VRPTW check: real distance, customers served, first violation ('' if none)."""
    seen: set[int] = set()
    total = 0.0
    for route in routes:
        clock = inst.ready[0] * SCALE
        previous = 0
        for node in route:
            if node in seen:
                return total, len(seen), f"customer {node} visited twice"
            seen.add(node)
            clock = max(clock + dist[previous][node], inst.ready[node] * SCALE)
            if clock > inst.due[node] * SCALE:
                return total, len(seen), f"customer {node} starts after its window"
            clock += inst.service[node] * SCALE
            previous = node
        if clock + dist[previous][0] > inst.due[0] * SCALE:
            return total, len(seen), "route returns after the depot closes"
        total += sum(math.dist(inst.xy[a], inst.xy[b]) for a, b in itertools.pairwise([0, *route, 0]))
    missing = len(inst.xy) - 1 - len(seen)
    return total, len(seen), f"{missing} customer(s) not served" if missing else ""


def run_product(inst: Instance, dist: list[list[int]], time_limit: float) -> Side:
    problem = as_problem(inst, dist)
    began = time.perf_counter()
    plan: Plan = solve(problem, time_limit=time_limit)
    wall = time.perf_counter() - began
    routes = [[int(v.job_id[1:]) for v in r.visits] for r in plan.routes if r.visits]
    total, served, problem_text = check_routes(inst, dist, routes)
    violations = validate(problem, plan).violations
    if violations and not problem_text:
        problem_text = f"validator: {violations[0]}"
    return Side(len(routes), round(total, 2), served, not problem_text, round(wall, 2), problem_text)


def run_pyvrp(inst: Instance, dist: list[list[int]], time_limit: float, seed: int) -> Side:
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    model = Model()
    n = len(inst.xy)
    locations = [model.add_location(x=round(x * SCALE), y=round(y * SCALE)) for x, y in inst.xy]
    depot = model.add_depot(locations[0], tw_early=inst.ready[0] * SCALE, tw_late=inst.due[0] * SCALE)
    model.add_vehicle_type(
        num_available=inst.vehicles,
        start_depot=depot,
        end_depot=depot,
        tw_early=inst.ready[0] * SCALE,
        tw_late=inst.due[0] * SCALE,
    )
    for node in range(1, n):
        model.add_client(
            locations[node],
            service_duration=inst.service[node] * SCALE,
            tw_early=inst.ready[node] * SCALE,
            tw_late=inst.due[node] * SCALE,
        )
    for i, j in itertools.product(range(n), repeat=2):
        if i != j:
            model.add_edge(locations[i], locations[j], distance=dist[i][j], duration=dist[i][j])
    began = time.perf_counter()
    result = model.solve(stop=MaxRuntime(time_limit), seed=seed, display=False)
    wall = time.perf_counter() - began
    # A client activity's idx counts clients from 0, in the order added: our node = idx + 1.
    routes = [[a.idx + 1 for a in route if a.is_client()] for route in result.best.routes()]
    total, served, problem_text = check_routes(inst, dist, routes)
    if not result.best.is_feasible() and not problem_text:
        problem_text = "PyVRP reports its best solution infeasible"
    return Side(len(routes), round(total, 2), served, not problem_text, round(wall, 2), problem_text)


@dataclass(slots=True)
class Result:
    instance: str
    time_limit: float
    product: Side
    pyvrp: Side
    ratio: float
    """Our distance / PyVRP's (1.00 = equal; inf when either side is infeasible)."""


def run_side(args: tuple[str, Path, float, int]) -> Side:
    """One solver on one instance, in its own process."""
    solver, path, limit, seed = args
    inst = read_instance(path)
    dist = distance_matrix(inst)
    return run_product(inst, dist, limit) if solver == "product" else run_pyvrp(inst, dist, limit, seed)


def paired(name: str, limit: float, ours: Side, theirs: Side) -> Result:
    ratio = ours.distance / theirs.distance if ours.feasible and theirs.feasible else math.inf
    return Result(name, limit, ours, theirs, round(ratio, 4))


def summarise(results: list[Result], limit: float) -> dict[str, float]:
    rs = [r for r in results if r.time_limit == limit]
    both = [r for r in rs if math.isfinite(r.ratio)]
    return {
        "instances": len(rs),
        "product_feasible": sum(r.product.feasible for r in rs),
        "pyvrp_feasible": sum(r.pyvrp.feasible for r in rs),
        "mean_excess_percent": round((statistics.mean(r.ratio for r in both) - 1) * 100, 2) if both else math.nan,
        "worst_excess_percent": round((max(r.ratio for r in both) - 1) * 100, 2) if both else math.nan,
        "instances_within_1_percent": sum(1 for r in both if r.ratio <= 1.01),
        "product_vehicles": sum(r.product.vehicles for r in rs),
        "pyvrp_vehicles": sum(r.pyvrp.vehicles for r in rs),
    }


def markdown_table(files: list[Path]) -> str:
    """Per-instance rows (ours, PyVRP, ratio) for each result file side by side, then the means."""
    runs = [json.loads(f.read_text()) for f in files]
    limits = [f"{r['results'][0]['time_limit']:g} s" for r in runs]
    header = "| instance | " + " | ".join(f"ours / PyVRP {t} (ratio)" for t in limits) + " |"
    lines = [header, "| --- |" + " --- |" * len(runs)]
    by_name = [{r["instance"]: r for r in run["results"]} for run in runs]
    for name in sorted(by_name[0]):
        cells = []
        for rows in by_name:
            r = rows.get(name)
            cells.append(
                f"{r['product']['distance']:.1f} / {r['pyvrp']['distance']:.1f} ({r['ratio']:.3f})" if r else ""
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = []
    for run in runs:
        ratios = [r["ratio"] for r in run["results"] if math.isfinite(r["ratio"])]
        means.append(f"**{(statistics.mean(ratios) - 1) * 100:+.2f} %**" if ratios else "")
    lines.append("| mean excess | " + " | ".join(means) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, nargs="+", default=[5.0, 30.0, 60.0])
    parser.add_argument("--instances", nargs="*", help="names such as C101 R201 (default: all 56)")
    parser.add_argument("--processes", type=int, default=1, help="instances solved side by side (2 processes each)")
    parser.add_argument("--seed", type=int, default=1, help="PyVRP's random seed")
    parser.add_argument("--tag", default="", help="appended to the result file name")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--table", type=Path, nargs="+", help="print a markdown table of these result files and exit")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.table))
        return
    names = args.instances or sorted(p.stem for p in INSTANCES.glob("*.txt"))
    jobs = [(INSTANCES / f"{name}.txt", limit, args.seed) for limit in args.time_limit for name in names]
    load_before = os.getloadavg()
    print(
        f"{len(names)} instance(s) x {args.time_limit} s, {args.processes} process(es), load {load_before[0]:.2f}",
        flush=True,
    )
    results: list[Result] = []
    # Both solvers of an instance run at the same time, one process each, so they share the machine's load.
    with ProcessPoolExecutor(max_workers=2 * args.processes) as pool:
        futures = [
            (
                path.stem,
                limit,
                pool.submit(run_side, ("product", path, limit, args.seed)),
                pool.submit(run_side, ("pyvrp", path, limit, args.seed)),
            )
            for path, limit, _ in jobs
        ]
        for name, limit, ours, theirs in futures:
            r = paired(name, limit, ours.result(), theirs.result())
            results.append(r)
            flag = "" if r.product.feasible and r.pyvrp.feasible else f"  ! {r.product.problem or r.pyvrp.problem}"
            print(
                f"{r.instance:6} {r.time_limit:4.0f}s  ours {r.product.distance:9.2f} ({r.product.vehicles:2} veh)  "
                f"pyvrp {r.pyvrp.distance:9.2f} ({r.pyvrp.vehicles:2} veh)  ratio {r.ratio:6.4f}  "
                f"load {os.getloadavg()[0]:.1f}{flag}",
                flush=True,
            )
    summary = {f"{limit:g}s": summarise(results, limit) for limit in args.time_limit}
    for key, value in summary.items():
        print(f"== {key}: {value}")
    args.out.mkdir(parents=True, exist_ok=True)
    tag = "all" if not args.instances else "subset"
    suffix = f"_{args.tag}" if args.tag else ""
    out = args.out / f"solomon_vs_pyvrp_{tag}_{'_'.join(f'{t:g}' for t in args.time_limit)}s{suffix}.json"
    out.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                "python": platform.python_version(),
                "processes": args.processes,
                "load_average": {
                    "before": [round(x, 2) for x in load_before],
                    "after": [round(x, 2) for x in os.getloadavg()],
                },
                "relaxation": "capacity relaxed for both; distance only; fleet = the instance's vehicles",
                "summary": summary,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
