"""Pure-Python timing of one technician's ordered jobs: earliest starts, breaks, cost; None if infeasible.

This is the fast path behind ``suggest``, the greedy dispatcher and the solver's warm start: no
OR-Tools, a precomputed network, and one forward pass per candidate order (waiting absorbs delays,
so a pass is exact for a fixed order under earliest-start scheduling). ``RouteClock`` extends a
route one job at a time, so appending is O(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from optimizer.model import BreakRule, Job, Location, PlacedBreak, Route, Technician, TimeWindow, Visit, Weights
from optimizer.network import Network
from optimizer.screening import effective_windows


@dataclass(slots=True)
class RouteTiming:
    visits: list[Visit] = field(default_factory=list)
    breaks: list[PlacedBreak] = field(default_factory=list)
    start: int = 0
    end: int = 0
    travel_seconds: int = 0
    end_travel_seconds: int = 0
    overtime_seconds: int = 0
    lateness_seconds: int = 0
    cost: float = 0.0

    def as_route(self, technician_id: str) -> Route:
        return Route(
            technician_id,
            self.start,
            self.end,
            self.visits,
            self.breaks,
            self.travel_seconds,
            self.end_travel_seconds,
        )


def earliest_start_in(windows: Sequence[TimeWindow], arrival: int) -> int | None:
    for window in windows:
        if arrival <= window.end:
            return max(arrival, window.start)
    return None


class RouteClock:
    """A technician's day being built left to right; ``push`` returns False when a job cannot follow."""

    __slots__ = (
        "cache",
        "hard_end",
        "horizon",
        "location",
        "network",
        "now",
        "pending",
        "started",
        "tech",
        "timing",
        "weights",
        "worked",
    )

    def __init__(
        self,
        tech: Technician,
        network: Network,
        horizon: int,
        weights: Weights,
        windows_cache: dict[str, list[TimeWindow]] | None = None,
        reserve_breaks: bool = False,
    ) -> None:
        self.tech = tech
        # reserve_breaks: also fit the day without its breaks inside (latest end - break time), which is
        # how the solver's large-problem mode sees it, so such a plan can seed that model.
        self.hard_end = tech.latest_end - (sum(b.duration for b in tech.breaks) if reserve_breaks else 0)
        self.network = network
        self.horizon = horizon
        self.weights = weights
        self.cache = windows_cache if windows_cache is not None else {}
        self.started = {s.job_id: s for s in tech.started_jobs}
        now = tech.earliest_departure
        if self.started:
            now = min(now, min(s.started_at for s in self.started.values()))
        # A break whose window closed before the day (re)starts is behind us, taken or not (the validator
        # lets a day that starts after it skip it): keeping it would make every job fail to fit.
        self.pending: list[BreakRule] = sorted(
            (b for b in tech.breaks if now <= b.latest_start or now < b.earliest_start + b.duration),
            key=lambda b: b.earliest_start,
        )
        self.now = now
        self.location: Location = tech.route_start_location
        self.worked = 0
        self.timing = RouteTiming(start=now)

    def copy(self) -> RouteClock:
        other = RouteClock.__new__(RouteClock)
        other.tech, other.network, other.horizon, other.weights = self.tech, self.network, self.horizon, self.weights
        other.cache, other.started, other.hard_end = self.cache, self.started, self.hard_end
        other.pending = list(self.pending)
        other.now, other.location, other.worked = self.now, self.location, self.worked
        t = self.timing
        other.timing = RouteTiming(
            list(t.visits), list(t.breaks), t.start, t.end, t.travel_seconds, 0, 0, t.lateness_seconds, t.cost
        )
        return other

    def windows(self, job: Job) -> list[TimeWindow]:
        cached = self.cache.get(job.id)
        if cached is None:
            cached = sorted(effective_windows(job, self.horizon), key=lambda w: w.start)
            self.cache[job.id] = cached
        return cached

    def push(self, job: Job) -> bool:
        tech, timing = self.tech, self.timing
        travel = self.network.seconds(self.location, job.location)
        if job.id in self.started:
            s = self.started[job.id]
            start = s.started_at
            end = s.expected_end if s.expected_end is not None else start + job.duration
            arrival = start
        else:
            windows = self.windows(job)
            arrival = self.now + travel
            maybe = earliest_start_in(windows, arrival)
            if maybe is None:
                return False
            start = maybe
            duration = job.duration_for(tech)
            # After this visit it would be too late for the next break: take it before driving here.
            if self.pending and start + duration > self.pending[0].latest_start:
                rule = self.pending.pop(0)
                break_start = max(self.now, rule.earliest_start)
                if break_start > rule.latest_start:
                    return False
                timing.breaks.append(PlacedBreak(break_start, break_start + rule.duration))
                arrival = max(arrival, break_start + rule.duration + travel)
                maybe = earliest_start_in(windows, arrival)
                if maybe is None:
                    return False
                start = maybe
            end = start + duration
            if job.sla_due is not None and start > job.sla_due:
                late = start - job.sla_due
                timing.lateness_seconds += late
                timing.cost += late / 3600 * job.lateness_cost_per_hour * self.weights.lateness
        if end > tech.latest_end:
            return False
        timing.visits.append(Visit(job.id, min(arrival, start), start, end, travel))
        timing.travel_seconds += travel
        self.worked += travel + (end - start)
        self.now, self.location = end, job.location
        return True

    def close(self) -> RouteTiming | None:
        """Drive home (taking a break still due) and check the shift, overtime cap and working time."""
        tech, timing = self.tech, self.timing
        if not timing.visits:
            timing.end = timing.start
            return timing
        home = self.network.seconds(self.location, tech.route_end_location)
        now = self.now
        pending = list(self.pending)
        breaks = list(timing.breaks)
        while pending and now + home > pending[0].latest_start:
            rule = pending.pop(0)
            break_start = max(now, rule.earliest_start)
            if break_start > rule.latest_start:
                return None
            breaks.append(PlacedBreak(break_start, break_start + rule.duration))
            now = break_start + rule.duration
        end = now + home
        if end > tech.latest_end or self.now + home > self.hard_end:
            return None
        worked = self.worked + home
        if tech.max_working_minutes is not None and worked > tech.max_working_minutes * 60:
            return None
        overtime = max(0, end - tech.shift_end)
        travel = timing.travel_seconds + home
        cost = timing.cost + travel / 3600 * tech.cost_per_hour * self.weights.travel
        cost += overtime / 3600 * tech.overtime_cost_per_hour * self.weights.overtime
        return RouteTiming(
            list(timing.visits), breaks, timing.start, end, travel, home, overtime, timing.lateness_seconds, cost
        )


def time_route(
    tech: Technician,
    jobs: Sequence[Job],
    network: Network,
    horizon: int,
    weights: Weights,
    windows_cache: dict[str, list[TimeWindow]] | None = None,
) -> RouteTiming | None:
    """Schedule ``jobs`` in this order for ``tech`` as early as possible; None when a rule breaks."""
    clock = RouteClock(tech, network, horizon, weights, windows_cache)
    for job in jobs:
        if not clock.push(job):
            return None
    return clock.close()
