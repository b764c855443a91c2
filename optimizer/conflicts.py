"""The day as it stands, made plannable: work under way and pins the rules cannot honour become conflicts.

A technician still on site after the shift (and its overtime) ended, or two pins that overlap, would make
the routing model infeasible. ``reconcile`` returns a problem the model can always satisfy plus the list of
conflicts to show the dispatcher: work under way is kept (it is happening) and the technician's day is
stretched just enough to finish it and drive home, with no new work after it and no break still to plan
inside it; a pin that cannot be kept is left out of the plan (its job stays unassigned, not moved
elsewhere). The solver and the validator both start from this one function, so they agree on the rules.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from optimizer.model import Conflict, Job, Problem, Technician, Unassigned, UnassignedReason
from optimizer.network import Network
from optimizer.timeline import RouteClock

SECONDS_PER_MINUTE = 60


@dataclass(slots=True)
class Reconciled:
    problem: Problem
    """A copy of the input with stretched days and without the pins that cannot be kept."""
    conflicts: list[Conflict] = field(default_factory=list)
    left_out: list[Unassigned] = field(default_factory=list)
    """The jobs of pins that cannot be kept, as the plan reports them."""


def _clock(seconds: int) -> str:
    seconds %= 86_400 * 7
    return f"{seconds // 3600 % 24:02d}:{seconds % 3600 // 60:02d}"


def started_work_end(tech: Technician, jobs: dict[str, Job]) -> int | None:
    """When the work already under way on this technician ends (None when nothing is under way)."""
    ends = []
    for started in tech.started_jobs:
        job = jobs.get(started.job_id)
        duration = job.duration if job is not None else 0
        ends.append(started.expected_end if started.expected_end is not None else started.started_at + duration)
    return max(ends, default=None)


def _stretch_for_started_work(tech: Technician, jobs: dict[str, Job], network: Network) -> Conflict | None:
    end = started_work_end(tech, jobs)
    if end is None:
        return None
    last = max(tech.started_jobs, key=lambda s: s.started_at)
    job = jobs.get(last.job_id)
    home = network.seconds(job.location, tech.route_end_location) if job is not None else 0
    # A break still due while the technician was already on site is theirs to take there.
    tech.breaks = [b for b in tech.breaks if b.latest_start >= end]
    if end + home <= tech.latest_end:
        return None
    limit = tech.latest_end
    # The work under way is finished (it is happening); an absence starts once the technician is home.
    tech.absences = [a for a in tech.absences if a.start >= end + home]
    tech.overtime_allowance_minutes = max(0, -(-(end + home - tech.shift_end) // SECONDS_PER_MINUTE))
    tech.available_from = tech.latest_end  # no new work after it
    tech.breaks = []
    over = "shift" if limit == tech.shift_end else "shift and overtime"
    return Conflict(
        last.job_id,
        tech.id,
        "started_past_day_end",
        f"{last.job_id} is under way with {tech.id} until {_clock(end)} but {tech.id}'s {over} ended at "
        f"{_clock(limit)}: the day is stretched to finish it, no new work is planned after it",
    )


def _check_pins(
    problem: Problem, originals: dict[str, Technician], network: Network, horizon: int, out: Reconciled
) -> set[str]:
    """Time each technician's started work then its start-pinned jobs in order; a pin that cannot follow
    is a conflict. What remains is one feasible sequence per technician, so the model is never infeasible."""
    jobs = {j.id: j for j in problem.jobs}
    dropped: set[str] = set()
    for tech in problem.technicians:
        pinned = sorted(
            (j for j in problem.jobs if j.pinned_technician == tech.id and j.pinned_start is not None),
            key=lambda j: (j.pinned_start, j.priority, j.id),
        )
        if not pinned:
            continue
        clock = RouteClock(tech, network, horizon, problem.weights)
        for started in sorted(tech.started_jobs, key=lambda s: s.started_at):
            if started.job_id in jobs:
                clock.push(jobs[started.job_id])
        previous: Job | None = None
        for job in pinned:
            assert job.pinned_start is not None
            trial = clock.copy()
            if trial.push(job) and trial.close() is not None:
                clock, previous = trial, job
                continue
            at = _clock(job.pinned_start)
            as_given = originals.get(tech.id, tech)
            if job.pinned_start + job.duration_for(tech) > as_given.latest_end:
                kind = "pin_outside_shift"
                why = f"{tech.id}'s shift ended at {_clock(as_given.latest_end)}"
            elif job.pinned_start < tech.earliest_departure:
                kind = "pin_outside_shift"
                why = f"{tech.id} is only available from {_clock(tech.earliest_departure)}"
            elif previous is not None and previous.pinned_start is not None:
                kind = "pins_overlap"
                why = (
                    f"{previous.id} is pinned on {tech.id} {_clock(previous.pinned_start)}-"
                    f"{_clock(previous.pinned_start + previous.duration_for(tech))}"
                )
            else:
                kind = "pin_outside_shift"
                why = f"{tech.id} cannot get there in time around the work already fixed on that day"
            message = f"{job.id} is pinned on {tech.id} {at} but {why}"
            out.conflicts.append(Conflict(job.id, tech.id, kind, message))
            out.left_out.append(Unassigned(job.id, UnassignedReason.PINNED_TECHNICIAN_UNAVAILABLE, message))
            dropped.add(job.id)
    return dropped


def reconcile(problem: Problem, network: Network, horizon: int) -> Reconciled:
    """The problem the routing model can always satisfy, and the conflicts that made it differ from the input."""
    updated = copy.copy(problem)
    updated.technicians = [copy.deepcopy(t) for t in problem.technicians]
    out = Reconciled(updated)
    jobs = {j.id: j for j in problem.jobs}
    for tech in updated.technicians:
        conflict = _stretch_for_started_work(tech, jobs, network)
        if conflict is not None:
            out.conflicts.append(conflict)
    dropped = _check_pins(updated, {t.id: t for t in problem.technicians}, network, horizon, out)
    updated.jobs = [j for j in problem.jobs if j.id not in dropped]
    return out
