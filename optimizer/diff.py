"""What changed between two plans, in the terms a dispatcher reads: moved, newly placed, dropped."""

from __future__ import annotations

from dataclasses import dataclass, field

from optimizer.model import Plan, Unassigned


@dataclass(frozen=True, slots=True)
class Move:
    job_id: str
    old_technician_id: str
    new_technician_id: str
    old_start: int
    new_start: int

    @property
    def technician_changed(self) -> bool:
        return self.old_technician_id != self.new_technician_id


@dataclass(frozen=True, slots=True)
class NewAssignment:
    job_id: str
    technician_id: str
    start: int


@dataclass(slots=True)
class PlanDiff:
    moves: list[Move] = field(default_factory=list)
    new_assignments: list[NewAssignment] = field(default_factory=list)
    newly_unassigned: list[Unassigned] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """Jobs in the old plan that the new plan does not mention at all (cancelled)."""

    @property
    def empty(self) -> bool:
        return not (self.moves or self.new_assignments or self.newly_unassigned or self.removed)


def diff(old_plan: Plan, new_plan: Plan, min_shift_seconds: int = 60) -> PlanDiff:
    """Moves are technician changes or start shifts of at least ``min_shift_seconds``."""
    old = old_plan.assignment()
    new = new_plan.assignment()
    new_unassigned = {u.job_id: u for u in new_plan.unassigned}
    old_unassigned = {u.job_id for u in old_plan.unassigned}
    result = PlanDiff()
    for job_id, (tech_id, visit) in new.items():
        if job_id in old:
            old_tech, old_visit = old[job_id]
            if old_tech != tech_id or abs(old_visit.start - visit.start) >= min_shift_seconds:
                result.moves.append(Move(job_id, old_tech, tech_id, old_visit.start, visit.start))
        else:
            result.new_assignments.append(NewAssignment(job_id, tech_id, visit.start))
    for job_id, item in new_unassigned.items():
        if job_id not in old_unassigned:
            result.newly_unassigned.append(item)
    for job_id in [*old, *old_unassigned]:
        if job_id not in new and job_id not in new_unassigned:
            result.removed.append(job_id)
    result.moves.sort(key=lambda m: (m.new_start, m.job_id))
    result.new_assignments.sort(key=lambda a: (a.start, a.job_id))
    return result
