"""Work-order services: create, update, assign/unassign/move, pin, status transitions, notes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.availability import absences_overlapping, local_date, shift_on
from data.custom_fields import merge_custom_fields
from data.db import Database
from data.errors import (
    AlreadyAssigned,
    DispatchError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OutsideWindow,
    PinsOverlap,
    ShiftConflict,
    SkillMismatch,
    TechnicianAbsent,
)
from data.models.base import utcnow
from data.models.customers import Asset, Contract, Site
from data.models.events import Event
from data.models.jobs import (
    CLOSED_STATUSES,
    NOT_STARTED_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    VISITED_STATUSES,
    Job,
    JobCrewMember,
    JobNote,
    JobSkill,
    JobStatus,
    JobType,
    NoteAuthorKind,
)
from data.models.org import Branch, Role
from data.models.stock import Part
from data.models.workforce import Skill, Technician, TechnicianStatus
from data.uow import UnitOfWork

# What a technician's status becomes when their job enters a status.
TECHNICIAN_STATUS_FOR = {
    JobStatus.EN_ROUTE: TechnicianStatus.EN_ROUTE,
    JobStatus.ON_SITE: TechnicianStatus.ON_SITE,
    JobStatus.PAUSED: TechnicianStatus.AVAILABLE,
    JobStatus.COMPLETED: TechnicianStatus.AVAILABLE,
    JobStatus.INCOMPLETE: TechnicianStatus.AVAILABLE,
}


@dataclass
class JobDraft:
    """What a person or an import provides to create a job."""

    type: JobType
    site_code: str
    summary: str
    duration_minutes: int
    priority: int = 3
    skills: dict[str, int] = field(default_factory=dict)
    description: str | None = None
    asset_serial: str | None = None
    contract_code: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    sla_due: datetime | None = None
    ref: str | None = None
    created_at: datetime | None = None
    # The company's own fields by name (see data/custom_fields.py); a dict when a person fills in the job (required
    # ones are then checked), None for jobs Dispatch makes itself (follow-ups, maintenance, quotes, CRM cases).
    custom_fields: dict[str, Any] | None = None
    parts_needed: dict[str, int] = field(default_factory=dict)  # SKU -> quantity the visit needs


@dataclass
class AssignmentResult:
    job: Job
    technician: Technician | None
    warnings: list[str]


def _check_draft(draft: JobDraft, record: str) -> None:
    if not 1 <= draft.priority <= 4:
        raise InvalidInput("must be 1 (emergency) to 4", record=record, field="priority")
    if draft.duration_minutes <= 0 or draft.duration_minutes > 24 * 60:
        raise InvalidInput("must be between 1 and 1440 minutes", record=record, field="duration_minutes")
    for name, value in (("window_start", draft.window_start), ("window_end", draft.window_end)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("needs a time zone (e.g. 2026-11-25T09:00:00+02:00)", record=record, field=name)
    if draft.window_start and draft.window_end and draft.window_end <= draft.window_start:
        raise InvalidInput("must be after window_start", record=record, field="window_end")
    if not draft.summary.strip():
        raise InvalidInput("must not be empty", record=record, field="summary")


def parse_skills(value: str | None, record: str = "option", field: str = "--skills") -> dict[str, int]:
    """'hvac:3;gas:1' (or commas, or 'hvac3') into {'hvac': 3, 'gas': 1}; a bare code means level 1."""
    skills: dict[str, int] = {}
    if not value:
        return skills
    for part in value.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        code, _, level = part.partition(":")
        code = code.strip()
        if not level and code[-1:].isdigit() and code.rstrip("0123456789"):
            code, level = code.rstrip("0123456789"), code[len(code.rstrip("0123456789")) :]  # gas2 = gas:2
        if not code:
            raise InvalidInput(f"'{part}' has no skill code", record=record, field=field)
        try:
            number = int(level) if level.strip() else 1
        except ValueError:
            raise InvalidInput(
                f"level '{level}' of {code} is not a whole number 1-5", record=record, field=field
            ) from None
        if not 1 <= number <= 5:
            raise InvalidInput(f"level {number} of {code} is not 1-5", record=record, field=field)
        skills[code] = number
    return skills


def skills_by_code(session: Session, codes: list[str], record: str) -> dict[str, Skill]:
    found = {s.code: s for s in session.scalars(select(Skill).where(Skill.code.in_(codes)))}
    for code in codes:
        if code not in found:
            raise InvalidInput(f"unknown skill '{code}'", record=record, field="skills")
    return found


def contract_for(session: Session, customer_id: int, job_type: JobType, on: datetime) -> Contract | None:
    """The customer's valid contract that covers this kind of job, if any."""
    contracts = session.scalars(select(Contract).where(Contract.customer_id == customer_id))
    day = on.date()
    for contract in contracts:
        if contract.valid_on(day) and job_type.value in contract.covered_job_types:
            return contract
    return None


