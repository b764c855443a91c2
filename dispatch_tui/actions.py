"""What the console's keys do: each action is one data-service call, plus the one call that undoes it.

These functions block (they talk to the database); the app runs them in thread workers. They raise
the services' typed errors (`SkillMismatch`, `StaleJob`, `PermissionDenied`, ...) unchanged so the
console shows the service's own message. No business rule lives here: an undo is simply another
service call (assign back, unassign, pin back), which the service may refuse like any other.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from data.models.jobs import JobStatus, NoteAuthorKind
from data.models.workforce import AbsenceKind
from data.services import jobs as job_services
from data.services import technicians as technician_services
from dispatch_tui.context import ConsoleContext


@dataclass(frozen=True)
class UndoStep:
    description: str
    call: Callable[[], Outcome]


@dataclass(frozen=True)
class Outcome:
    """What to tell the dispatcher, and how to take it back (None when it cannot be)."""

    text: str
    undo: UndoStep | None = None
    warnings: tuple[str, ...] = ()
    job: tuple[str, int] | None = None
    """(ref, new version) of the job the action changed, so the next key does not trip over our own change."""


@dataclass(frozen=True)
class JobState:
    """A job's planning fields as they were before an action, to put them back."""

    ref: str
    technician: str | None
    planned_start: datetime | None
    pinned: bool
    status: str
    version: int


def job_state(ctx: ConsoleContext, ref: str) -> JobState:
    with ctx.db.read() as s:
        job = job_services.find_job(s, ref)
        tech = job_services.find_technician(s, job.technician_id) if job.technician_id else None
        return JobState(
            job.ref, tech.code if tech else None, job.planned_start, job.pinned, job.status.value, job.version
        )


def _hm(ctx: ConsoleContext, at: datetime | None) -> str:
    """A planned time: "HH:MM" on the day being viewed, with its day otherwise ("Thu 26.11 08:00")."""
    if at is None:
        return "?"
    local = ctx.local(at)
    return f"{local:%H:%M}" if local.date() == ctx.day else f"{local:%a %d.%m %H:%M}"


def _restore(ctx: ConsoleContext, before: JobState, version: int) -> UndoStep:
    """The single call that puts a job back where it was (unassigned, or on its old technician and time)."""
    if before.technician is None:
        return UndoStep(f"unassign {before.ref}", lambda: unassign(ctx, before.ref, version, undoable=False))
    assert before.technician is not None
    tech = before.technician
    return UndoStep(
        f"put {before.ref} back on {tech} at {_hm(ctx, before.planned_start)}",
        lambda: assign(ctx, before.ref, tech, before.planned_start, version, pinned=before.pinned, undoable=False),
    )


def assign(
    ctx: ConsoleContext,
    ref: str,
    technician: str,
    start: datetime | None = None,
    expected_version: int | None = None,
    *,
    pinned: bool | None = None,
    undoable: bool = True,
) -> Outcome:
    """Assign (or move) a job; `start` None means the technician's next free slot.

    The move is held to the version the console last saw (the caller's, else the one just read): a change by
    someone else in between is a conflict, never overwritten."""
    before = job_state(ctx, ref) if undoable else None
    if expected_version is None and before is not None:
        expected_version = before.version
    # The next free slot is counted from the console's clock on the day being viewed (the demo runs fast).
    not_before = max(ctx.clock(), ctx.day_bounds()[0])
    result = job_services.assign_job(
        ctx.db,
        ctx.actor,
        ref,
        technician,
        start,
        pinned=pinned,
        expected_version=expected_version,
        not_before=not_before,
    )
    job = result.job
    verb = "moved" if before is not None and before.technician is not None else "assigned"
    text = f"{job.ref} {verb} to {technician} at {_hm(ctx, job.planned_start)}"
    if result.warnings:
        text += " (" + "; ".join(result.warnings) + ")"
    undo = _restore(ctx, before, job.version) if before is not None else None
    return Outcome(text, undo, tuple(result.warnings), (job.ref, job.version))


def unassign(ctx: ConsoleContext, ref: str, expected_version: int | None = None, *, undoable: bool = True) -> Outcome:
    before = job_state(ctx, ref) if undoable else None
    job = job_services.unassign_job(ctx.db, ctx.actor, ref, expected_version)
    undo = _restore(ctx, before, job.version) if before is not None else None
    text = f"{job.ref} unassigned" + (f" from {before.technician}" if before else "")
    return Outcome(text, undo, job=(job.ref, job.version))


