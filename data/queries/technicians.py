"""Technician read models for the command line and scripts: the roster and one technician's day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from data.availability import local_day_bounds
from data.db import Database
from data.errors import NotFound
from data.models.jobs import Job
from data.models.org import Branch
from data.models.stock import StockLevel, StockLocation
from data.models.workforce import Technician, TechnicianSkill
from data.queries.roster import absences_on, roster_on
from data.services.jobs import find_technician


@dataclass(frozen=True)
class TechnicianListRow:
    code: str
    name: str
    branch: str
    status: str
    skills: dict[str, int]
    hourly_cost: Decimal
    home_lat: float
    home_lon: float
    active: bool
    shift_start: datetime | None
    shift_end: datetime | None
    absent: str | None  # the absence kind when away at some point of the day
    jobs: int
    timezone: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TechnicianDetailView:
    technician: TechnicianListRow
    email: str | None
    phone: str | None
    weekly_shifts: list[dict[str, Any]]
    absences: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    van: str | None
    van_stock: list[dict[str, Any]] = field(default_factory=list)
    last_position: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rows(
    session: Session, techs: Sequence[Technician], branches: dict[int, Branch], day: date
) -> list[TechnicianListRow]:
    """The list rows of `techs` on a local day, a few queries per branch whatever their number."""
    by_branch: dict[int, list[Technician]] = defaultdict(list)
    for tech in techs:
        by_branch[tech.branch_id].append(tech)
    out: dict[int, TechnicianListRow] = {}
    for branch_id, members in by_branch.items():
        branch = branches[branch_id]
        ids = [t.id for t in members]
        days = roster_on(session, ids, day, branch.timezone)
        start, end = local_day_bounds(day, branch.timezone)
        jobs = dict(
            session.execute(
                select(Job.technician_id, func.count(Job.id))
                .where(Job.technician_id.in_(ids), Job.planned_start >= start, Job.planned_start < end)
                .group_by(Job.technician_id)
            ).all()
        )
        for tech in members:
            shift = days[tech.id].shift
            away = [a for a in days[tech.id].absences if a.starts_at < end]
            out[tech.id] = TechnicianListRow(
                code=tech.code,
                name=tech.name,
                branch=branch.code,
                status=tech.status.value,
                skills=dict(sorted(tech.skill_levels().items())),
                hourly_cost=tech.hourly_cost,
                home_lat=tech.home_lat,
                home_lon=tech.home_lon,
                active=tech.active,
                shift_start=shift.start if shift else None,
                shift_end=shift.end if shift else None,
                absent=away[0].kind if away else None,
                jobs=int(jobs.get(tech.id, 0)),
                timezone=branch.timezone,
            )
    return [out[t.id] for t in techs]


def roster(session: Session, branch: str | None = None) -> tuple[dict[int, Branch], Select[Any]]:
    """Every branch by id, and the technicians (of ``branch`` when given) in code order."""
    branches = {b.id: b for b in session.scalars(select(Branch))}
    stmt = select(Technician).order_by(Technician.code)
    if branch is not None:
        match = [b for b in branches.values() if b.code == branch]
        if not match:
            raise NotFound(f"branch {branch} does not exist")
        stmt = stmt.where(Technician.branch_id == match[0].id)
    return branches, stmt


def list_technicians(db: Database, day: date, branch: str | None = None) -> list[TechnicianListRow]:
    with db.read() as session:
        branches, stmt = roster(session, branch)
        techs = session.scalars(stmt.options(selectinload(Technician.skills).joinedload(TechnicianSkill.skill))).all()
        return _rows(session, techs, branches, day)


def technician_detail(db: Database, code: str, day: date) -> TechnicianDetailView:
    """A technician's skills, the day's shift, absences around it, the day's jobs and the van's stock."""
    with db.read() as session:
        tech = find_technician(session, code)
        branch = session.get(Branch, tech.branch_id)
        assert branch is not None
        row = _rows(session, [tech], {branch.id: branch}, day)[0]
        start, end = local_day_bounds(day, branch.timezone)
        jobs = session.scalars(
            select(Job)
            .where(Job.technician_id == tech.id, Job.planned_start >= start, Job.planned_start < end)
            .order_by(Job.planned_start)
        ).all()
        van = session.scalar(select(StockLocation).where(StockLocation.technician_id == tech.id))
        stock = []
        if van is not None:
            levels = session.scalars(select(StockLevel).where(StockLevel.location_id == van.id)).all()
            stock = sorted(
                ({"sku": lv.part.sku, "name": lv.part.name, "quantity": lv.quantity} for lv in levels),
                key=lambda x: str(x["sku"]),
            )
        return TechnicianDetailView(
            technician=row,
            email=tech.email,
            phone=tech.phone,
            weekly_shifts=[
                {"weekday": s.weekday, "start": s.start, "end": s.end, "break_minutes": s.break_minutes}
                for s in sorted(tech.shifts, key=lambda s: s.weekday)
            ],
            absences=[
                {"kind": a.kind, "starts_at": a.starts_at, "ends_at": a.ends_at, "note": a.note}
                for a in absences_on(session, [tech.id], start, end).get(tech.id, [])
            ],
            jobs=[
                {
                    "ref": j.ref,
                    "status": j.status.value,
                    "summary": j.summary,
                    "planned_start": j.planned_start,
                    "planned_end": j.planned_end,
                    "pinned": j.pinned,
                }
                for j in jobs
            ],
            van=van.code if van else None,
            van_stock=stock,
            last_position=(
                {"lat": tech.last_lat, "lon": tech.last_lon, "at": tech.last_seen_at}
                if tech.last_lat is not None
                else None
            ),
        )