def checked_parts(session: Session, parts: dict[str, int], record: str) -> dict[str, int]:
    """The parts a job needs: known SKUs, positive whole quantities."""
    known = set(session.scalars(select(Part.sku).where(Part.sku.in_(list(parts))))) if parts else set()
    for sku, quantity in parts.items():
        if sku not in known:
            raise InvalidInput(f"unknown part {sku!r} (see `dispatch parts list`)", record=record, field="parts")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InvalidInput(f"part {sku}: {quantity!r} is not a positive whole number", record=record, field="parts")
    return dict(sorted(parts.items()))


def create_job_in(uow: UnitOfWork, draft: JobDraft) -> Job:
    record = f"job {draft.ref or draft.summary!r}"
    _check_draft(draft, record)
    s = uow.session
    site = s.scalar(select(Site).where(Site.code == draft.site_code))
    if site is None:
        raise InvalidInput(f"unknown site '{draft.site_code}'", record=record, field="site")
    asset_id = None
    if draft.asset_serial:
        asset = s.scalar(select(Asset).where(Asset.serial == draft.asset_serial, Asset.site_id == site.id))
        if asset is None:
            raise InvalidInput(
                f"no asset with serial '{draft.asset_serial}' at site {site.code}",
                record=record,
                field="asset",
            )
        asset_id = asset.id
    created_at = draft.created_at or utcnow()
    contract = None
    if draft.contract_code:
        contract = s.scalar(select(Contract).where(Contract.code == draft.contract_code))
        if contract is None or contract.customer_id != site.customer_id:
            raise InvalidInput(
                f"no contract '{draft.contract_code}' for this customer", record=record, field="contract"
            )
    else:
        contract = contract_for(s, site.customer_id, draft.type, created_at)
    sla_due = draft.sla_due
    if sla_due is None and contract is not None:
        sla_due = created_at + timedelta(hours=contract.sla_response_hours)
    skills = skills_by_code(s, list(draft.skills), record)
    custom = merge_custom_fields("jobs", {}, draft.custom_fields, record) if draft.custom_fields is not None else {}
    job = Job(
        ref=draft.ref or f"tmp-{uuid.uuid4().hex[:20]}",
        type=draft.type,
        status=JobStatus.NEW,
        priority=draft.priority,
        summary=draft.summary.strip(),
        description=draft.description,
        customer_id=site.customer_id,
        site_id=site.id,
        asset_id=asset_id,
        contract_id=contract.id if contract else None,
        branch_id=site.branch_id,
        duration_minutes=draft.duration_minutes,
        window_start=draft.window_start,
        window_end=draft.window_end,
        sla_due=sla_due,
        created_at=created_at,
        updated_at=created_at,
        updated_by=uow.actor.login,
        custom_fields=custom,
        parts_needed=checked_parts(s, draft.parts_needed, record),
    )
    job.required_skills = [JobSkill(skill=skills[c], min_level=lvl) for c, lvl in draft.skills.items()]
    s.add(job)
    s.flush()
    if draft.ref is None:
        job.ref = f"J{job.id:06d}"
    uow.emit("job.created", "job", job.id, job_payload(job))
    return job


def create_job(db: Database, actor: Actor, draft: JobDraft) -> Job:
    actor.require_write("create jobs")
    with UnitOfWork(db, actor) as uow:
        return create_job_in(uow, draft)


def job_payload(job: Job) -> dict[str, Any]:
    return {
        "ref": job.ref,
        "type": job.type,
        "status": job.status,
        "priority": job.priority,
        "summary": job.summary,
        "customer_id": job.customer_id,
        "site_id": job.site_id,
        "branch_id": job.branch_id,
        "duration_minutes": job.duration_minutes,
        "window_start": job.window_start,
        "window_end": job.window_end,
        "sla_due": job.sla_due,
        "technician_id": job.technician_id,
        "custom_fields": job.custom_fields,
        "parts_needed": job.parts_needed,
        "planned_start": job.planned_start,
        "planned_end": job.planned_end,
        "pinned": job.pinned,
        "version": job.version,
    }


