"""The OR-Tools routing model skeleton: node numbering, index manager, and shared handles.

Node numbering: jobs that survived screening are nodes 0..J-1; technician v owns start node J+2v and
end node J+2v+1, so no two vehicles share a depot node and per-vehicle arcs (start->end = idle day)
can be priced individually.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.constraint_solver import pywrapcp

from optimizer.model import Job, Location, Problem, Technician
from optimizer.network import Network
from optimizer.screening import Screening

SECONDS_PER_DAY = 86_400
PIN_PENALTY_FACTOR = 10
TIME = "time"
WORK = "work"
CHURN = "churn"


@dataclass(slots=True)
class RoutingContext:
    problem: Problem
    network: Network
    screening: Screening
    horizon: int
    jobs: list[Job]
    node_location: list[Location]
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    service_by_vehicle: list[list[int]] = field(default_factory=list)
    """vehicle -> node -> service seconds (skill-level overrides, started-job remainders)."""
    transit_callbacks: list[int] = field(default_factory=list)
    """vehicle -> registered transit callback (service at the from-node + travel)."""
    break_intervals: dict[int, list[pywrapcp.IntervalVar]] = field(default_factory=dict)
    exact_breaks: bool = True
    """False: breaks are reserved (shorter day) and placed when routes are timed; see ``solver.solve``."""

    @property
    def technicians(self) -> list[Technician]:
        return self.problem.technicians

    def job_index(self, job_pos: int) -> int:
        return int(self.manager.NodeToIndex(job_pos))

    @property
    def time(self) -> pywrapcp.RoutingDimension:
        return self.routing.GetDimensionOrDie(TIME)

    def travel(self, from_node: int, to_node: int) -> int:
        return self.network.seconds(self.node_location[from_node], self.node_location[to_node])


def problem_horizon(problem: Problem) -> int:
    """A capacity for the time dimension: past every shift end, window and pin, plus a day of margin."""
    latest = max((t.latest_end for t in problem.technicians), default=0)
    for job in problem.jobs:
        for w in job.time_windows:
            latest = max(latest, w.end)
        for value in (job.sla_due, job.pinned_start, job.earliest_start):
            if value is not None:
                latest = max(latest, value)
    return latest + SECONDS_PER_DAY


def build_context(problem: Problem, network: Network, screening: Screening) -> RoutingContext:
    horizon = problem_horizon(problem)
    jobs = [job for job in problem.jobs if job.id in screening.candidates]
    node_location = [job.location for job in jobs]
    starts: list[int] = []
    ends: list[int] = []
    for tech in problem.technicians:
        starts.append(len(node_location))
        node_location.append(tech.route_start_location)
        ends.append(len(node_location))
        node_location.append(tech.route_end_location)
    manager = pywrapcp.RoutingIndexManager(len(node_location), len(problem.technicians), starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    return RoutingContext(problem, network, screening, horizon, jobs, node_location, manager, routing)
