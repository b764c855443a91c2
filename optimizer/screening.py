"""Pre-solve screening: which technicians could possibly do each job, and why a job has none.

Jobs nobody can do never enter the routing model (smaller model, and a precise reason for the
dispatcher instead of a generic "dropped").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from optimizer.model import Job, Problem, Technician, TimeWindow, Unassigned, UnassignedReason
from optimizer.network import Network


@dataclass(slots=True)
class Screening:
    candidates: dict[str, list[int]] = field(default_factory=dict)
    """job id -> indexes (into problem.technicians) of technicians that could reach it in time."""
    excluded: list[Unassigned] = field(default_factory=list)
    started_by: dict[str, int] = field(default_factory=dict)
    """job id -> technician index, for work already under way."""


def effective_windows(job: Job, horizon: int) -> list[TimeWindow]:
    """Start-of-service windows after earliest start, pinned start and hard SLA; [] means infeasible."""
    windows = job.start_windows()
    if not windows:
        if job.time_windows:
            return []  # every window closed before the earliest start (e.g. now): not today
        windows = [TimeWindow(0, horizon)]
    if job.pinned_start is not None:
        windows = (
            [TimeWindow(job.pinned_start, job.pinned_start)]
            if any(w.start <= job.pinned_start <= w.end for w in windows)
            else []
        )
    if job.sla_hard and job.sla_due is not None:
        windows = [TimeWindow(w.start, min(w.end, job.sla_due)) for w in windows if w.start <= job.sla_due]
    return [TimeWindow(max(0, w.start), min(horizon, w.end)) for w in windows if w.end >= w.start]


def on_shift(tech: Technician) -> bool:
    return tech.earliest_departure < tech.latest_end


def can_reach(
    job: Job, tech: Technician, network: Network, horizon: int, windows: list[TimeWindow] | None = None
) -> bool:
    """Could this technician, alone with this job, start it inside a window and get home by the hard end?"""
    arrival = tech.earliest_departure + network.seconds(tech.route_start_location, job.location)
    home = network.seconds(job.location, tech.route_end_location)
    duration = job.duration_for(tech)
    for window in windows if windows is not None else effective_windows(job, horizon):
        start = max(arrival, window.start)
        if start <= window.end and start + duration + home <= tech.latest_end:
            return True
    return False


def screen(problem: Problem, network: Network, horizon: int) -> Screening:
    result = Screening()
    tech_index = {t.id: i for i, t in enumerate(problem.technicians)}
    for ti, tech in enumerate(problem.technicians):
        for started in tech.started_jobs:
            result.started_by[started.job_id] = ti
    for job in problem.jobs:
        if job.id in result.started_by:
            result.candidates[job.id] = [result.started_by[job.id]]
            continue
        if job.pinned_technician is not None:
            ti_pin = tech_index.get(job.pinned_technician)
            if ti_pin is None:
                detail = f"pinned technician {job.pinned_technician} is not in the problem"
            else:
                tech = problem.technicians[ti_pin]
                if not job.qualified(tech):
                    detail = f"pinned technician {tech.id} lacks the required skills"
                elif not on_shift(tech):
                    detail = f"pinned technician {tech.id} is not on shift"
                elif not can_reach(job, tech, network, horizon):
                    detail = f"pinned technician {tech.id} cannot reach the job inside its window or shift"
                else:
                    result.candidates[job.id] = [ti_pin]
                    continue
            result.excluded.append(Unassigned(job.id, UnassignedReason.PINNED_TECHNICIAN_UNAVAILABLE, detail))
            continue
        qualified = [i for i, t in enumerate(problem.technicians) if job.qualified(t)]
        if not qualified:
            needs = ", ".join(f"{s}>={lvl}" for s, lvl in sorted(job.required_skills.items()))
            result.excluded.append(Unassigned(job.id, UnassignedReason.NO_QUALIFIED_TECHNICIAN, f"nobody has {needs}"))
            continue
        working = [i for i in qualified if on_shift(problem.technicians[i])]
        if not working:
            result.excluded.append(
                Unassigned(
                    job.id,
                    UnassignedReason.NO_QUALIFIED_TECHNICIAN_ON_SHIFT,
                    f"{len(qualified)} qualified technician(s), none on shift",
                )
            )
            continue
        windows = effective_windows(job, horizon)
        reachable = [i for i in working if can_reach(job, problem.technicians[i], network, horizon, windows)]
        if not reachable:
            result.excluded.append(
                Unassigned(
                    job.id,
                    UnassignedReason.WINDOW_UNREACHABLE,
                    f"none of {len(working)} qualified technician(s) on shift can start it inside its window",
                )
            )
            continue
        result.candidates[job.id] = reachable
    return result
