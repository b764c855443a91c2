"""Directory services: create or update technicians, customers and sites by code (what imports and syncs call).

Each upsert compares the incoming values with what is stored and reports "created", "updated" or
"unchanged"; only real changes are written and logged, so re-sending the same data is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select, update

from data.errors import DispatchError, IllegalTransition, InvalidInput
from data.models.base import utcnow
from data.models.customers import Customer, Site
from data.models.jobs import Job, JobSkill, JobStatus
from data.models.org import Branch
from data.models.stock import StockLocation, StockLocationKind
from data.models.workforce import ShiftException, ShiftPattern, Skill, Technician, TechnicianSkill
from data.permissions import Permission
from data.services.jobs import find_technician, query_rows, skills_by_code
from data.services.stock import ensure_van
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
    uow.actor.require_write("create or change technicians", Permission.EDIT_MASTER_DATA)
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
        ensure_van(s, tech.id, tech.code, branch.id)
        uow.emit("technician.created", "technician", tech.id, {"code": tech.code, "name": tech.name})
        return "created"
    if not changes:
        return "unchanged"
    s.flush()
    uow.emit("technician.updated", "technician", tech.id, {"code": tech.code, "changed": changes})
    return "updated"


TECHNICIAN_FIELDS = ("name", "email", "phone", "home_lat", "home_lon", "hourly_cost", "max_daily_minutes", "active")


def upsert_technicians_in(uow: UnitOfWork, recs: Sequence[TechnicianRecord]) -> list[Outcome | DispatchError]:
    """Create or update many technicians by code; each record lands whole or not at all.

    New technicians (a large import is mostly those) cost a few statements per batch whatever its size:
    branches, skills and the codes already stored are read once, then technicians, skills, shifts,
    exceptions and vans are inserted in one executemany each. A stored technician goes through
    `upsert_technician_in` in its own savepoint. A refused record gets its error in the result.
    """
    uow.actor.require_write("create or change technicians", Permission.EDIT_MASTER_DATA)
    s = uow.session
    stored: set[str] = set()
    for chunk in _chunks(sorted({r.code for r in recs})):
        stored.update(s.scalars(select(Technician.code).where(Technician.code.in_(chunk))))
    branches: dict[str, int] = dict(query_rows(s, select(Branch.code, Branch.id)))
    skills: dict[str, int] = dict(query_rows(s, select(Skill.code, Skill.id)))
    results: list[Outcome | DispatchError] = []
    new: dict[str, tuple[TechnicianRecord, int]] = {}
    for rec in recs:
        if rec.code in stored:
            pending = len(uow.events)
            try:
                with s.begin_nested():
                    results.append(upsert_technician_in(uow, rec))
            except DispatchError as e:
                del uow.events[pending:]
                results.append(e)
            continue
        try:
            new[rec.code] = (rec, _new_technician_branch(rec, branches, skills, new))
            results.append("created")
        except InvalidInput as e:
            results.append(e)
    if new:
        _insert_technicians(uow, new, skills)
    return results


def _new_technician_branch(
    rec: TechnicianRecord, branches: dict[str, int], skills: dict[str, int], new: dict[str, Any]
) -> int:
    """What `upsert_technician_in` refuses in a new technician, said the same way; returns its branch id."""
    record = f"technician {rec.code}"
    if rec.code in new:
        raise InvalidInput(f"'{rec.code}' appears twice", record=record, field="code")
    check_coordinates(rec.home_lat, rec.home_lon, record)
    branch_id = branches.get(rec.branch)
    if branch_id is None:
        known = ", ".join(sorted(branches)) or "none"
        raise InvalidInput(f"unknown branch '{rec.branch}' (known: {known})", record=record, field="branch")
    for code in rec.skills:
        if code not in skills:
            raise InvalidInput(f"unknown skill '{code}'", record=record, field="skills")
    return branch_id


def _insert_technicians(uow: UnitOfWork, new: dict[str, tuple[TechnicianRecord, int]], skills: dict[str, int]) -> None:
    s = uow.session
    rows = [
        {"code": code, "branch_id": branch_id, **{n: getattr(rec, n) for n in TECHNICIAN_FIELDS}}
        for code, (rec, branch_id) in new.items()
    ]
    s.execute(insert(_table(Technician)), rows)
    ids: dict[str, int] = {}
    for chunk in _chunks(list(new)):  # one query, not RETURNING row by row
        ids.update(query_rows(s, select(Technician.code, Technician.id).where(Technician.code.in_(chunk))))
    skill_rows = [
        {"technician_id": ids[code], "skill_id": skills[skill], "level": level}
        for code, (rec, _b) in new.items()
        for skill, level in rec.skills.items()
    ]
    shift_rows = [
        {"technician_id": ids[code], "weekday": d, "start": a, "end": b, "break_minutes": brk}
        for code, (rec, _b) in new.items()
        for d, a, b, brk in sorted(rec.shifts)
    ]
    exception_rows = [
        {"technician_id": ids[code], "day": d, "start": a, "end": b}
        for code, (rec, _b) in new.items()
        for d, a, b in rec.exceptions
    ]
    for model, values in ((TechnicianSkill, skill_rows), (ShiftPattern, shift_rows), (ShiftException, exception_rows)):
        if values:
            s.execute(insert(_table(model)), values)
    vans = {f"VAN-{code}": code for code in new}
    for chunk in _chunks(list(vans)):  # a van another record already made is kept, as ensure_van does
        for taken in s.scalars(select(StockLocation.code).where(StockLocation.code.in_(chunk))):
            del vans[taken]
    if vans:
        s.execute(
            insert(_table(StockLocation)),
            [
                {"code": van, "kind": StockLocationKind.VAN, "branch_id": new[code][1], "technician_id": ids[code]}
                for van, code in vans.items()
            ],
        )
    for code, (rec, _b) in new.items():
        uow.emit("technician.created", "technician", ids[code], {"code": code, "name": rec.name})


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


CUSTOMER_FIELDS = ("name", "email", "phone", "payment_terms_days", "notes")
SITE_FIELDS = ("name", "branch_id", "address", "postcode", "city", "lat", "lon", "access_notes")


@dataclass
class _Stored:
    """A customer or site row as the database (or an earlier row of this batch) has it."""

    id: int | None
    values: dict[str, Any]
    customer_id: int | None = None
    customer_code: str | None = None


def upsert_customer_sites_in(
    uow: UnitOfWork, rows: Sequence[tuple[CustomerRecord, SiteRecord | None]]
) -> list[Outcome | InvalidInput]:
    """Create or update customers and their sites by code, many at once; each row lands whole or not at all.

    A row is a customer with at most one of its sites (a customer may come back in later rows with its
    other sites). A row the rules refuse gets its `InvalidInput` in the result and writes nothing; the others
    get "created", "updated" or "unchanged". A batch costs a few queries whatever its size: existing
    customers and sites are read by code in one query each, new ones inserted and changed ones updated in
    one statement each.
    """
    uow.actor.require_write("create or change customers", Permission.EDIT_MASTER_DATA)
    s = uow.session
    branches: dict[str, int] = {code: branch_id for code, branch_id in s.execute(select(Branch.code, Branch.id))}
    customers = _stored_customers(uow, {c.code for c, _ in rows})
    sites = _stored_sites(uow, {site.code for _, site in rows if site is not None})
    new_customers: dict[str, _Stored] = {}
    new_sites: dict[str, _Stored] = {}
    changed_customers: dict[str, list[str]] = {}
    changed_sites: dict[str, list[str]] = {}
    results: list[Outcome | InvalidInput] = []
    plan: list[tuple[str, str, list[str]]] = []  # (entity, code, what changed) in row order, for the events
    for rec, site_rec in rows:
        try:
            site_values = _site_values(rec, site_rec, branches, sites) if site_rec else None
        except InvalidInput as e:
            results.append(e)
            continue
        values = {name: getattr(rec, name) for name in CUSTOMER_FIELDS}
        outcomes = {_merge("customer", rec.code, values, customers, new_customers, changed_customers, plan)}
        if site_rec is not None and site_values is not None:
            outcomes.add(_merge("site", site_rec.code, site_values, sites, new_sites, changed_sites, plan, rec.code))
        results.append("created" if "created" in outcomes else "updated" if "updated" in outcomes else "unchanged")
    _write_customers(uow, customers, new_customers, changed_customers)
    for site in new_sites.values():
        site.customer_id = customers[site.customer_code or ""].id
    _write_sites(uow, sites, new_sites, changed_sites)
    for entity, code, changes in plan:
        stored = customers[code] if entity == "customer" else sites[code]
        if changes:
            uow.emit(f"{entity}.updated", entity, stored.id, {"code": code, "changed": changes})
        elif entity == "customer":
            uow.emit("customer.created", "customer", stored.id, {"code": code, "name": stored.values["name"]})
        else:
            uow.emit("site.created", "site", stored.id, {"code": code, "customer": stored.customer_code})
    return results


def _merge(
    entity: str,
    code: str,
    values: dict[str, Any],
    stored: dict[str, _Stored],
    new: dict[str, _Stored],
    changed: dict[str, list[str]],
    plan: list[tuple[str, str, list[str]]],
    customer_code: str | None = None,
) -> Outcome:
    """Fold one record into the batch's view of the table: a new row, a change to write, or nothing."""
    item = stored.get(code)
    if item is None:
        stored[code] = new[code] = _Stored(None, values, customer_code=customer_code)
        plan.append((entity, code, []))
        return "created"
    changes = [n for n in values if item.values[n] != values[n]]
    if not changes:
        return "unchanged"
    item.values = values
    if code not in new:  # a row this batch inserts is inserted with its latest values
        changed.setdefault(code, []).extend(changes)
        plan.append((entity, code, changes))
    return "updated"


