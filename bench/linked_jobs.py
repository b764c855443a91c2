"""Dependencies and crews on a field-service day: how many linked groups get planned, and that the plan holds.

``bench/fsm_day.generate_day`` days with 10 dependency pairs (B starts >= 30 min after A ends) and 10 crews of
two (a copy of the job with the same skills) drawn at random; the product's solver plans them within the
limit and the validator re-checks the plan (dependency and crew rules included).

    ./dev run python bench/linked_jobs.py
"""

from __future__ import annotations

import copy
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fsm_day import generate_day
from optimizer.model import Dependency
from optimizer.solver import solve
from optimizer.validate import validate


def main() -> None:
    for technicians, jobs, limit in ((20, 120, 5.0), (50, 400, 10.0)):
        problem = generate_day(technicians, jobs, seed=3)
        picks = random.Random(1).sample(problem.jobs, 30)
        pairs = list(zip(picks[0:20:2], picks[1:20:2], strict=True))
        for before, after in pairs:
            after.after = [Dependency(before.id, 1800)]
        crews = picks[20:30]
        for lead in crews:
            lead.crew = lead.id
            mate = copy.deepcopy(lead)
            mate.id, mate.after = f"{lead.id}#2", []
            problem.jobs.append(mate)
        began = time.perf_counter()
        plan = solve(problem, time_limit=limit)
        seconds = time.perf_counter() - began
        report = validate(problem, plan)
        placed = plan.assignment()
        print(
            f"{technicians} x {jobs} (+10 crew seats), {limit:.0f} s: {seconds:.1f} s, {len(placed)} of "
            f"{len(problem.jobs)} jobs placed, crews {sum(c.id in placed for c in crews)}/10, dependency pairs "
            f"{sum(b.id in placed for _, b in pairs)}/10, violations {len(report.violations)}; {plan.stats.status}"
        )


if __name__ == "__main__":
    main()
