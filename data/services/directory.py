"""Directory services: create or update technicians, customers and sites by code (what imports and syncs call).

Each upsert compares the incoming values with what is stored and reports "created", "updated" or
"unchanged"; only real changes are written and logged, so re-sending the same data is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from data.errors import IllegalTransition, InvalidInput
from data.models.customers import Customer, Site
from data.models.jobs import Job, JobSkill, JobStatus
from data.models.org import Branch
from data.models.stock import StockLocation, StockLocationKind
from data.models.workforce import ShiftException, ShiftPattern, Technician, TechnicianSkill
from data.services.jobs import find_technician, skills_by_code
from data.services.technicians import check_coordinates
from data.uow import UnitOfWork

Outcome = str  # "created" | "updated" | "unchanged"


@dataclass
class TechnicianRecord:
    code: str
    name: str
    branch: str
    home_lat: float
    home_lon: float
    skills: dict[str, int] = field(default_factory=dict)
    # (weekday Monday=0, start, end, break minutes)
    shifts: list[tuple[int, time, time, int]] = field(default_factory=list)
    # (day, start, end); None times mean a day off
    exceptions: list[tuple[date, time | None, time | None]] = field(default_factory=list)
    email: str | None = None
    phone: str | None = None
    hourly_cost: Decimal = Decimal("0.00")
    max_daily_minutes: int = 480
    active: bool = True


@dataclass
class CustomerRecord:
    code: str
    name: str
    email: str | None = None
    phone: str | None = None
    payment_terms_days: int = 30
    notes: str | None = None


@dataclass
class SiteRecord:
    code: str
    customer_code: str
    name: str
    branch: str
    address: str
    lat: float
    lon: float
    postcode: str | None = None
    city: str | None = None
    access_notes: str | None = None


def _branch(uow: UnitOfWork, code: str, record: str) -> Branch:
    branch = uow.session.scalar(select(Branch).where(Branch.code == code))
    if branch is None:
        known = ", ".join(uow.session.scalars(select(Branch.code).order_by(Branch.code))) or "none"
        raise InvalidInput(f"unknown branch '{code}' (known: {known})", record=record, field="branch")
    return branch


def _assign(obj: Any, values: dict[str, Any], changes: list[str]) -> None:
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changes.append(name)


def upsert_technician_in(uow: UnitOfWork, rec: TechnicianRecord) -> Outcome:
    uow.actor.require_write("create or change technicians")
    record = f"technician {rec.code}"
    check_coordinates(rec.home_lat, rec.home_lon, record)
    s = uow.session
    branch = _branch(uow, rec.branch, record)
    skills = skills_by_code(s, list(rec.skills), record)
    tech = s.scalar(select(Technician).where(Technician.code == rec.code))
    created = tech is None
    if tech is None:
        tech = Technician(
            code=rec.code, name=rec.name, branch_id=branch.id, home_lat=rec.home_lat, home_lon=rec.home_lon
        )
        s.add(tech)
        s.flush()
    changes: list[str] = []
    _assign(
        tech,
        {
            "name": rec.name,
            "branch_id": branch.id,
            "email": rec.email,
            "phone": rec.phone,
            "home_lat": rec.home_lat,
            "home_lon": rec.home_lon,
            "hourly_cost": rec.hourly_cost,
            "max_daily_minutes": rec.max_daily_minutes,
            "active": rec.active,
        },
        changes,
    )
    if tech.skill_levels() != rec.skills:
        tech.skills = [TechnicianSkill(skill=skills[c], level=lvl) for c, lvl in rec.skills.items()]
        changes.append("skills")
    current_shifts = sorted((p.weekday, p.start, p.end, p.break_minutes) for p in tech.shifts)
    if current_shifts != sorted(rec.shifts):
        tech.shifts.clear()
        s.flush()
        tech.shifts.extend(
            ShiftPattern(weekday=d, start=a, end=b, break_minutes=brk) for d, a, b, brk in sorted(rec.shifts)
        )
        changes.append("shifts")
    existing = list(s.scalars(select(ShiftException).where(ShiftException.technician_id == tech.id)))
    if sorted((e.day, e.start, e.end) for e in existing) != sorted(rec.exceptions, key=lambda e: e[0]):
        for e in existing:
            s.delete(e)
        s.flush()
        s.add_all(ShiftException(technician_id=tech.id, day=d, start=a, end=b) for d, a, b in rec.exceptions)
        changes.append("exceptions")
    if created:
        van_code = f"VAN-{rec.code}"
        if s.scalar(select(StockLocation).where(StockLocation.code == van_code)) is None:
            s.add(StockLocation(code=van_code, kind=StockLocationKind.VAN, branch_id=branch.id, technician_id=tech.id))
        s.flush()
        uow.emit("technician.created", "technician", tech.id, {"code": tech.code, "name": tech.name})
        return "created"
    if not changes:
        return "unchanged"
    s.flush()
    uow.emit("technician.updated", "technician", tech.id, {"code": tech.code, "changed": changes})
    return "updated"


def upsert_customer_in(uow: UnitOfWork, rec: CustomerRecord) -> Outcome:
    uow.actor.require_write("create or change customers")
    s = uow.session
    customer = s.scalar(select(Customer).where(Customer.code == rec.code))
    values = {
        "name": rec.name,
        "email": rec.email,
        "phone": rec.phone,
        "payment_terms_days": rec.payment_terms_days,
        "notes": rec.notes,
    }
    if customer is None:
        customer = Customer(code=rec.code, **values)
        s.add(customer)
        s.flush()
        uow.emit("customer.created", "customer", customer.id, {"code": rec.code, "name": rec.name})
        return "created"
    changes: list[str] = []
    _assign(customer, values, changes)
    if not changes:
        return "unchanged"
    s.flush()
    uow.emit("customer.updated", "customer", customer.id, {"code": rec.code, "changed": changes})
    return "updated"


def upsert_site_in(uow: UnitOfWork, rec: SiteRecord) -> Outcome:
    uow.actor.require_write("create or change sites")
    record = f"site {rec.code}"
    check_coordinates(rec.lat, rec.lon, record)
    s = uow.session
    customer = s.scalar(select(Customer).where(Customer.code == rec.customer_code))
    if customer is None:
        raise InvalidInput(f"unknown customer '{rec.customer_code}'", record=record, field="customer_code")
    branch = _branch(uow, rec.branch, record)
    site = s.scalar(select(Site).where(Site.code == rec.code))
    values = {
        "name": rec.name,
        "branch_id": branch.id,
        "address": rec.address,
        "postcode": rec.postcode,
        "city": rec.city,
        "lat": rec.lat,
        "lon": rec.lon,
        "access_notes": rec.access_notes,
    }
    if site is None:
        site = Site(code=rec.code, customer_id=customer.id, **values)
        s.add(site)
        s.flush()
        uow.emit("site.created", "site", site.id, {"code": rec.code, "customer": rec.customer_code})
        return "created"
    if site.customer_id != customer.id:
        raise InvalidInput(
            f"site {rec.code} belongs to another customer; a site cannot move between customers",
            record=record,
            field="customer_code",
        )
    changes: list[str] = []
    _assign(site, values, changes)
    if not changes:
        return "unchanged"
    s.flush()
    uow.emit("site.updated", "site", site.id, {"code": rec.code, "changed": changes})
    return "updated"


def update_job_fields_in(uow: UnitOfWork, job: Job, values: dict[str, Any], skills: dict[str, int] | None) -> list[str]:
    """Change a job's descriptive fields (not its planning) inside a larger change; returns what changed."""
    uow.actor.require_write("edit jobs")
    record = f"job {job.ref}"
    job = uow.job_for_update(job.id)
    changes: list[str] = []
    _assign(job, values, changes)
    if job.window_start and job.window_end and job.window_end <= job.window_start:
        raise InvalidInput("must be after window_start", record=record, field="window_end")
    if skills is not None and job.skill_requirements() != skills:
        found = skills_by_code(uow.session, list(skills), record)
        job.required_skills = [JobSkill(skill=found[c], min_level=lvl) for c, lvl in skills.items()]
        changes.append("skills")
    if "duration_minutes" in changes and job.planned_start is not None:
        job.planned_end = job.planned_start + timedelta(minutes=job.duration_minutes)
    if changes:
        uow.touch(job)
        uow.emit("job.updated", "job", job.id, {"ref": job.ref, "changed": changes})
    return changes