def _site_values(
    rec: CustomerRecord, site: SiteRecord, branches: dict[str, int], sites: dict[str, _Stored]
) -> dict[str, Any]:
    """The site's columns, or the rule it breaks (coordinates, branch, moving to another customer)."""
    record = f"site {site.code}"
    check_coordinates(site.lat, site.lon, record)
    if site.customer_code != rec.code:
        raise InvalidInput(f"unknown customer '{site.customer_code}'", record=record, field="customer_code")
    branch_id = branches.get(site.branch)
    if branch_id is None:
        known = ", ".join(sorted(branches)) or "none"
        raise InvalidInput(f"unknown branch '{site.branch}' (known: {known})", record=record, field="branch")
    stored = sites.get(site.code)
    if stored is not None and stored.customer_code != rec.code:
        raise InvalidInput(
            f"site {site.code} belongs to another customer; a site cannot move between customers",
            record=record,
            field="customer_code",
        )
    return {
        "name": site.name,
        "branch_id": branch_id,
        "address": site.address,
        "postcode": site.postcode,
        "city": site.city,
        "lat": site.lat,
        "lon": site.lon,
        "access_notes": site.access_notes,
    }


CUSTOMERS, SITES = cast(Table, Customer.__table__), cast(Table, Site.__table__)
"""Batches insert through the tables (one executemany), not the ORM's bulk path: a tenth of the cost per row."""