def find_job(session: Session, ref_or_id: str | int) -> Job:
    if isinstance(ref_or_id, int) or str(ref_or_id).isdigit():
        job = session.get(Job, int(ref_or_id))
    else:
        job = session.scalar(select(Job).where(Job.ref == str(ref_or_id)))
    if job is None:
        raise NotFound(f"job {ref_or_id} does not exist")
    return job


def find_technician(session: Session, code_or_id: str | int) -> Technician:
    if isinstance(code_or_id, int) or str(code_or_id).isdigit():
        tech = session.get(Technician, int(code_or_id))
    else:
        tech = session.scalar(select(Technician).where(Technician.code == str(code_or_id)))
    if tech is None:
        raise NotFound(f"technician {code_or_id} does not exist")
    return tech


def split_crew_skills(skills: dict[str, int], size: int) -> list[dict[str, int]]:
    """A crew holds the required skills between them: skill k (in code order) goes to seat k mod size."""
    seats: list[dict[str, int]] = [{} for _ in range(max(1, size))]
    for k, (code, level) in enumerate(sorted(skills.items())):
        seats[k % len(seats)][code] = level
    return seats


def check_skills(job: Job, tech: Technician) -> None:
    """The technician holds what the job needs (for a crew job, what the lead's seat needs)."""
    have = tech.skill_levels()
    for code, level in split_crew_skills(job.skill_requirements(), job.crew_size)[0].items():
        if code not in have:
            raise SkillMismatch(f"{tech.code} {tech.name} lacks skill '{code}' needed by job {job.ref}")
        if have[code] < level:
            raise SkillMismatch(
                f"{tech.code} {tech.name} has skill '{code}' at level {have[code]}; job {job.ref} needs {level}"
            )


def next_free_start(session: Session, job: Job, tech: Technician, tz: str, after: datetime) -> datetime:
    """The first slot that fits the job after `after`: past the technician's last planned job that day,
    inside their shift, rolling on to their next rostered day (two weeks at most)."""
    after = max(after, job.window_start) if job.window_start else after
    duration = timedelta(minutes=job.duration_minutes)
    day = local_date(after, tz)
    for _ in range(14):
        shift = shift_on(session, tech, day, tz)
        if shift is not None and not absences_overlapping(session, tech.id, shift.start, shift.end):
            start = max(after, shift.start)
            last_end = session.scalar(
                select(Job.planned_end)
                .where(
                    Job.technician_id == tech.id,
                    Job.id != job.id,
                    Job.planned_start >= shift.start,
                    Job.planned_start < shift.end,
                    Job.status.not_in([JobStatus.CANCELLED]),
                )
                .order_by(Job.planned_end.desc())
                .limit(1)
            )
            if last_end is not None and last_end > start:
                start = last_end
            if start + duration <= shift.end:
                _refuse_outside_window(job, tech, tz, start, start + duration)
                return start
        day += timedelta(days=1)
        if job.window_end is not None and datetime.combine(day, time.min, ZoneInfo(tz)) >= job.window_end:
            break
    if job.window_end is not None:
        raise OutsideWindow(
            f"{tech.code} {tech.name} has no free slot inside job {job.ref}'s window "
            f"({_window_text(job, tz)}); give a start time, or choose another technician"
        )
    raise ShiftConflict(f"{tech.code} {tech.name} has no free slot for job {job.ref} in the next 14 days")


def _window_text(job: Job, tz: str) -> str:
    opens = _hhmm(job.window_start, tz, True) if job.window_start else "any time"
    closes = _hhmm(job.window_end, tz) if job.window_end else "any time"
    return f"{opens}-{closes}"


def _refuse_outside_window(job: Job, tech: Technician, tz: str, start: datetime, end: datetime) -> None:
    """The next free slot is only offered when it keeps the customer's window (a start given by hand may not)."""
    if job.window_end is not None and end > job.window_end:
        raise OutsideWindow(
            f"{tech.code} {tech.name}'s next free slot is {_hhmm(start, tz, True)}-{_hhmm(end, tz)}, "
            f"after job {job.ref}'s window ({_window_text(job, tz)}) closes; give a start time inside it, "
            "or choose another technician"
        )


