"""Read models for the console: plain rows for the technician board, the job queue and a job's detail.

Each function runs a handful of set-based queries (never one per row), so a branch of 500
technicians and 5,000 jobs loads in well under a second; passing ids re-reads only those rows,
which is how live views apply the event feed as keyed updates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from data.availability import Shift, local_day_bounds
from data.db import Database
from data.errors import NotFound
from data.feed import EventRecord, history
from data.models.customers import Asset, Contact, Contract, Customer, Site
from data.models.jobs import (
    CLOSED_STATUSES,
    NOT_STARTED_STATUSES,
    OPEN_STATUSES,
    UNDERWAY_STATUSES,
    VISITED_STATUSES,
    Job,
    JobNote,
    JobSkill,
    JobStatus,
)
from data.models.org import Branch
from data.models.workforce import (
    Skill,
    Technician,
    TechnicianSkill,
    TechnicianStatus,
)
from data.queries.links import job_links
from data.queries.roster import AbsenceSpan, absences_on, roster_on

UTC = ZoneInfo("UTC")
AT_RISK_WITHIN = timedelta(hours=2)
"""A job whose SLA falls due within this long, and is not yet done, is shown as at risk."""


@dataclass(frozen=True)
class BranchInfo:
    id: int
    code: str
    name: str
    timezone: str
    depot_lat: float
    depot_lon: float
    service_area: dict[str, Any] | None


@dataclass(frozen=True)
class PlannedJob:
    """A job as the board, map and calendar draw it."""

    id: int
    ref: str
    status: str
    priority: int
    summary: str
    technician_id: int | None
    planned_start: datetime | None
    planned_end: datetime | None
    pinned: bool
    window_start: datetime | None
    window_end: datetime | None
    sla_due: datetime | None
    duration_minutes: int
    site_lat: float
    site_lon: float
    site_name: str
    version: int


@dataclass(frozen=True)
class TechnicianRow:
    """One line of the technician board."""

    id: int
    code: str
    name: str
    status: str
    current_job: str | None
    next_job: str | None
    next_start: datetime | None
    late_minutes: int | None
    """Minutes behind plan now (0 = on time); None when nothing is planned."""
    load_minutes: int
    capacity_minutes: int
    skills: tuple[str, ...]
    """Skill codes with levels, e.g. ("electrical1", "hvac3")."""
    absent: bool
    shift: Shift | None

    @property
    def load_ratio(self) -> float:
        return self.load_minutes / self.capacity_minutes if self.capacity_minutes else 0.0


@dataclass(frozen=True)
class JobRow:
    """One line of the job queue."""

    id: int
    ref: str
    status: str
    priority: int
    summary: str
    customer: str
    site: str
    window_start: datetime | None
    window_end: datetime | None
    sla_due: datetime | None
    skills: tuple[str, ...]
    technician: str | None
    planned_start: datetime | None
    created_at: datetime
    risk: str
    """"late", "at risk" or ""."""
    version: int

    def risk_changes_at(self, now: datetime) -> datetime | None:
        """The next instant after `now` at which the clock alone changes `risk` (at risk, then late)."""
        if self.sla_due is None:
            return None
        later = [t for t in (self.sla_due - AT_RISK_WITHIN, self.sla_due) if t > now]
        return min(later) if later else None

    def urgency(self) -> tuple[int, int, datetime]:
        """Sort key: late, then at risk, then unassigned, then the rest; priority and SLA within."""
        rank = 0 if self.risk == "late" else 1 if self.risk == "at risk" else 2 if self.technician is None else 3
        far = datetime.max.replace(tzinfo=UTC)
        return (rank, self.priority, self.sla_due or far)


@dataclass(frozen=True)
class NoteLine:
    author: str
    author_kind: str
    created_at: datetime
    body: str


@dataclass(frozen=True)
class PastVisit:
    ref: str
    status: str
    summary: str
    technician: str | None
    finished_at: datetime | None
    notes: tuple[NoteLine, ...]


@dataclass(frozen=True)
class JobDetail:
    """Everything a dispatcher needs before a phone call about one job."""

    id: int
    ref: str
    type: str
    status: str
    priority: int
    summary: str
    description: str | None
    duration_minutes: int
    window_start: datetime | None
    window_end: datetime | None
    sla_due: datetime | None
    risk: str
    skills: tuple[str, ...]
    technician: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    pinned: bool
    version: int
    updated_by: str
    updated_at: datetime
    customer_code: str
    customer_name: str
    customer_phone: str | None
    customer_email: str | None
    customer_preferences: dict[str, str]
    customer_notes: str | None
    contact: str | None
    site_code: str
    site_name: str
    site_address: str
    access_notes: str | None
    asset: str | None
    warranty: str | None
    contract: str | None
    notes: tuple[NoteLine, ...]
    last_visits: tuple[PastVisit, ...]
    history: tuple[EventRecord, ...] = field(default=())
    links: tuple[str, ...] = ()
    """Dependency, crew and multi-day facts, e.g. "after J000120 + 90 min", "crew of 2: T001, T004"."""
    custom_fields: tuple[tuple[str, str], ...] = ()
    """The company's own fields of the job, customer and site (``data.custom_fields``), as (name, value)."""