RECORDED_STATUSES = frozenset(
    {
        JobStatus.EN_ROUTE,
        JobStatus.ON_SITE,
        JobStatus.PAUSED,
        JobStatus.COMPLETED,
        JobStatus.INCOMPLETE,
        JobStatus.CANCELLED,
    }
)


def record_job_state_in(
    uow: UnitOfWork,
    job: Job,
    status: JobStatus,
    technician: str | None,
    planned_start: datetime | None,
    pinned: bool,
) -> None:
    """Take over a job's state from another system as it stands (history, work already under way).

    Only for a job created in the same change: the state machine governs every later move.
    """
    uow.actor.require_write("import jobs")
    if status not in RECORDED_STATUSES:
        raise IllegalTransition(f"job {job.ref}: {status.value} is reached by assigning, not by recording")
    tech = find_technician(uow.session, technician) if technician else None
    if status is not JobStatus.CANCELLED and tech is None:
        raise InvalidInput(f"a {status.value} job needs its technician", record=f"job {job.ref}", field="technician")
    job.status = status
    job.technician_id = tech.id if tech else None
    job.planned_start = planned_start
    job.planned_end = planned_start + timedelta(minutes=job.duration_minutes) if planned_start else None
    job.pinned = pinned
    uow.touch(job)
    uow.emit(
        "job.imported",
        "job",
        job.id,
        {"ref": job.ref, "status": status, "technician_id": job.technician_id, "planned_start": planned_start},
    )