def _refuse_if_unavailable(
    session: Session, job: Job, tech: Technician, tz: str, start: datetime, end: datetime
) -> list[str]:
    warnings: list[str] = []
    if not tech.active:
        raise ShiftConflict(f"{tech.code} {tech.name} is not an active technician")
    day = local_date(start, tz)
    shift = shift_on(session, tech, day, tz)
    if shift is None:
        raise ShiftConflict(f"{tech.code} {tech.name} has no shift on {day.isoformat()}")
    overtime_limit = shift.end + timedelta(minutes=tech.overtime_allowance_minutes)
    if start < shift.start or end > overtime_limit:
        raise ShiftConflict(
            f"{tech.code} {tech.name} works {_hhmm(shift.start, tz)}-{_hhmm(shift.end, tz)} on "
            f"{day.isoformat()}; job {job.ref} would run {_hhmm(start, tz)}-{_hhmm(end, tz)}"
        )
    if end > shift.end:
        minutes = int((end - shift.end).total_seconds() // 60)
        warnings.append(f"runs {minutes} min into overtime")
    for absence in absences_overlapping(session, tech.id, start, end):
        raise TechnicianAbsent(
            f"{tech.code} {tech.name} is on {absence.kind.value} from {_hhmm(absence.starts_at, tz, True)} "
            f"to {_hhmm(absence.ends_at, tz, True)}"
        )
    overlapping = session.scalars(
        select(Job.ref).where(
            Job.technician_id == tech.id,
            Job.id != job.id,
            Job.planned_start < end,
            Job.planned_end > start,
            Job.status.not_in(CLOSED_STATUSES),
        )
    ).all()
    if overlapping:
        warnings.append(f"overlaps {', '.join(overlapping)} on {tech.code}")
    if (job.window_start and start < job.window_start) or (job.window_end and end > job.window_end):
        warnings.append("outside the customer's time window")
    if job.sla_due and end > job.sla_due:
        warnings.append(f"misses the SLA due {_hhmm(job.sla_due, tz, True)}")
    return warnings


def _refuse_overlapping_pins(
    session: Session, job: Job, tech: Technician, tz: str, start: datetime, end: datetime, force: bool
) -> list[str]:
    """A pin overlapping another pin of the same technician can never be kept by a plan: refuse it
    (or, forced, keep it with a warning; planning then reports the pair as a conflict)."""
    others = session.execute(
        select(Job.ref, Job.planned_start, Job.planned_end)
        .where(
            Job.technician_id == tech.id,
            Job.id != job.id,
            Job.pinned.is_(True),
            Job.planned_start < end,
            Job.planned_end > start,
            Job.status.not_in(CLOSED_STATUSES),
        )
        .order_by(Job.planned_start)
    ).all()
    if not others:
        return []
    clashes = ", ".join(f"{ref} ({_hhmm(a, tz)}-{_hhmm(b, tz)})" for ref, a, b in others if a and b)
    message = (
        f"pinned job {job.ref} ({_hhmm(start, tz)}-{_hhmm(end, tz)}) would overlap pinned {clashes} on {tech.code}"
    )
    if not force:
        raise PinsOverlap(f"{message}; use --force to pin it anyway")
    return [message]


def _hhmm(at: datetime, tz: str, with_date: bool = False) -> str:
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(tz))
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def assign_in(
    uow: UnitOfWork,
    job_ref: str | int,
    technician: str | int,
    start: datetime | None = None,
    *,
    pinned: bool | None = None,
    expected_version: int | None = None,
    not_before: datetime | None = None,
    force: bool = False,
    reassign: bool = False,
) -> AssignmentResult:
    """Assign or move a job. An assigned job moves only for a caller who says which version it saw
    (``expected_version``) or that it means to take it from whoever assigned it (``reassign``)."""
    s = uow.session
    job = uow.job_for_update(find_job(s, job_ref).id, expected_version)
    uow.actor.require_write(f"assign job {job.ref}", branch_id=job.branch_id)
    if job.status not in NOT_STARTED_STATUSES:
        raise IllegalTransition(f"job {job.ref} is {job.status.value}; only new, scheduled or dispatched jobs move")
    if job.technician_id is not None and expected_version is None and not reassign:
        raise _already_assigned(s, job)
    tech = find_technician(s, technician)
    branch = s.get(Branch, job.branch_id)
    assert branch is not None
    check_skills(job, tech)
    if start is not None and start.tzinfo is None:
        raise InvalidInput("needs a time zone", record=f"job {job.ref}", field="start")
    if start is None:
        start = next_free_start(s, job, tech, branch.timezone, not_before or utcnow())
    end = start + timedelta(minutes=job.duration_minutes)
    warnings = _refuse_if_unavailable(s, job, tech, branch.timezone, start, end)
    if pinned or (pinned is None and job.pinned):
        warnings += _refuse_overlapping_pins(s, job, tech, branch.timezone, start, end, force)
    previous = job.technician_id
    moved_to_other = previous is not None and previous != tech.id
    job.technician_id = tech.id
    job.planned_start = start
    job.planned_end = end
    if pinned is not None:
        job.pinned = pinned
    if job.status is JobStatus.NEW or (moved_to_other and job.status is JobStatus.DISPATCHED):
        job.status = JobStatus.SCHEDULED
    if tech.branch_id != job.branch_id:
        warnings.append(f"{tech.code} belongs to another branch")
    uow.touch(job)
    uow.emit(
        "job.assigned",
        "job",
        job.id,
        {
            "ref": job.ref,
            "technician_id": tech.id,
            "technician": tech.code,
            "previous_technician_id": previous,
            "planned_start": start,
            "planned_end": end,
            "pinned": job.pinned,
            "status": job.status,
            "warnings": warnings,
        },
    )
    warnings += pin_next_visits(uow, job)
    return AssignmentResult(job, tech, warnings)


