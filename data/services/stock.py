"""Stock services: parts moving between the warehouse and vans, receipts, and use on a job."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.errors import InsufficientStock, InvalidInput, NotFound
from data.models.stock import Part, StockLevel, StockLocation, StockLocationKind
from data.uow import UnitOfWork


def find_part(session: Session, sku: str) -> Part:
    part = session.scalar(select(Part).where(Part.sku == sku))
    if part is None:
        raise NotFound(f"part {sku} does not exist")
    return part


def find_location(session: Session, code: str) -> StockLocation:
    loc = session.scalar(select(StockLocation).where(StockLocation.code == code))
    if loc is None:
        raise NotFound(f"stock location {code} does not exist")
    return loc


def ensure_van(session: Session, technician_id: int, technician_code: str, branch_id: int) -> None:
    """A technician works from a van stock location, VAN-<code>, made with them unless one exists."""
    van_code = f"VAN-{technician_code}"
    if session.scalar(select(StockLocation).where(StockLocation.code == van_code)) is None:
        session.add(
            StockLocation(code=van_code, kind=StockLocationKind.VAN, branch_id=branch_id, technician_id=technician_id)
        )
        session.flush()


def van_of(session: Session, technician_id: int) -> StockLocation | None:
    return session.scalar(
        select(StockLocation).where(
            StockLocation.technician_id == technician_id, StockLocation.kind == StockLocationKind.VAN
        )
    )


@dataclass(frozen=True)
class Shortfall:
    sku: str
    needed: int
    in_van: int
    van: str | None


def van_shortfall(db: Database, job_ref: str, technician_code: str) -> list[Shortfall]:
    """The parts a job needs that the technician's van does not hold enough of (empty: the van has them all)."""
    from data.services.jobs import find_job, find_technician

    with db.read() as session:
        job = find_job(session, job_ref)
        tech = find_technician(session, technician_code)
        van = van_of(session, tech.id)
        short = []
        for sku, needed in sorted((job.parts_needed or {}).items()):
            part = session.scalar(select(Part).where(Part.sku == sku))
            row = session.get(StockLevel, (van.id, part.id)) if van is not None and part is not None else None
            have = row.quantity if row is not None else 0
            if have < needed:
                short.append(Shortfall(sku, needed, have, van.code if van else None))
        return short


def level(session: Session, location: StockLocation, part: Part) -> StockLevel:
    row = session.get(StockLevel, (location.id, part.id))
    if row is None:
        row = StockLevel(location_id=location.id, part_id=part.id, quantity=0)
        session.add(row)
    return row


def take_in(uow: UnitOfWork, location: StockLocation, part: Part, quantity: int, reason: str) -> None:
    """Remove stock from a location inside a larger change (e.g. a completion using van parts)."""
    row = level(uow.session, location, part)
    if row.quantity < quantity:
        raise InsufficientStock(
            f"{location.code} holds {row.quantity} x {part.sku} ({part.name}); {quantity} needed for {reason}"
        )
    row.quantity -= quantity


def move_stock(
    db: Database,
    actor: Actor,
    sku: str,
    quantity: int,
    *,
    from_location: str | None,
    to_location: str | None,
    reason: str,
) -> None:
    """Move parts between locations; a missing side means received from a supplier or written off."""
    actor.require_write("move stock")
    if quantity <= 0:
        raise InvalidInput("must be a positive whole number", record=f"stock move of {sku}", field="quantity")
    if from_location is None and to_location is None:
        raise InvalidInput("needs a source or a destination", record=f"stock move of {sku}", field="location")
    with UnitOfWork(db, actor) as uow:
        part = find_part(uow.session, sku)
        src = find_location(uow.session, from_location) if from_location else None
        dst = find_location(uow.session, to_location) if to_location else None
        if src is not None:
            take_in(uow, src, part, quantity, reason)
        if dst is not None:
            level(uow.session, dst, part).quantity += quantity
        uow.emit(
            "stock.moved",
            "part",
            part.id,
            {
                "sku": sku,
                "quantity": quantity,
                "from": src.code if src else None,
                "to": dst.code if dst else None,
                "reason": reason,
            },
        )