def branch_info(db: Database, code: str | None = None) -> BranchInfo:
    """The branch with this code, or the first branch when code is None."""
    with db.read() as s:
        stmt = select(Branch).order_by(Branch.id)
        if code:
            stmt = stmt.where(Branch.code == code)
        b = s.scalars(stmt).first()
        if b is None:
            raise NotFound(f"branch {code} does not exist" if code else "the database has no branch yet")
        return _branch(b)


def branches(db: Database) -> list[BranchInfo]:
    with db.read() as s:
        return [_branch(b) for b in s.scalars(select(Branch).order_by(Branch.code))]


def _branch(b: Branch) -> BranchInfo:
    return BranchInfo(b.id, b.code, b.name, b.timezone, b.depot_lat, b.depot_lon, b.service_area)


@dataclass(frozen=True)
class _Tech:
    """A technician's columns and skills, read without ORM objects (hundreds of rows per refresh)."""

    id: int
    code: str
    name: str
    status: TechnicianStatus
    home_lat: float
    home_lon: float
    last_lat: float | None
    last_lon: float | None
    last_seen_at: datetime | None
    skills: dict[str, int]


def _technicians(s: Session, branch_id: int, ids: Collection[int] | None) -> list[_Tech]:
    where = [Technician.branch_id == branch_id, Technician.active.is_(True)]
    if ids is not None:
        where.append(Technician.id.in_(list(ids)))
    skills: dict[int, dict[str, int]] = defaultdict(dict)
    for tech_id, code, level in s.execute(
        select(TechnicianSkill.technician_id, Skill.code, TechnicianSkill.level)
        .join(Skill, Skill.id == TechnicianSkill.skill_id)
        .join(Technician, Technician.id == TechnicianSkill.technician_id)
        .where(*where)
    ):
        skills[tech_id][code] = level
    rows = s.execute(
        select(
            Technician.id,
            Technician.code,
            Technician.name,
            Technician.status,
            Technician.home_lat,
            Technician.home_lon,
            Technician.last_lat,
            Technician.last_lon,
            Technician.last_seen_at,
        )
        .where(*where)
        .order_by(Technician.code)
    )
    return [_Tech(*row, skills=skills.get(row[0], {})) for row in rows]


PLANNED_COLUMNS = (
    Job.id,
    Job.ref,
    Job.status,
    Job.priority,
    Job.summary,
    Job.technician_id,
    Job.planned_start,
    Job.planned_end,
    Job.pinned,
    Job.window_start,
    Job.window_end,
    Job.sla_due,
    Job.duration_minutes,
    Site.lat.label("site_lat"),
    Site.lon.label("site_lon"),
    Site.name.label("site_name"),
    Job.version,
)


def _planned_jobs(s: Session, tech_ids: list[int], start: datetime, end: datetime) -> list[Any]:
    """Rows (attribute access like a Job) of the technicians' jobs overlapping [start, end)."""
    stmt = (
        select(*PLANNED_COLUMNS)
        .join(Site, Site.id == Job.site_id)
        .where(Job.technician_id.in_(tech_ids), *_live_between(start, end))
        .order_by(Job.planned_start)
    )
    return list(s.execute(stmt))


def _live_between(start: datetime, end: datetime) -> tuple[Any, ...]:
    """Planned work overlapping [start, end), not cancelled."""
    return (Job.planned_start < end, Job.planned_end > start, Job.status != JobStatus.CANCELLED)