def _already_assigned(session: Session, job: Job) -> AlreadyAssigned:
    """Who put the job where it is, and when: its last `job.assigned` event, else the job's own last change."""
    tech = session.get(Technician, job.technician_id)
    last = session.execute(
        select(Event.actor, Event.at)
        .where(Event.subject_type == "job", Event.subject_id == str(job.id), Event.type == "job.assigned")
        .order_by(Event.seq.desc())
        .limit(1)
    ).one_or_none()
    by, at = (last.actor, last.at) if last is not None else (job.updated_by, job.updated_at)
    return AlreadyAssigned(job.ref, tech.code if tech else str(job.technician_id), by, at, job.version)


def assign_job(
    db: Database,
    actor: Actor,
    job_ref: str | int,
    technician: str | int,
    start: datetime | None = None,
    *,
    pinned: bool | None = None,
    expected_version: int | None = None,
    not_before: datetime | None = None,
    force: bool = False,
    reassign: bool = False,
) -> AssignmentResult:
    """Assign (or move) a job; without a start, the technician's next free slot after `not_before` (now).

    An already assigned job is refused (`AlreadyAssigned`, a conflict) unless the caller passes the version it saw
    or ``reassign``. A pin that would overlap another pin of the technician is refused unless ``force``."""
    actor.require_write("assign jobs")
    with UnitOfWork(db, actor) as uow:
        return assign_in(
            uow,
            job_ref,
            technician,
            start,
            pinned=pinned,
            expected_version=expected_version,
            not_before=not_before,
            force=force,
            reassign=reassign,
        )


def unassign_in(uow: UnitOfWork, job_ref: str | int, expected_version: int | None = None) -> Job:
    job = uow.job_for_update(find_job(uow.session, job_ref).id, expected_version)
    if job.status not in NOT_STARTED_STATUSES:
        raise IllegalTransition(f"job {job.ref} is {job.status.value}; it cannot be unassigned now")
    if job.technician_id is None:
        raise IllegalTransition(f"job {job.ref} is not assigned")
    previous = job.technician_id
    job.technician_id = None
    job.planned_start = job.planned_end = None
    job.pinned = False
    job.status = JobStatus.NEW
    uow.touch(job)
    uow.emit("job.unassigned", "job", job.id, {"ref": job.ref, "previous_technician_id": previous})
    pin_next_visits(uow, job)
    return job


def unassign_job(db: Database, actor: Actor, job_ref: str | int, expected_version: int | None = None) -> Job:
    actor.require_write("unassign jobs")
    with UnitOfWork(db, actor) as uow:
        return unassign_in(uow, job_ref, expected_version)


def set_pinned(
    db: Database, actor: Actor, job_ref: str | int, pinned: bool, expected_version: int | None = None
) -> Job:
    actor.require_write("pin jobs")
    with UnitOfWork(db, actor) as uow:
        job = uow.job_for_update(find_job(uow.session, job_ref).id, expected_version)
        if pinned and job.technician_id is None:
            raise IllegalTransition(f"job {job.ref} is not assigned: assign it before pinning")
        job.pinned = pinned
        uow.touch(job)
        uow.emit("job.pinned" if pinned else "job.unpinned", "job", job.id, {"ref": job.ref})
        return job