def set_pinned(
    ctx: ConsoleContext, ref: str, pinned: bool, expected_version: int | None = None, *, undoable: bool = True
) -> Outcome:
    job = job_services.set_pinned(ctx.db, ctx.actor, ref, pinned, expected_version)
    version = job.version
    undo = (
        UndoStep(
            f"{'unpin' if pinned else 'pin'} {ref}",
            lambda: set_pinned(ctx, ref, not pinned, version, undoable=False),
        )
        if undoable
        else None
    )
    return Outcome(f"{job.ref} {'pinned' if pinned else 'unpinned'}", undo, job=(job.ref, version))


def toggle_pin(ctx: ConsoleContext, ref: str, expected_version: int | None = None) -> Outcome:
    return set_pinned(ctx, ref, not job_state(ctx, ref).pinned, expected_version)


def set_status(
    ctx: ConsoleContext,
    ref: str,
    status: JobStatus,
    expected_version: int | None = None,
    *,
    reason: str | None = None,
    undoable: bool = True,
) -> Outcome:
    before = job_state(ctx, ref)
    job = job_services.change_status(
        ctx.db, ctx.actor, ref, status, at=ctx.now(), reason=reason, expected_version=expected_version
    )
    version = job.version
    old = JobStatus(before.status)
    undo = (
        UndoStep(
            f"set {ref} back to {old.value}",
            lambda: set_status(ctx, ref, old, version, reason="undo", undoable=False),
        )
        if undoable
        else None
    )
    return Outcome(f"{job.ref}: {before.status} -> {job.status.value}", undo, job=(job.ref, version))


def set_dependency(ctx: ConsoleContext, ref: str, after: str | None, gap_minutes: int = 0) -> Outcome:
    job = job_services.set_dependency(ctx.db, ctx.actor, ref, after, gap_minutes)
    # Clearing is its own command (`:depend REF -`), so no undo step is kept.
    text = f"{job.ref} starts at least {gap_minutes} min after {after} ends" if after else f"{job.ref} waits for no job"
    return Outcome(text, job=(job.ref, job.version))


def set_crew_size(ctx: ConsoleContext, ref: str, size: int) -> Outcome:
    job = job_services.set_crew_size(ctx.db, ctx.actor, ref, size)
    # Changing the size clears the planned seats: re-plan rather than undo.
    return Outcome(f"{job.ref} needs a crew of {job.crew_size}", job=(job.ref, job.version))


def split_into_visits(ctx: ConsoleContext, ref: str, days: int) -> Outcome:
    visits = job_services.split_into_visits(ctx.db, ctx.actor, ref, days)
    return Outcome(f"{visits[0].ref} takes {days} days: {', '.join(v.ref for v in visits)}")


def add_note(ctx: ConsoleContext, ref: str, body: str) -> Outcome:
    note = job_services.add_note(ctx.db, ctx.actor, ref, body, author_kind=NoteAuthorKind.DISPATCHER, at=ctx.now())
    # Notes are an append-only record: there is no service that deletes one, so no undo.
    return Outcome(f"note added to {ref} (#{note.id})")


def mark_absent(
    ctx: ConsoleContext, technician: str, kind: AbsenceKind, until: datetime, note: str | None = None
) -> Outcome:
    start = ctx.now()
    if until <= start:
        until = start + timedelta(hours=1)
    _absence, affected = technician_services.mark_absent(ctx.db, ctx.actor, technician, kind, start, until, note)
    text = f"{technician} marked {kind.value} until {_hm(ctx, until)}"
    if affected:
        text += f"; {len(affected)} planned job(s) now need a new technician: {', '.join(affected[:6])}"
        text += " (R re-plans)"
    # No service removes an absence (it is a record of what HR was told), so this cannot be undone here.
    return Outcome(text)


# Suggestions and re-planning go through the planning adapter in `data.planning`, which turns the
# database's day into the optimizer's Problem/Plan and applies a plan with one service call.


@dataclass(frozen=True)
class Suggestion:
    technician: str
    start: datetime
    added_travel_minutes: int
    lateness_minutes: int
    overtime_minutes: int
    cost: float
    technician_name: str = ""

    @property
    def explained(self) -> str:
        """What the place costs, in the dispatcher's terms: "+12 min travel, 0 min late"."""
        text = f"+{self.added_travel_minutes} min travel, {self.lateness_minutes} min late"
        return text + (f", {self.overtime_minutes} min overtime" if self.overtime_minutes else "")


