"""Job read models for the command line and scripts: a day's job list and one job's full story."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from data.availability import local_day_bounds
from data.db import Database
from data.errors import InvalidInput, NotFound
from data.feed import history
from data.models.customers import Asset, Contract, Customer, Site
from data.models.jobs import OPEN_STATUSES, Job, JobStatus, JobType
from data.models.org import Branch
from data.models.workforce import Technician
from data.queries.console import contact_line, past_visits, sla_risk
from data.queries.links import job_links
from data.services.jobs import find_job


@dataclass(frozen=True)
class JobListRow:
    ref: str
    type: str
    status: str
    priority: int
    summary: str
    branch: str
    customer: str
    site: str
    address: str
    lat: float
    lon: float
    duration_minutes: int
    skills: dict[str, int]
    window_start: datetime | None
    window_end: datetime | None
    sla_due: datetime | None
    technician: str | None
    technician_name: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    pinned: bool
    version: int
    timezone: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NoteView:
    author: str
    author_kind: str
    created_at: datetime
    body: str


@dataclass(frozen=True)
class JobDetailView:
    job: JobListRow
    description: str | None
    customer_code: str
    site_code: str
    access_notes: str | None
    asset: dict[str, Any] | None
    contract: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    updated_by: str
    communicated: bool
    arrived_at: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None
    follow_up_of: str | None
    notes: list[NoteView] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    """Dependency, crew and multi-day facts (``data.queries.links``)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    """The company's own fields (``data.custom_fields``)."""
    customer_phone: str | None = None
    customer_email: str | None = None
    contact: str | None = None
    """The primary contact as one line (``data.queries.console.contact_line``), as the console shows it."""
    customer_preferences: dict[str, Any] = field(default_factory=dict)
    last_visits: list[dict[str, Any]] = field(default_factory=list)
    """The last visits at the site, newest first (``data.queries.console.past_visits``)."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return data


def parse_statuses(values: Sequence[str] | None) -> list[JobStatus]:
    result = []
    for value in values or ():
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                result.append(JobStatus(part))
            except ValueError:
                allowed = ", ".join(s.value for s in JobStatus)
                raise InvalidInput(
                    f"'{part}' is not a job status ({allowed})", record="filter", field="status"
                ) from None
    return result


@dataclass(frozen=True)
class JobFilter:
    """What the office narrows a job list by; every value is checked by `check_filter`, naming its option."""

    customer: str | None = None
    site: str | None = None
    priority: int | None = None
    job_type: str | None = None
    search: str | None = None
    at_risk: datetime | None = None  # now: only jobs whose SLA is late or due within the at-risk lead


def _filter_error(option: str, message: str) -> InvalidInput:
    return InvalidInput(message, record="filter", field=option)


def check_filter(session: Session, wanted: JobFilter) -> tuple[int | None, int | None, JobType | None]:
    """The customer id, site id and job type the filter names; unknown or out-of-range values name the option."""
    customer_id = site_id = None
    if wanted.customer is not None:
        customer_id = session.scalar(select(Customer.id).where(Customer.code == wanted.customer))
        if customer_id is None:
            raise _filter_error("--customer", f"no customer {wanted.customer!r} (see `dispatch customers list`)")
    if wanted.site is not None:
        site_id = session.scalar(select(Site.id).where(Site.code == wanted.site))
        if site_id is None:
            raise _filter_error("--site", f"no site {wanted.site!r} (see `dispatch sites list`)")
    if wanted.priority is not None and not 1 <= wanted.priority <= 4:
        raise _filter_error("--priority", f"{wanted.priority} is not a priority (1 emergency to 4)")
    job_type = None
    if wanted.job_type is not None:
        try:
            job_type = JobType(wanted.job_type)
        except ValueError:
            allowed = ", ".join(t.value for t in JobType)
            raise _filter_error("--type", f"{wanted.job_type!r} is not a job type ({allowed})") from None
    if wanted.search is not None and not wanted.search.strip():
        raise _filter_error("--search", "give some text to look for")
    return customer_id, site_id, job_type


def _narrowed(stmt: Any, session: Session, wanted: JobFilter) -> Any:
    customer_id, site_id, job_type = check_filter(session, wanted)
    if customer_id is not None:
        stmt = stmt.where(Job.customer_id == customer_id)
    if site_id is not None:
        stmt = stmt.where(Job.site_id == site_id)
    if wanted.priority is not None:
        stmt = stmt.where(Job.priority == wanted.priority)
    if job_type is not None:
        stmt = stmt.where(Job.type == job_type)
    if wanted.search is not None:
        like = f"%{wanted.search.strip().lower()}%"
        found = (
            select(Job.id)
            .join(Customer, Customer.id == Job.customer_id)
            .join(Site, Site.id == Job.site_id)
            .where(
                or_(
                    func.lower(Job.ref).like(like),
                    func.lower(Job.summary).like(like),
                    func.lower(func.coalesce(Job.description, "")).like(like),
                    func.lower(Customer.name).like(like),
                    func.lower(Customer.code).like(like),
                    func.lower(Site.code).like(like),
                    func.lower(Site.address).like(like),
                )
            )
        )
        stmt = stmt.where(Job.id.in_(found))
    if wanted.at_risk is not None:
        stmt = stmt.where(Job.sla_due.is_not(None), Job.status.in_(list(OPEN_STATUSES)))
    return stmt


def list_jobs(
    db: Database,
    day: date,
    *,
    day_to: date | None = None,
    branch: str | None = None,
    statuses: Sequence[JobStatus] | None = None,
    unassigned: bool = False,
    technician: str | None = None,
    wanted: JobFilter | None = None,
) -> list[JobListRow]:
    """The jobs of a local day (or the days `day`..`day_to`) in each branch's zone: planned then, or still
    unplanned and open; narrowed by `wanted`."""
    last = day_to or day
    if last < day:
        raise _filter_error("--to", f"{last.isoformat()} is before --from {day.isoformat()}")
    with db.read() as session:
        branches = list(session.scalars(select(Branch).order_by(Branch.code)))
        if branch is not None:
            branches = [b for b in branches if b.code == branch]
            if not branches:
                raise NotFound(f"branch {branch} does not exist")
        if not branches:
            return []
        per_branch = []
        for b in branches:
            start, end = local_day_bounds(day, b.timezone)[0], local_day_bounds(last, b.timezone)[1]
            planned = and_(Job.planned_start >= start, Job.planned_start < end)
            unplanned = and_(
                Job.planned_start.is_(None),
                or_(
                    and_(Job.window_start >= start, Job.window_start < end),
                    and_(Job.window_start.is_(None), Job.status.in_(list(OPEN_STATUSES))),
                ),
            )
            per_branch.append(and_(Job.branch_id == b.id, or_(planned, unplanned)))
        stmt = select(Job).where(or_(*per_branch))
        if statuses:
            stmt = stmt.where(Job.status.in_(list(statuses)))
        if unassigned:
            stmt = stmt.where(Job.technician_id.is_(None))
        if technician is not None:
            tech = session.scalar(select(Technician).where(Technician.code == technician))
            if tech is None:
                raise NotFound(f"technician {technician} does not exist")
            stmt = stmt.where(Job.technician_id == tech.id)
        if wanted is not None:
            stmt = _narrowed(stmt, session, wanted)
        jobs = list(session.scalars(stmt))
        if wanted is not None and wanted.at_risk is not None:
            now = wanted.at_risk
            jobs = [j for j in jobs if sla_risk(j, now)]
        rows = _rows(session, jobs)
    far = datetime.max.replace(tzinfo=None)
    return sorted(
        rows,
        key=lambda r: (
            r.technician is None,
            r.technician or "",
            r.planned_start.replace(tzinfo=None) if r.planned_start else far,
            r.priority,
            r.ref,
        ),
    )


def _rows(session: Session, jobs: list[Job]) -> list[JobListRow]:
    if not jobs:
        return []
    site_ids = {j.site_id for j in jobs}
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))}
    customers = {
        c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_({j.customer_id for j in jobs})))
    }
    tech_ids = {j.technician_id for j in jobs if j.technician_id is not None}
    techs = {t.id: t for t in session.scalars(select(Technician).where(Technician.id.in_(tech_ids)))}
    branches = {b.id: b for b in session.scalars(select(Branch))}
    rows = []
    for j in jobs:
        site, customer, branch = sites[j.site_id], customers[j.customer_id], branches[j.branch_id]
        tech = techs.get(j.technician_id) if j.technician_id is not None else None
        rows.append(
            JobListRow(
                ref=j.ref,
                type=j.type.value,
                status=j.status.value,
                priority=j.priority,
                summary=j.summary,
                branch=branch.code,
                customer=customer.name,
                site=site.code,
                address=f"{site.address}, {site.city}" if site.city else site.address,
                lat=site.lat,
                lon=site.lon,
                duration_minutes=j.duration_minutes,
                skills=j.skill_requirements(),
                window_start=j.window_start,
                window_end=j.window_end,
                sla_due=j.sla_due,
                technician=tech.code if tech else None,
                technician_name=tech.name if tech else None,
                planned_start=j.planned_start,
                planned_end=j.planned_end,
                pinned=j.pinned,
                version=j.version,
                timezone=branch.timezone,
            )
        )
    return rows


def job_detail(db: Database, ref: str) -> JobDetailView:
    """One job with its customer, site, asset, contract, notes and event history."""
    with db.read() as session:
        job = find_job(session, ref)
        row = _rows(session, [job])[0]
        customer = session.get(Customer, job.customer_id)
        site = session.get(Site, job.site_id)
        assert customer is not None and site is not None
        asset = session.get(Asset, job.asset_id) if job.asset_id else None
        contract = session.get(Contract, job.contract_id) if job.contract_id else None
        follow = session.get(Job, job.follow_up_of_id) if job.follow_up_of_id else None
        notes = [NoteView(n.author, n.author_kind.value, n.created_at, n.body) for n in job.notes]
        detail = JobDetailView(
            links=list(job_links(session, job)),
            job=row,
            description=job.description,
            customer_code=customer.code,
            site_code=site.code,
            access_notes=site.access_notes,
            asset=(
                {
                    "kind": asset.kind,
                    "model": asset.model,
                    "serial": asset.serial,
                    "install_date": asset.install_date,
                    "warranty_end": asset.warranty_end,
                    "under_warranty": asset.under_warranty(job.created_at.date()),
                }
                if asset
                else None
            ),
            contract=(
                {
                    "code": contract.code,
                    "name": contract.name,
                    "sla_response_hours": contract.sla_response_hours,
                    "valid_to": contract.valid_to,
                }
                if contract
                else None
            ),
            created_at=job.created_at,
            updated_at=job.updated_at,
            updated_by=job.updated_by,
            communicated=job.communicated,
            arrived_at=job.arrived_at,
            actual_start=job.actual_start,
            actual_end=job.actual_end,
            follow_up_of=follow.ref if follow else None,
            notes=notes,
            custom_fields=dict(job.custom_fields or {}),
            customer_phone=customer.phone,
            customer_email=customer.email,
            contact=contact_line(session, customer.id),
            customer_preferences=dict(customer.preferences or {}),
            last_visits=[asdict(v) for v in past_visits(session, job)],
        )
        job_id = job.id
    detail.events.extend(e.as_dict() for e in history(db, "job", str(job_id)))
    return detail