def change_status_in(
    uow: UnitOfWork,
    job_ref: str | int,
    status: JobStatus,
    *,
    at: datetime | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Job:
    s = uow.session
    job = uow.job_for_update(find_job(s, job_ref).id, expected_version)
    if job.technician_id is not None:
        uow.actor.require_field(job.technician_id, f"change the status of job {job.ref}")
    else:
        uow.actor.require_write(f"change the status of job {job.ref}")
    old = job.status
    if status not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old])) or "nothing (final)"
        raise IllegalTransition(f"job {job.ref} cannot go from {old.value} to {status.value}; allowed: {allowed}")
    when = at or utcnow()
    needs_tech = {JobStatus.SCHEDULED, JobStatus.DISPATCHED, JobStatus.EN_ROUTE, JobStatus.ON_SITE}
    if status in needs_tech and job.technician_id is None:
        raise IllegalTransition(f"job {job.ref} has no technician: assign it first")
    if status is JobStatus.NEW:
        job.technician_id = None
        job.planned_start = job.planned_end = None
        job.pinned = False
    if status is JobStatus.ON_SITE:
        if job.arrived_at is None:
            job.arrived_at = when
        if job.actual_start is None:
            job.actual_start = when
    if status in VISITED_STATUSES:
        job.actual_end = when
    if status is JobStatus.DISPATCHED:
        job.communicated = True
    job.status = status
    uow.touch(job)
    uow.emit(
        "job.status_changed",
        "job",
        job.id,
        {
            "ref": job.ref,
            "from": old,
            "to": status,
            "at": when,
            "reason": reason,
            "technician_id": job.technician_id,
        },
    )
    tech_status = TECHNICIAN_STATUS_FOR.get(status)
    if tech_status is not None and job.technician_id is not None:
        tech = s.get(Technician, job.technician_id)
        if tech is not None and tech.status is not tech_status:
            previous = tech.status
            tech.status = tech_status
            uow.emit(
                "technician.status_changed",
                "technician",
                tech.id,
                {"code": tech.code, "from": previous, "to": tech_status, "job": job.ref},
            )
    return job