@dataclass
class ReplanProposal:
    """A re-plan to show as a diff before applying: moves, new assignments, jobs left out and why."""

    moves: list[tuple[str, str, str, datetime, datetime]] = field(default_factory=list)
    """(job ref, old technician, new technician, old start, new start)"""
    new_assignments: list[tuple[str, str, datetime]] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    """(job ref, reason)"""
    handle: Any = None
    """What `apply_replan` hands back to the planning adapter."""

    @property
    def empty(self) -> bool:
        return not (self.moves or self.new_assignments or self.left_out)


def _planning() -> Any:
    """`data.planning` loads OR-Tools, so it is imported on first use, not at the console's start."""
    return importlib.import_module("data.planning")


def suggestions_for(ctx: ConsoleContext, job_ref: str, k: int = 5) -> list[Suggestion]:
    """The scheduler's ranked places for a job on the viewed day, cheapest first (via `data.planning`)."""
    planning = _planning()
    found = planning.suggest_for_job(ctx.db, job_ref, day=ctx.day, now=ctx.now(), k=k, run=ctx.solve)
    return [
        Suggestion(
            technician=s.technician,
            start=s.start,
            added_travel_minutes=round(s.added_travel_minutes),
            lateness_minutes=round(s.lateness_minutes),
            overtime_minutes=round(s.overtime_minutes),
            cost=float(s.cost),
            technician_name=s.technician_name,
        )
        for s in found
    ]


REASONS = {
    "no_qualified_technician": "no technician has the skills",
    "no_qualified_technician_on_shift": "no qualified technician is on shift",
    "window_unreachable": "its time window cannot be reached",
    "day_full": "no room left in anyone's day",
    "pinned_technician_unavailable": "pinned to a technician who is unavailable",
    "not_placed_in_time": "not placed within the time limit",
}


def propose_replan(ctx: ConsoleContext, technician: str | None = None, time_limit: float = 5.0) -> ReplanProposal:
    """Re-plan the viewed branch's day (from now on after `technician`'s absence, when given)."""
    planning = _planning()
    change = None
    if technician is not None:
        from optimizer.replan import TechnicianAbsent

        day = planning.load_day(ctx.db, ctx.day, ctx.branch.code, ctx.now())
        change = TechnicianAbsent(technician, max(0, day.offset(ctx.now())))
    day_plan, new_plan, diff = planning.replan_day(
        ctx.db, ctx.day, ctx.branch.code, change, now=ctx.now(), time_limit=time_limit, run=ctx.solve
    )
    from data.services.solves import record_solve

    record_solve(ctx.db, ctx.actor, ctx.branch.code, ctx.day, new_plan, kind="replan-console")
    return ReplanProposal(
        moves=[
            (m.job_id, m.old_technician_id, m.new_technician_id, day_plan.at(m.old_start), day_plan.at(m.new_start))
            for m in diff.moves
        ],
        new_assignments=[(a.job_id, a.technician_id, day_plan.at(a.start)) for a in diff.new_assignments],
        left_out=[
            (u.job_id, REASONS.get(u.reason.value, u.reason.value) + (f" ({u.detail})" if u.detail else ""))
            for u in diff.newly_unassigned
        ],
        handle=(day_plan, new_plan),
    )


def apply_replan(ctx: ConsoleContext, proposal: ReplanProposal) -> Outcome:
    """Apply a proposal in one transaction; undo re-applies the plan as it was before."""
    planning = _planning()
    day_plan, new_plan = proposal.handle
    result = planning.apply_plan(ctx.db, ctx.actor, day_plan, new_plan)
    previous = day_plan.current

    def restore() -> Outcome:
        fresh = planning.load_day(ctx.db, ctx.day, ctx.branch.code, ctx.now())
        back = planning.apply_plan(ctx.db, ctx.actor, fresh, previous)
        return Outcome(f"previous plan restored: {len(back.assigned) + len(back.moved)} job(s) moved back")

    text = (
        f"re-plan applied: {len(result.assigned)} assigned, {len(result.moved)} moved, "
        f"{len(result.unassigned)} unassigned, {len(proposal.left_out)} left out"
    )
    notes = (*result.warnings, *(f"not applied: {line}" for line in result.skipped))
    return Outcome(text, UndoStep("restore the previous plan", restore), notes)
