"""Slot offers on a full day: how long ranking the promisable 2-hour windows takes, without a re-solve.

A 50 technicians x 400 jobs field-service day (``bench/fsm_day.generate_day``) is planned once with the
greedy dispatcher; each call then offers a new 60-minute job every hourly 2-hour window of the day, on
``--days`` such days (the CLI's ``--days 5`` reads five days). Prints the median and worst call.

    ./dev run python bench/slots.py --days 5 --calls 10
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fsm_day import generate_day
from optimizer.greedy import greedy_plan
from optimizer.model import Job, Location
from optimizer.network import Network
from optimizer.slots import arrival_windows, offer_slots

H = 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--technicians", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(7)
    days = []
    for d in range(args.days):
        problem = generate_day(args.technicians, args.jobs, seed=42 + d)
        plan = greedy_plan(problem)
        days.append((problem, plan))
    placed = [len(plan.assignment()) for _, plan in days]
    print(f"{args.days} day(s) of {args.technicians} technicians x {args.jobs} jobs, planned: {placed}")
    windows = arrival_windows(7 * H, 18 * H)
    timings: list[float] = []
    offered: list[int] = []
    for call in range(args.calls):
        site = Location(round(rng.uniform(60.15, 60.32), 5), round(rng.uniform(24.70, 25.20), 5))
        job = Job(f"NEW{call}", site, 60 * 60, {rng.choice(["hvac", "plumbing", "gas"]): 1})
        began = time.perf_counter()
        count = 0
        for problem, plan in days:
            network = Network.for_problem(problem, extra=[site]) if call == 0 else None
            count += len(offer_slots(problem, plan, job, windows, network))
        timings.append(time.perf_counter() - began)
        offered.append(count)
    print(
        f"slot offers ({len(windows)} windows/day x {args.days} days): median {statistics.median(timings):.3f} s, "
        f"worst {max(timings):.3f} s over {args.calls} calls; windows offered per call {offered}"
    )


if __name__ == "__main__":
    main()