def change_status(
    db: Database,
    actor: Actor,
    job_ref: str | int,
    status: JobStatus,
    *,
    at: datetime | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Job:
    """A status move by a person or a script; completing is not one (it needs the report, see completion.py)."""
    if status is JobStatus.COMPLETED:
        raise IllegalTransition(
            f"job {job_ref}: a job is completed with its report (labour, parts, notes), which makes the invoice and "
            f"the timesheet: `dispatch jobs complete {job_ref} --labour MIN ...`"
        )
    with UnitOfWork(db, actor) as uow:
        return change_status_in(uow, job_ref, status, at=at, reason=reason, expected_version=expected_version)


def set_dependency(
    db: Database,
    actor: Actor,
    job_ref: str | int,
    after_ref: str | int | None,
    gap_minutes: int = 0,
    expected_version: int | None = None,
) -> Job:
    """Job B may start only ``gap_minutes`` after job A ends (any technician); ``after_ref`` None clears it.
    The planner plans both or neither."""
    actor.require_write("edit jobs")
    with UnitOfWork(db, actor) as uow:
        job = uow.job_for_update(find_job(uow.session, job_ref).id, expected_version)
        record = f"job {job.ref}"
        if gap_minutes < 0:
            raise InvalidInput("must be 0 or more minutes", record=record, field="after_gap_minutes")
        before: Job | None = None
        if after_ref is not None:
            before = find_job(uow.session, after_ref)
            chain: Job | None = before
            seen = {job.id}
            while chain is not None:
                if chain.id in seen:
                    raise InvalidInput(
                        f"cannot come after {before.ref}: that would make a loop back to {job.ref}",
                        record=record,
                        field="after",
                    )
                seen.add(chain.id)
                chain = uow.session.get(Job, chain.after_job_id) if chain.after_job_id is not None else None
        job.after_job_id = before.id if before is not None else None
        job.after_gap_minutes = gap_minutes if before is not None else 0
        uow.touch(job)
        uow.emit(
            "job.dependency_set",
            "job",
            job.id,
            {"ref": job.ref, "after": before.ref if before else None, "gap_minutes": job.after_gap_minutes},
        )
        return job


MAX_CREW = 6
MAX_VISIT_DAYS = 10


def split_into_visits(
    db: Database, actor: Actor, job_ref: str | int, days: int, expected_version: int | None = None
) -> list[Job]:
    """Spread the job over ``days`` consecutive days: visits 2..days are added (same site, skills and time
    on site each day). Planning visit 1 pins the next visits to the same technician on the following days."""
    actor.require_write("edit jobs")
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        job = uow.job_for_update(find_job(s, job_ref).id, expected_version)
        record = f"job {job.ref}"
        if not 2 <= days <= MAX_VISIT_DAYS:
            raise InvalidInput(f"must be 2-{MAX_VISIT_DAYS} days", record=record, field="days")
        if job.visit_number != 1 or s.scalar(select(Job.id).where(Job.visit_of_id == job.id).limit(1)):
            raise InvalidInput("is already part of a multi-day job", record=record, field="days")
        visits = [job]
        for number in range(2, days + 1):
            visit = Job(
                ref=f"{job.ref}-{number}",
                type=job.type,
                status=JobStatus.NEW,
                priority=job.priority,
                summary=f"{job.summary} (day {number}/{days})",
                description=job.description,
                customer_id=job.customer_id,
                site_id=job.site_id,
                asset_id=job.asset_id,
                contract_id=job.contract_id,
                branch_id=job.branch_id,
                duration_minutes=job.duration_minutes,
                crew_size=job.crew_size,
                visit_of_id=job.id,
                visit_number=number,
                updated_by=uow.actor.login,
            )
            visit.required_skills = [JobSkill(skill=js.skill, min_level=js.min_level) for js in job.required_skills]
            s.add(visit)
            s.flush()
            uow.emit("job.created", "job", visit.id, job_payload(visit))
            visits.append(visit)
        job.summary = f"{job.summary} (day 1/{days})"
        uow.touch(job)
        return visits


def pin_next_visits(uow: UnitOfWork, job: Job) -> list[str]:
    """After visit 1 is placed: each next visit on the same technician, pinned at their shift start on the
    following day (or taken off when visit 1 has no technician). Returns warnings for visits left open."""
    s = uow.session
    warnings: list[str] = []
    if job.visit_number != 1:
        return warnings
    branch = s.get(Branch, job.branch_id)
    assert branch is not None
    tech = s.get(Technician, job.technician_id) if job.technician_id is not None else None
    later = s.scalars(select(Job).where(Job.visit_of_id == job.id).order_by(Job.visit_number)).all()
    for visit in later:
        if visit.status not in NOT_STARTED_STATUSES:
            continue
        if tech is None or job.planned_start is None:
            if visit.technician_id is not None:
                unassign_in(uow, visit.ref)
            continue
        day = local_date(job.planned_start, branch.timezone) + timedelta(days=visit.visit_number - 1)
        shift = shift_on(s, tech, day, branch.timezone)
        if shift is None:
            warnings.append(f"{visit.ref}: {tech.code} does not work on {day.isoformat()}; plan it by hand")
            if visit.technician_id is not None:
                unassign_in(uow, visit.ref)
            continue
        try:
            with s.begin_nested():
                assign_in(uow, visit.ref, tech.id, shift.start, pinned=True)
        except DispatchError as exc:
            warnings.append(f"{visit.ref}: {exc}")
    return warnings


def set_crew_size(
    db: Database, actor: Actor, job_ref: str | int, size: int, expected_version: int | None = None
) -> Job:
    """The visit needs ``size`` technicians starting together; the required skills are held between them
    (skill k, in code order, by seat k mod size). Changing the size clears the crew seats planned so far."""
    actor.require_write("edit jobs")
    with UnitOfWork(db, actor) as uow:
        job = uow.job_for_update(find_job(uow.session, job_ref).id, expected_version)
        if not 1 <= size <= MAX_CREW:
            raise InvalidInput(f"must be 1-{MAX_CREW} technicians", record=f"job {job.ref}", field="crew_size")
        if size != job.crew_size:
            uow.session.execute(delete(JobCrewMember).where(JobCrewMember.job_id == job.id))
        previous, job.crew_size = job.crew_size, size
        uow.touch(job)
        uow.emit("job.crew_set", "job", job.id, {"ref": job.ref, "crew_size": size, "previous": previous})
        return job


def schedule_warnings(job: Job, now: datetime) -> list[str]:
    """What is worth a second look in a job's times, though allowed: a past window, an SLA outside the window,
    a planned visit the window no longer holds."""
    warnings: list[str] = []
    if job.window_end is not None and job.window_end <= now:
        warnings.append("its time window is already over")
    elif job.window_start is not None and job.window_start < now:
        warnings.append("its time window has already begun")
    if job.sla_due is not None and job.window_start is not None and job.sla_due < job.window_start:
        warnings.append("its SLA falls due before its time window opens")
    elif job.sla_due is not None and job.window_end is not None and job.sla_due < job.window_end:
        warnings.append("its SLA falls due before its time window closes")
    planned = (job.planned_start, job.planned_end)
    if (
        planned[0] is not None
        and planned[1] is not None
        and ((job.window_start and planned[0] < job.window_start) or (job.window_end and planned[1] > job.window_end))
    ):
        warnings.append("its planned visit is outside the time window: re-plan or move it")
    return warnings


def update_job(
    db: Database,
    actor: Actor,
    job_ref: str | int,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> Job:
    """Change a job's description fields; planning fields move only through assign/unassign."""
    actor.require_write("edit jobs")
    editable = {
        "summary",
        "description",
        "priority",
        "duration_minutes",
        "window_start",
        "window_end",
        "sla_due",
        "custom_fields",
        "parts_needed",
    }
    unknown = set(changes) - editable - {"skills"}
    with UnitOfWork(db, actor) as uow:
        job = uow.job_for_update(find_job(uow.session, job_ref).id, expected_version)
        record = f"job {job.ref}"
        if unknown:
            raise InvalidInput(
                f"cannot be edited here (editable: {', '.join(sorted(editable))})",
                record=record,
                field=sorted(unknown)[0],
            )
        if job.status not in OPEN_STATUSES:
            raise IllegalTransition(f"{record} is {job.status.value}: a closed job is history and is not edited")
        draft = JobDraft(
            type=job.type,
            site_code="",
            summary=changes.get("summary", job.summary),
            duration_minutes=changes.get("duration_minutes", job.duration_minutes),
            priority=changes.get("priority", job.priority),
            window_start=changes.get("window_start", job.window_start),
            window_end=changes.get("window_end", job.window_end),
        )
        _check_draft(draft, record)
        for name, value in changes.items():
            if name == "custom_fields":
                job.custom_fields = merge_custom_fields("jobs", job.custom_fields or {}, value, record)
            elif name == "parts_needed":
                job.parts_needed = checked_parts(uow.session, value, record)
            elif name == "skills":
                skills = skills_by_code(uow.session, list(value), record)
                job.required_skills = [JobSkill(skill=skills[c], min_level=lvl) for c, lvl in value.items()]
            else:
                setattr(job, name, value)
        if job.planned_start is not None and "duration_minutes" in changes:
            job.planned_end = job.planned_start + timedelta(minutes=job.duration_minutes)
        uow.touch(job)
        uow.emit("job.updated", "job", job.id, {"ref": job.ref, "changes": changes})
        return job


def add_note(
    db: Database,
    actor: Actor,
    job_ref: str | int,
    body: str,
    *,
    author_kind: NoteAuthorKind | None = None,
    at: datetime | None = None,
) -> JobNote:
    if not body.strip():
        raise InvalidInput("a note needs some text", record=f"job {job_ref}", field="body")
    with UnitOfWork(db, actor) as uow:
        job = find_job(uow.session, job_ref)
        if actor.role is Role.TECHNICIAN:
            actor.require_field(job.technician_id or -1, f"add notes to job {job.ref}")
        else:
            actor.require_write("add notes")
        kind = author_kind or (
            NoteAuthorKind.TECHNICIAN if actor.role is Role.TECHNICIAN else NoteAuthorKind.DISPATCHER
        )
        note = JobNote(
            job_id=job.id, author=actor.login, author_kind=kind, body=body.strip(), created_at=at or utcnow()
        )
        uow.session.add(note)
        uow.session.flush()
        uow.emit(
            "job.note_added",
            "job",
            job.id,
            {
                "ref": job.ref,
                "note_id": note.id,
                "author": actor.login,
                "author_kind": kind,
                "body": note.body,
            },
        )
        return note
