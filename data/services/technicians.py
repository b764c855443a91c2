"""Technician services: absences, live position and status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput
from data.models.base import utcnow
from data.models.jobs import OPEN_STATUSES, Job
from data.models.workforce import Absence, AbsenceKind, Technician, TechnicianStatus
from data.services.jobs import find_technician
from data.uow import UnitOfWork


def check_coordinates(lat: float, lon: float, record: str) -> None:
    """Numbers only: a bool is an int to Python, but `True` is not latitude 1.0."""
    for name, value, limit in (("lat", lat, 90), ("lon", lon, 180)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{value!r} is not a number of degrees", record=record, field=name)
        if not -limit <= value <= limit:  # NaN fails this too
            kind = "latitude" if name == "lat" else "longitude"
            raise InvalidInput(f"{kind} {value!r} is outside -{limit}..{limit}", record=record, field=name)


def mark_absent(
    db: Database,
    actor: Actor,
    technician: str | int,
    kind: AbsenceKind,
    starts_at: datetime,
    ends_at: datetime,
    note: str | None = None,
    *,
    source: str = "dispatch",
    external_id: str | None = None,
) -> tuple[Absence, list[str]]:
    """Record an absence; returns it with the refs of planned jobs it now collides with (to re-plan)."""
    actor.require_write("record absences")
    record = f"absence of {technician}"
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None:
            raise InvalidInput("needs a time zone", record=record, field=name)
    if ends_at <= starts_at:
        raise InvalidInput("must be after starts_at", record=record, field="ends_at")
    with UnitOfWork(db, actor) as uow:
        tech = find_technician(uow.session, technician)
        absence = Absence(
            technician_id=tech.id,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            note=note,
            source=source,
            external_id=external_id,
        )
        uow.session.add(absence)
        uow.session.flush()
        affected = list(
            uow.session.scalars(
                select(Job.ref).where(
                    Job.technician_id == tech.id,
                    Job.planned_start < ends_at,
                    Job.planned_end > starts_at,
                    Job.status.in_(list(OPEN_STATUSES)),
                )
            )
        )
        now = utcnow()
        if starts_at <= now < ends_at and tech.status is not TechnicianStatus.ABSENT:
            previous = tech.status
            tech.status = TechnicianStatus.ABSENT
            uow.emit(
                "technician.status_changed",
                "technician",
                tech.id,
                {"code": tech.code, "from": previous, "to": TechnicianStatus.ABSENT},
            )
        uow.emit(
            "technician.absent",
            "technician",
            tech.id,
            {
                "code": tech.code,
                "absence_id": absence.id,
                "kind": kind,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "note": note,
                "affected_jobs": affected,
            },
        )
        return absence, affected


def record_position(
    db: Database,
    actor: Actor,
    technician: str | int,
    lat: float,
    lon: float,
    at: datetime | None = None,
    *,
    idempotency_key: str | None = None,
) -> Technician:
    with UnitOfWork(db, actor) as uow:
        tech = find_technician(uow.session, technician)
        actor.require_field(tech.id, "report positions")
        check_coordinates(lat, lon, f"position of {tech.code}")
        when = at or utcnow()
        if tech.last_seen_at is None or when >= tech.last_seen_at:
            tech.last_lat, tech.last_lon, tech.last_seen_at = lat, lon, when
        uow.emit(
            "technician.position",
            "technician",
            tech.id,
            {"code": tech.code, "lat": lat, "lon": lon, "at": when},
            idempotency_key=idempotency_key,
        )
        return tech


def set_technician_status(db: Database, actor: Actor, technician: str | int, status: TechnicianStatus) -> Technician:
    with UnitOfWork(db, actor) as uow:
        tech = find_technician(uow.session, technician)
        actor.require_field(tech.id, "change technician status")
        previous = tech.status
        if previous is status:
            return tech
        tech.status = status
        uow.emit(
            "technician.status_changed",
            "technician",
            tech.id,
            {"code": tech.code, "from": previous, "to": status},
        )
        return tech


def technician_by_code(db: Database, code: str) -> Technician:
    with db.read() as session:
        return find_technician(session, code)