def _planned(j: Any) -> PlannedJob:
    return PlannedJob(
        j.id,
        j.ref,
        j.status.value,
        j.priority,
        j.summary,
        j.technician_id,
        j.planned_start,
        j.planned_end,
        j.pinned,
        j.window_start,
        j.window_end,
        j.sla_due,
        j.duration_minutes,
        j.site_lat,
        j.site_lon,
        j.site_name,
        j.version,
    )


def _late_minutes(jobs: list[Any], now: datetime) -> int | None:
    """How far behind plan the technician is now: the worst overdue start or finish among their jobs."""
    if not jobs:
        return None
    worst = 0
    for j in jobs:
        if j.status in CLOSED_STATUSES or j.planned_start is None or j.planned_end is None:
            continue
        if j.status in UNDERWAY_STATUSES:
            if j.status is not JobStatus.EN_ROUTE and now > j.planned_end:
                worst = max(worst, int((now - j.planned_end).total_seconds() // 60))
            elif j.status is JobStatus.EN_ROUTE and now > j.planned_start:
                worst = max(worst, int((now - j.planned_start).total_seconds() // 60))
        elif now > j.planned_start:
            worst = max(worst, int((now - j.planned_start).total_seconds() // 60))
    return worst


def technician_board(
    db: Database, branch_id: int, day: date, now: datetime, ids: Collection[int] | None = None
) -> list[TechnicianRow]:
    """One row per active technician of the branch (only `ids` when given), ordered by code."""
    with db.read() as s:
        branch = s.get(Branch, branch_id)
        if branch is None:
            raise NotFound(f"branch {branch_id} does not exist")
        techs = _technicians(s, branch_id, ids)
        tech_ids = [t.id for t in techs]
        start, end = local_day_bounds(day, branch.timezone)
        roster = roster_on(s, tech_ids, day, branch.timezone)
        by_tech: dict[int, list[Job]] = defaultdict(list)
        for j in _planned_jobs(s, tech_ids, start, end):
            assert j.technician_id is not None
            by_tech[j.technician_id].append(j)
        rows = []
        for t in techs:
            jobs = by_tech.get(t.id, [])
            current = next((j for j in jobs if j.status in UNDERWAY_STATUSES), None)
            upcoming = [j for j in jobs if j.status in NOT_STARTED_STATUSES and j is not current]
            nxt = upcoming[0] if upcoming else None
            day_of = roster[t.id]
            absent_now = any(a.starts_at <= now < a.ends_at for a in day_of.absences)
            shift = day_of.shift
            if absent_now:  # an absent technician is doing nothing now and has nothing next; their jobs need a new one
                current = nxt = None
            rows.append(
                TechnicianRow(
                    id=t.id,
                    code=t.code,
                    name=t.name,
                    status=t.status.value,
                    current_job=current.ref if current else None,
                    next_job=nxt.ref if nxt else None,
                    next_start=nxt.planned_start if nxt else None,
                    late_minutes=None if absent_now else _late_minutes(jobs, now),
                    load_minutes=sum(j.duration_minutes for j in jobs),
                    capacity_minutes=shift.capacity_minutes if shift else 0,
                    skills=tuple(sorted(f"{code}{lvl}" for code, lvl in t.skills.items())),
                    absent=absent_now or (bool(day_of.absences) and shift is None),
                    shift=shift,
                )
            )
        return rows


def sla_risk(j: Any, now: datetime) -> str:
    """The one rule of SLA risk: "late" (due, or planned to end after it), "at risk" (due within the lead), or ""."""
    if j.sla_due is None or j.status in CLOSED_STATUSES:
        return ""
    if j.sla_due <= now or (j.planned_end is not None and j.planned_end > j.sla_due):
        return "late"
    if j.sla_due - now <= AT_RISK_WITHIN:
        return "at risk"
    return ""


def job_queue(
    db: Database, branch_id: int, day: date, now: datetime, ids: Collection[int] | None = None
) -> list[JobRow]:
    """Open jobs of the branch: all unassigned ones plus those planned on the day; most urgent first.

    With `ids`, only those jobs, and only while they still belong in the queue (a job missing from
    the answer has left the queue: completed, cancelled, moved to another day).
    """
    with db.read() as s:
        branch = s.get(Branch, branch_id)
        if branch is None:
            raise NotFound(f"branch {branch_id} does not exist")
        start, end = local_day_bounds(day, branch.timezone)
        where = [
            Job.branch_id == branch_id,
            Job.status.in_(list(OPEN_STATUSES)),
            or_(Job.technician_id.is_(None), (Job.planned_start < end) & (Job.planned_end > start)),
        ]
        if ids is not None:
            where.append(Job.id.in_(list(ids)))
        skills: dict[int, list[str]] = defaultdict(list)
        for job_id, code, level in s.execute(
            select(JobSkill.job_id, Skill.code, JobSkill.min_level)
            .join(Skill, Skill.id == JobSkill.skill_id)
            .join(Job, Job.id == JobSkill.job_id)
            .where(*where)
        ):
            skills[job_id].append(f"{code}{level}")
        stmt = (
            select(
                Job.id,
                Job.ref,
                Job.status,
                Job.priority,
                Job.summary,
                Customer.name.label("customer"),
                Site.name.label("site"),
                Job.window_start,
                Job.window_end,
                Job.sla_due,
                Technician.code.label("technician"),
                Job.planned_start,
                Job.planned_end,
                Job.created_at,
                Job.version,
            )
            .join(Customer, Customer.id == Job.customer_id)
            .join(Site, Site.id == Job.site_id)
            .outerjoin(Technician, Technician.id == Job.technician_id)
            .where(*where)
        )
        rows = [
            JobRow(
                id=j.id,
                ref=j.ref,
                status=j.status.value,
                priority=j.priority,
                summary=j.summary,
                customer=j.customer,
                site=j.site,
                window_start=j.window_start,
                window_end=j.window_end,
                sla_due=j.sla_due,
                skills=tuple(sorted(skills.get(j.id, []))),
                technician=j.technician,
                planned_start=j.planned_start,
                created_at=j.created_at,
                risk=sla_risk(j, now),
                version=j.version,
            )
            for j in s.execute(stmt)
        ]
        rows.sort(key=lambda r: (*r.urgency(), r.ref))
        return rows


def _notes(notes: Iterable[JobNote]) -> tuple[NoteLine, ...]:
    return tuple(NoteLine(n.author, n.author_kind.value, n.created_at, n.body) for n in notes)


def contact_line(s: Session, customer_id: int) -> str | None:
    """The customer's primary (else first) contact as one line: name · role · phone · email."""
    contact = s.scalars(
        select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.primary.desc(), Contact.id)
    ).first()
    if contact is None:
        return None
    return " · ".join(x for x in (contact.name, contact.role, contact.phone, contact.email) if x)


def past_visits(s: Session, j: Job, visits: int = 5) -> tuple[PastVisit, ...]:
    """The last visits at the job's site (newest first), with who went and their notes."""
    past_jobs = list(
        s.scalars(
            select(Job)
            .where(Job.site_id == j.site_id, Job.id != j.id, Job.status.in_(VISITED_STATUSES))
            .order_by(Job.actual_end.desc().nulls_last(), Job.id.desc())
            .limit(visits)
        )
    )
    past_techs = {
        t.id: t.code
        for t in s.scalars(
            select(Technician).where(Technician.id.in_([p.technician_id for p in past_jobs if p.technician_id]))
        )
    }
    past_notes: dict[int, list[JobNote]] = defaultdict(list)
    for n in s.scalars(
        select(JobNote).where(JobNote.job_id.in_([p.id for p in past_jobs])).order_by(JobNote.created_at)
    ):
        past_notes[n.job_id].append(n)
    return tuple(
        PastVisit(
            p.ref,
            p.status.value,
            p.summary,
            past_techs.get(p.technician_id) if p.technician_id else None,
            p.actual_end,
            _notes(past_notes.get(p.id, [])),
        )
        for p in past_jobs
    )


def job_detail(db: Database, ref: str, now: datetime, visits: int = 5) -> JobDetail:
    """The job with its customer, site, asset, contract, notes, past visits at the site and history."""
    with db.read() as s:
        from data.services.jobs import find_job

        j = find_job(s, ref)
        customer = s.get(Customer, j.customer_id)
        site = s.get(Site, j.site_id)
        assert customer is not None and site is not None
        tech = s.get(Technician, j.technician_id) if j.technician_id else None
        asset_text = warranty = None
        if j.asset_id is not None:
            asset = s.get(Asset, j.asset_id)
            if asset is not None:
                asset_text = f"{asset.kind} {asset.model} (serial {asset.serial})"
                today = now.date()
                if asset.warranty_end is None:
                    warranty = "no warranty recorded"
                elif asset.under_warranty(today):
                    warranty = f"under warranty until {asset.warranty_end.isoformat()}"
                else:
                    warranty = f"warranty ended {asset.warranty_end.isoformat()}"
        contract_text = None
        if j.contract_id is not None:
            k = s.get(Contract, j.contract_id)
            if k is not None:
                contract_text = (
                    f"{k.code} {k.name}: {k.sla_response_hours} h response, covers "
                    f"{', '.join(k.covered_job_types) or 'nothing'}; valid {k.valid_from}..{k.valid_to}"
                )
        notes = s.scalars(select(JobNote).where(JobNote.job_id == j.id).order_by(JobNote.created_at, JobNote.id))
        detail = JobDetail(
            id=j.id,
            ref=j.ref,
            type=j.type.value,
            status=j.status.value,
            priority=j.priority,
            summary=j.summary,
            description=j.description,
            duration_minutes=j.duration_minutes,
            window_start=j.window_start,
            window_end=j.window_end,
            sla_due=j.sla_due,
            risk=sla_risk(j, now),
            skills=tuple(sorted(f"{c}{lvl}" for c, lvl in j.skill_requirements().items())),
            technician=f"{tech.code} {tech.name}" if tech else None,
            planned_start=j.planned_start,
            planned_end=j.planned_end,
            pinned=j.pinned,
            version=j.version,
            updated_by=j.updated_by,
            updated_at=j.updated_at,
            customer_code=customer.code,
            customer_name=customer.name,
            customer_phone=customer.phone,
            customer_email=customer.email,
            customer_preferences=dict(customer.preferences or {}),
            customer_notes=customer.notes,
            contact=contact_line(s, customer.id),
            site_code=site.code,
            site_name=site.name,
            site_address=", ".join(x for x in (site.address, site.postcode, site.city) if x),
            access_notes=site.access_notes,
            asset=asset_text,
            warranty=warranty,
            contract=contract_text,
            notes=_notes(notes),
            custom_fields=tuple(
                (name, str(value))
                for values in (j.custom_fields, customer.custom_fields, site.custom_fields)
                for name, value in sorted((values or {}).items())
            ),
            links=job_links(s, j),
            last_visits=past_visits(s, j, visits),
        )
    return _with_history(db, detail)


def _with_history(db: Database, detail: JobDetail) -> JobDetail:
    from dataclasses import replace

    return replace(detail, history=tuple(history(db, "job", str(detail.id))))


@dataclass(frozen=True)
class TechnicianChoice:
    """One line of the assign picker."""

    code: str
    name: str
    skills: str
    """Skill codes with levels, e.g. "electrical1 hvac3"."""
    unavailable: str
    """Why this technician cannot take the job now ("lacks skills", "sick until 18:00"); "" when they can."""

    @property
    def qualified(self) -> bool:
        return not self.unavailable


def technician_choices(
    db: Database, branch_id: int, job_ref: str, now: datetime | None = None
) -> list[TechnicianChoice]:
    """Technicians for the assign picker, those who can take the job first: the skills it needs and,
    at `now`, not absent. The order only guides; the assign service decides and explains refusals."""
    with db.read() as s:
        from data.services.jobs import find_job

        job = find_job(s, job_ref)
        need = job.skill_requirements()
        branch = s.get(Branch, branch_id)
        if branch is None:
            raise NotFound(f"branch {branch_id} does not exist")
        techs = _technicians(s, branch_id, None)
        absent: dict[int, AbsenceSpan] = {}
        if now is not None:
            for tech_id, spans in absences_on(s, [t.id for t in techs], now, now + timedelta(seconds=1)).items():
                absent[tech_id] = spans[0]
        zone = ZoneInfo(branch.timezone)
        out = []
        for t in techs:
            have = t.skills
            why = ""
            if not all(have.get(code, 0) >= lvl for code, lvl in need.items()):
                why = "lacks skills"
            if t.id in absent:
                span = absent[t.id]
                why = f"{span.kind} until {span.ends_at.astimezone(zone):%H:%M}" + (f", {why}" if why else "")
            skills = " ".join(sorted(f"{c}{lvl}" for c, lvl in have.items()))
            out.append(TechnicianChoice(t.code, t.name, skills, why))
        out.sort(key=lambda c: (not c.qualified, c.code))
        return out