def _stored_customers(uow: UnitOfWork, codes: set[str]) -> dict[str, _Stored]:
    columns = [getattr(Customer, n) for n in CUSTOMER_FIELDS]
    found: dict[str, _Stored] = {}
    for chunk in _chunks(sorted(codes)):
        for row in uow.session.execute(select(Customer.id, Customer.code, *columns).where(Customer.code.in_(chunk))):
            found[row.code] = _Stored(row.id, {n: getattr(row, n) for n in CUSTOMER_FIELDS})
    return found


def stored_customer_records(uow: UnitOfWork, codes: set[str]) -> dict[str, CustomerRecord]:
    """The customers with these codes as stored, by code (codes not stored are left out)."""
    return {code: CustomerRecord(code, **item.values) for code, item in _stored_customers(uow, codes).items()}


def _stored_sites(uow: UnitOfWork, codes: set[str]) -> dict[str, _Stored]:
    columns = [getattr(Site, n) for n in SITE_FIELDS]
    found: dict[str, _Stored] = {}
    for chunk in _chunks(sorted(codes)):
        query = (
            select(Site.id, Site.code, Site.customer_id, Customer.code.label("customer_code"), *columns)
            .join(Customer, Customer.id == Site.customer_id)
            .where(Site.code.in_(chunk))
        )
        for row in uow.session.execute(query):
            values = {n: getattr(row, n) for n in SITE_FIELDS}
            found[row.code] = _Stored(row.id, values, row.customer_id, row.customer_code)
    return found


def _write_customers(
    uow: UnitOfWork, stored: dict[str, _Stored], new: dict[str, _Stored], changed: dict[str, list[str]]
) -> None:
    s = uow.session
    if new:
        s.execute(
            insert(CUSTOMERS),
            [{"code": code, **item.values} for code, item in new.items()],
        )
        for code, found in _stored_customers(uow, set(new)).items():  # one query, not RETURNING row by row
            new[code].id = found.id
    if changed:
        s.execute(
            update(Customer),
            [{"id": stored[code].id, **stored[code].values, "updated_at": utcnow()} for code in changed],
        )


def _write_sites(
    uow: UnitOfWork, stored: dict[str, _Stored], new: dict[str, _Stored], changed: dict[str, list[str]]
) -> None:
    s = uow.session
    if new:
        rows = [{"code": code, "customer_id": item.customer_id, **item.values} for code, item in new.items()]
        s.execute(insert(SITES), rows)
        for code, found in _stored_sites(uow, set(new)).items():
            new[code].id = found.id
    if changed:
        s.execute(update(Site), [{"id": stored[code].id, **stored[code].values} for code in changed])


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
