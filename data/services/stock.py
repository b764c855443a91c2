"""Stock services: parts moving between the warehouse and vans, receipts, use on a job, restocking vans up to their
minimums, and the parts travelling back (part returns: received at a location, then closed).

A level that falls below its location's minimum (`StockLevel.min_quantity`) says so once, with a `stock.low` event
in the same transaction as the move that made it low; `data/queries/stock.py` lists what is low now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.errors import IllegalTransition, InsufficientStock, InvalidInput, NotFound
from data.models.base import utcnow
from data.models.field import PartReturn, ReturnStatus
from data.models.jobs import Job
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
        row = StockLevel(location_id=location.id, part_id=part.id, quantity=0, min_quantity=0)
        session.add(row)
    return row


def take_in(uow: UnitOfWork, location: StockLocation, part: Part, quantity: int, reason: str) -> None:
    """Remove stock from a location inside a larger change (e.g. a completion using van parts)."""
    row = level(uow.session, location, part)
    if row.quantity < quantity:
        raise InsufficientStock(
            f"{location.code} holds {row.quantity} x {part.sku} ({part.name}); {quantity} needed for {reason}"
        )
    was_low = row.quantity < (row.min_quantity or 0)
    row.quantity -= quantity
    if not was_low and row.quantity < (row.min_quantity or 0):
        uow.emit(
            "stock.low",
            "stock_location",
            location.id,
            {
                "location": location.code,
                "technician_id": location.technician_id,
                "sku": part.sku,
                "quantity": row.quantity,
                "min_quantity": row.min_quantity,
                "reason": reason,
            },
        )


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
        if src is not None and dst is not None and src.id == dst.id:
            raise InvalidInput(f"is the source {src.code} itself", record=f"stock move of {sku}", field="to")
        for loc, side in ((src, "from"), (dst, "to")):
            if loc is not None and loc.archived_at is not None:
                raise InvalidInput(f"{loc.code} is archived", record=f"stock move of {sku}", field=side)
        move_in(uow, part, quantity, src, dst, reason)


def move_in(
    uow: UnitOfWork, part: Part, quantity: int, src: StockLocation | None, dst: StockLocation | None, reason: str
) -> None:
    if src is not None:
        take_in(uow, src, part, quantity, reason)
    if dst is not None:
        level(uow.session, dst, part).quantity += quantity
    uow.emit(
        "stock.moved",
        "part",
        part.id,
        {
            "sku": part.sku,
            "quantity": quantity,
            "from": src.code if src else None,
            "to": dst.code if dst else None,
            "reason": reason,
        },
    )


@dataclass(frozen=True)
class Restocked:
    sku: str
    moved: int
    short: int  # still missing to reach the minimum: the source did not hold enough


def _warehouse_of(session: Session, van: StockLocation, record: str) -> StockLocation:
    found = list(
        session.scalars(
            select(StockLocation)
            .where(
                StockLocation.branch_id == van.branch_id,
                StockLocation.kind == StockLocationKind.WAREHOUSE,
                StockLocation.archived_at.is_(None),
            )
            .order_by(StockLocation.code)
        )
    )
    if len(found) != 1:
        known = ", ".join(w.code for w in found) or "none"
        raise InvalidInput(f"the branch has {len(found)} warehouses ({known}): name one", record=record, field="from")
    return found[0]


def restock_van(db: Database, actor: Actor, van_code: str, from_location: str | None = None) -> list[Restocked]:
    """Fill a van up to its minimums from a warehouse (its branch's only one unless named), in one transaction;
    a part the warehouse is short of moves what there is and reports the rest."""
    actor.require_write("restock vans")
    record = f"restock of {van_code}"
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        van = find_location(s, van_code)
        if van.kind is not StockLocationKind.VAN:
            raise InvalidInput(f"{van.code} is a {van.kind.value}, not a van", record=record, field="van")
        src = find_location(s, from_location) if from_location else _warehouse_of(s, van, record)
        if src.id == van.id:
            raise InvalidInput(f"is the van {van.code} itself", record=record, field="from")
        done: list[Restocked] = []
        wanting = s.scalars(
            select(StockLevel)
            .where(StockLevel.location_id == van.id, StockLevel.quantity < StockLevel.min_quantity)
            .order_by(StockLevel.part_id)
        )
        for row in list(wanting):
            part = row.part
            needed = row.min_quantity - row.quantity
            available = level(s, src, part).quantity
            moved = min(needed, available)
            if moved > 0:
                move_in(uow, part, moved, src, van, f"restock of {van.code}")
            done.append(Restocked(part.sku, moved, needed - moved))
        return sorted(done, key=lambda r: r.sku)


def _return_for_update(session: Session, return_id: int) -> PartReturn:
    found = session.get(PartReturn, return_id)
    if found is None:
        raise NotFound(f"part return {return_id} does not exist")
    return found


def receive_return(
    db: Database,
    actor: Actor,
    return_id: int,
    at_location: str,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> PartReturn:
    """The returned part arrived at a location (the warehouse, a supplier's drop-off): pending -> received."""
    actor.require_write("receive part returns")
    record = f"part return {return_id}"
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        ret = _return_for_update(s, return_id)
        if ret.status is not ReturnStatus.PENDING:
            by = f" by {ret.received_by} at {ret.received_at.isoformat()}" if ret.received_at else ""
            raise IllegalTransition(f"{record} is {ret.status.value}{by}; only a pending return is received")
        loc = s.scalar(select(StockLocation).where(StockLocation.code == at_location))
        if loc is None or loc.archived_at is not None:
            why = "does not exist" if loc is None else "is archived"
            raise InvalidInput(f"stock location {at_location} {why}", record=record, field="location")
        ret.to_location_id, ret.status = loc.id, ReturnStatus.RECEIVED
        ret.received_by, ret.received_at = actor.login, now or utcnow()
        return _return_step(uow, ret, "part_return.received", note)


def close_return(
    db: Database,
    actor: Actor,
    return_id: int,
    *,
    claim_ref: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> PartReturn:
    """Done with a returned part (repaired, scrapped, or sent back to the supplier under `claim_ref`)."""
    actor.require_write("close part returns")
    record = f"part return {return_id}"
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        ret = _return_for_update(s, return_id)
        if ret.status is ReturnStatus.PENDING:
            raise IllegalTransition(f"{record} has not been received yet: receive it first")
        if ret.status is ReturnStatus.CLOSED:
            at = ret.closed_at.isoformat() if ret.closed_at else "?"
            raise IllegalTransition(f"{record} was closed by {ret.closed_by} at {at}")
        if claim_ref is not None:
            if not claim_ref.strip() or len(claim_ref) > 120:
                raise InvalidInput("must be 1 to 120 characters", record=record, field="claim_ref")
            ret.warranty_claim_ref = claim_ref.strip()
        ret.status, ret.closed_by, ret.closed_at = ReturnStatus.CLOSED, actor.login, now or utcnow()
        return _return_step(uow, ret, "part_return.closed", note)


def _return_step(uow: UnitOfWork, ret: PartReturn, event_type: str, note: str | None) -> PartReturn:
    """Keep the note (the latest one) and say what happened, with the whole return as it now stands."""
    if note:
        ret.note = note[:500]
    uow.session.flush()
    uow.emit(event_type, "part_return", ret.id, return_row(uow.session, ret))
    return ret


def return_row(session: Session, ret: PartReturn) -> dict[str, Any]:
    """A part return as the CLI, JSON and its events show it: codes, not ids."""
    part = session.get(Part, ret.part_id)
    job = session.get(Job, ret.job_id)
    origin = session.get(StockLocation, ret.from_location_id)
    target = session.get(StockLocation, ret.to_location_id) if ret.to_location_id is not None else None
    return {
        "id": ret.id,
        "status": ret.status.value,
        "sku": part.sku if part else None,
        "part": part.name if part else None,
        "serial": ret.serial,
        "job": job.ref if job else None,
        "from": origin.code if origin else None,
        "to": target.code if target else None,
        "disposition": ret.disposition.value,
        "supplier": ret.supplier,
        "warranty_claim_ref": ret.warranty_claim_ref,
        "created_at": ret.created_at,
        "received_by": ret.received_by,
        "received_at": ret.received_at,
        "closed_by": ret.closed_by,
        "closed_at": ret.closed_at,
        "note": ret.note,
    }
