"""The problem and plan data model: plain typed dataclasses, times as integer seconds from the horizon start.

JSON (see ``optimizer/io.py`` and ``docs/plan-format.md``) carries ISO-8601 UTC datetimes; everything in
memory is integer seconds from ``Problem.horizon_start`` so the solver, validator and tools share one clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from optimizer.errors import ProblemError

if TYPE_CHECKING:
    from optimizer.travel import TravelProvider


@dataclass(frozen=True, slots=True)
class Location:
    """A WGS84 point; validated on construction so a bad coordinate never reaches a travel provider."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (isinstance(self.lat, int | float) and math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ProblemError(f"latitude {self.lat!r} is outside [-90, 90]", field="lat")
        if not (isinstance(self.lon, int | float) and math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ProblemError(f"longitude {self.lon!r} is outside [-180, 180]", field="lon")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """An allowed interval for the *start* of service, in seconds from the horizon start (inclusive)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class BreakRule:
    """A break the technician must take, starting between ``earliest_start`` and ``latest_start``."""

    earliest_start: int
    latest_start: int
    duration: int


@dataclass(frozen=True, slots=True)
class Absence:
    """The technician is away (sick, leave, training) from ``start`` to ``end``: no work, no driving.

    An absence that begins during the day ends it there: the overtime allowance does not run on after it."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class StartedJob:
    """Work already under way at planning time: it stays first on its technician's route, untouched.

    ``expected_end`` overrides ``started_at + duration`` (e.g. after an overrun was reported).
    """

    job_id: str
    started_at: int
    expected_end: int | None = None


@dataclass(slots=True)
class Technician:
    """One vehicle of the routing model: skills, shift, locations, breaks, limits and costs."""

    id: str
    start_location: Location
    shift_start: int
    shift_end: int
    end_location: Location | None = None
    skills: dict[str, int] = field(default_factory=dict)
    breaks: list[BreakRule] = field(default_factory=list)
    max_working_minutes: int | None = None
    overtime_allowance_minutes: int = 0
    overtime_cost_per_hour: float = 60.0
    cost_per_hour: float = 40.0
    available_from: int | None = None
    current_location: Location | None = None
    started_jobs: list[StartedJob] = field(default_factory=list)
    absences: list[Absence] = field(default_factory=list)

    @property
    def route_end_location(self) -> Location:
        return self.end_location if self.end_location is not None else self.start_location

    @property
    def route_start_location(self) -> Location:
        return self.current_location if self.current_location is not None else self.start_location

    @property
    def earliest_departure(self) -> int:
        """When the technician can leave for the first new job (shift start or live availability)."""
        departure = self.shift_start if self.available_from is None else max(self.shift_start, self.available_from)
        for absence in sorted(self.absences, key=lambda a: a.start):
            if absence.start <= departure < absence.end:
                departure = absence.end
        return departure

    @property
    def latest_end(self) -> int:
        """Hard end of the working day: shift end plus the overtime allowance, cut at the first absence after
        the departure (sick from 10:00 means nothing after 10:00, overtime included)."""
        end = self.shift_end + self.overtime_allowance_minutes * 60
        if not self.absences:
            return end
        departure = self.earliest_departure
        for absence in self.absences:
            if absence.end > departure and absence.start < end:
                end = max(departure, absence.start)
        return end

    def level(self, skill: str) -> int:
        return self.skills.get(skill, 0)


@dataclass(frozen=True, slots=True)
class Dependency:
    """The job starts at least ``min_gap`` seconds after job ``job_id`` ends, on the same or another
    technician; the two are planned together or not at all (work under way needs nothing more)."""

    job_id: str
    min_gap: int = 0


@dataclass(slots=True)
class Job:
    """A visit to schedule. Time windows constrain the start of service; SLA is on the start too."""

    id: str
    location: Location
    duration: int
    required_skills: dict[str, int] = field(default_factory=dict)
    time_windows: list[TimeWindow] = field(default_factory=list)
    priority: int = 3
    sla_due: int | None = None
    sla_hard: bool = False
    lateness_cost_per_hour: float = 100.0
    pinned_technician: str | None = None
    pinned_start: int | None = None
    earliest_start: int | None = None
    duration_by_skill_level: dict[int, int] = field(default_factory=dict)
    communicated_start: int | None = None
    after: list[Dependency] = field(default_factory=list)
    crew: str | None = None
    """Jobs sharing a crew id are one visit by several technicians (one job per member, each with that
    member's skills): they start at the same second, each on a different technician, all or none."""

    def duration_for(self, technician: Technician) -> int:
        """Service seconds for this technician: a skill-level override applies when the technician's
        lowest level over the job's required skills reaches the override's level (best one wins)."""
        if not self.duration_by_skill_level or not self.required_skills:
            return self.duration
        level = min(technician.level(skill) for skill in self.required_skills)
        best = self.duration
        for min_level, seconds in self.duration_by_skill_level.items():
            if level >= min_level:
                best = min(best, seconds)
        return best

    def qualified(self, technician: Technician) -> bool:
        return all(technician.level(skill) >= lvl for skill, lvl in self.required_skills.items())

    def start_windows(self) -> list[TimeWindow]:
        """Windows after applying ``earliest_start``; empty means 'any time' only for a job without windows
        (``screening.effective_windows`` reads the other case as 'not possible')."""
        windows = self.time_windows
        if self.earliest_start is None:
            return list(windows)
        if not windows:
            return [TimeWindow(self.earliest_start, 10**9)]
        return [TimeWindow(max(w.start, self.earliest_start), w.end) for w in windows if w.end >= self.earliest_start]


DEFAULT_UNASSIGNED_PENALTY: dict[int, float] = {1: 100_000.0, 2: 20_000.0, 3: 5_000.0, 4: 1_000.0}


@dataclass(slots=True)
class Weights:
    """Objective weights, all in currency units so a dispatcher can reason about them.

    travel, overtime and lateness multiply the per-hour costs held on technicians and jobs;
    unassigned_penalty is the price of leaving a job of each priority undone; balance_per_hour prices
    every hour of the longest working day (minimising it spreads work); churn_* price changes to
    appointments already communicated to customers during a re-plan.
    """

    travel: float = 1.0
    overtime: float = 1.0
    lateness: float = 1.0
    unassigned_penalty: dict[int, float] = field(default_factory=lambda: dict(DEFAULT_UNASSIGNED_PENALTY))
    balance_per_hour: float = 5.0
    churn_reassign: float = 300.0
    churn_shift_per_hour: float = 60.0
    churn_free_minutes: int = 30

    def penalty_for(self, priority: int) -> float:
        return self.unassigned_penalty.get(priority, DEFAULT_UNASSIGNED_PENALTY.get(priority, 1_000.0))


@dataclass(slots=True)
class Problem:
    """Everything the solver needs: who, what, where, when, how travel is priced, and what matters."""

    horizon_start: datetime
    technicians: list[Technician]
    jobs: list[Job]
    weights: Weights = field(default_factory=Weights)
    travel: TravelProvider | None = None
    name: str = ""

    def job(self, job_id: str) -> Job:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(job_id)

    def technician(self, technician_id: str) -> Technician:
        for tech in self.technicians:
            if tech.id == technician_id:
                return tech
        raise KeyError(technician_id)

    def travel_provider(self) -> TravelProvider:
        from optimizer.travel import HaversineTravel

        return self.travel if self.travel is not None else HaversineTravel()


class UnassignedReason(StrEnum):
    """Why a job is not in the plan, in words a dispatcher understands."""

    NO_QUALIFIED_TECHNICIAN = "no_qualified_technician"
    NO_QUALIFIED_TECHNICIAN_ON_SHIFT = "no_qualified_technician_on_shift"
    WINDOW_UNREACHABLE = "window_unreachable"
    DAY_FULL = "day_full"
    PINNED_TECHNICIAN_UNAVAILABLE = "pinned_technician_unavailable"
    NOT_PLACED_IN_TIME = "not_placed_in_time"
    LINKED_JOB_NOT_PLANNED = "linked_job_not_planned"


@dataclass(frozen=True, slots=True)
class Visit:
    """One job on a route: arrival at the site, service start and end, travel from the previous stop."""

    job_id: str
    arrival: int
    start: int
    end: int
    travel_seconds: int


@dataclass(frozen=True, slots=True, order=True)
class PlacedBreak:
    start: int
    end: int


@dataclass(slots=True)
class Route:
    """A technician's day: leaves ``start``, does ``visits`` in order, arrives at the end location at ``end``."""

    technician_id: str
    start: int
    end: int
    visits: list[Visit] = field(default_factory=list)
    breaks: list[PlacedBreak] = field(default_factory=list)
    travel_seconds: int = 0
    end_travel_seconds: int = 0


@dataclass(frozen=True, slots=True)
class Unassigned:
    job_id: str
    reason: UnassignedReason
    detail: str = ""


@dataclass(slots=True)
class ObjectiveBreakdown:
    """The plan's cost, term by term (seconds, counts) plus the weighted total in currency units."""

    travel_seconds: int = 0
    overtime_seconds: int = 0
    lateness_seconds: int = 0
    unassigned_by_priority: dict[int, int] = field(default_factory=dict)
    longest_day_seconds: int = 0
    balance_seconds: int = 0
    """Longest minus shortest working day (service + travel) among technicians with work."""
    above_fair_share_seconds: int = 0
    """Working time above the fair share, summed over technicians: what the balance weight prices."""
    total_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class Conflict:
    """Work under way or a pin that the day as it stands cannot honour, said so instead of failing the plan."""

    job_id: str
    technician_id: str
    kind: str
    """started_past_day_end, pin_outside_shift, pins_overlap."""
    message: str


@dataclass(slots=True)
class SolveStats:
    status: str = "not_solved"
    wall_seconds: float = 0.0
    first_solution_seconds: float | None = None
    solutions_found: int = 0
    time_limit_reached: bool = False
    """The search stopped because its time limit ran out (a longer limit might find a better plan)."""


@dataclass(slots=True)
class Plan:
    """The solver's answer (or an edited one): routes per technician, unassigned jobs, cost, stats."""

    horizon_start: datetime
    routes: list[Route]
    unassigned: list[Unassigned] = field(default_factory=list)
    objective: ObjectiveBreakdown = field(default_factory=ObjectiveBreakdown)
    stats: SolveStats = field(default_factory=SolveStats)
    conflicts: list[Conflict] = field(default_factory=list)

    def route_of(self, technician_id: str) -> Route | None:
        for route in self.routes:
            if route.technician_id == technician_id:
                return route
        return None

    def assignment(self) -> dict[str, tuple[str, Visit]]:
        """job id -> (technician id, visit)."""
        return {v.job_id: (r.technician_id, v) for r in self.routes for v in r.visits}
