"""The travel network of one problem: every distinct location once, and the seconds between them.

Built once per solve (one provider call), then shared by screening, the routing model, the plan
extractor, ``suggest`` and ``explain``. The validator builds its own from the provider.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from optimizer.model import Job, Location, Problem, Technician


@dataclass(slots=True)
class Network:
    locations: list[Location]
    seconds_matrix: list[list[int]]
    index: dict[Location, int]

    @classmethod
    def for_problem(cls, problem: Problem, extra: Iterable[Location] = ()) -> Network:
        seen: dict[Location, int] = {}
        for tech in problem.technicians:
            for loc in (tech.route_start_location, tech.start_location, tech.route_end_location):
                seen.setdefault(loc, len(seen))
        for job in problem.jobs:
            seen.setdefault(job.location, len(seen))
        for loc in extra:
            seen.setdefault(loc, len(seen))
        locations = list(seen)
        matrix = problem.travel_provider().matrix(locations)
        return cls(locations, matrix, seen)

    @classmethod
    def for_locations(cls, problem: Problem, locations: Iterable[Location]) -> Network:
        """The travel between these places only (one technician's day): a few dozen pairs, not the branch's square."""
        seen: dict[Location, int] = {}
        for loc in locations:
            seen.setdefault(loc, len(seen))
        places = list(seen)
        return cls(places, problem.travel_provider().matrix(places), seen)

    @classmethod
    def for_route(cls, problem: Problem, tech: Technician, jobs: Iterable[Job]) -> Network:
        """What timing `tech`'s route through `jobs` needs: their places and the technician's own."""
        own = (tech.route_start_location, tech.start_location, tech.route_end_location)
        return cls.for_locations(problem, [*own, *(j.location for j in jobs)])

    def seconds(self, a: Location, b: Location) -> int:
        """Driving seconds from a to b (0 for the same point)."""
        if a == b:
            return 0
        return self.seconds_matrix[self.index[a]][self.index[b]]
