"""How plans change with road travel: the demo company's day planned on straight-line and on road travel.

    ./dev run python bench/road_plans.py [--time-limit 10]

Builds the demo in a temporary SQLite file, plans HEL-C (whose shipped road graph covers central Helsinki) both
ways and prints the planned travel hours, the jobs planned and how many stops the road graph covered.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from data.db import open_database
from data.demo import build_demo
from data.planning import schedule_day
from optimizer.road_travel import RoadTravel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(f"sqlite:///{Path(folder) / 'demo.sqlite'}", create=True)
        summary = build_demo(db, now=datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
        for mode in ("straight", "road"):
            os.environ["DISPATCH_TRAVEL"] = mode
            planning, plan = schedule_day(db, summary.day, "HEL-C", time_limit=args.time_limit)
            travel = planning.problem.travel
            covered = travel.coverage.summary() if isinstance(travel, RoadTravel) else "straight-line only"
            planned = sum(len(r.visits) for r in plan.routes)
            print(
                f"{mode:8} travel {plan.objective.travel_seconds / 3600:6.1f} h, {planned} jobs planned, "
                f"{len(plan.unassigned)} left out; {covered}"
            )
        db.dispose()


if __name__ == "__main__":
    main()
