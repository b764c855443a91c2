"""Reading stock for the CLI: part returns by status, and the levels below their location's minimum."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from data.db import Database
from data.errors import InvalidInput
from data.models.field import PartReturn, ReturnStatus
from data.models.org import Branch
from data.models.stock import Part, StockLevel, StockLocation
from data.services.stock import find_location, return_row


def list_returns(db: Database, status: ReturnStatus | None = None, location: str | None = None) -> list[dict[str, Any]]:
    """Part returns, oldest first: all, or those in one status, or those coming from or received at a location."""
    with db.read() as s:
        query = select(PartReturn).order_by(PartReturn.created_at, PartReturn.id)
        if status is not None:
            query = query.where(PartReturn.status == status)
        if location is not None:
            loc = find_location(s, location)
            query = query.where((PartReturn.from_location_id == loc.id) | (PartReturn.to_location_id == loc.id))
        return [return_row(s, r) for r in s.scalars(query)]


def low_stock(db: Database, location: str | None = None, branch: str | None = None) -> list[dict[str, Any]]:
    """Every level under its minimum, by location then SKU, with how many would bring it back up."""
    with db.read() as s:
        query = (
            select(
                StockLocation.code,
                StockLocation.kind,
                Part.sku,
                Part.name,
                StockLevel.quantity,
                StockLevel.min_quantity,
            )
            .join(StockLocation, StockLocation.id == StockLevel.location_id)
            .join(Part, Part.id == StockLevel.part_id)
            .where(StockLevel.quantity < StockLevel.min_quantity, StockLocation.archived_at.is_(None))
            .order_by(StockLocation.code, Part.sku)
        )
        if location is not None:
            query = query.where(StockLocation.id == find_location(s, location).id)
        if branch is not None:
            found = s.scalar(select(Branch.id).where(Branch.code == branch))
            if found is None:
                raise InvalidInput(f"no branch {branch}", record="low stock", field="branch")
            query = query.where(StockLocation.branch_id == found)
        return [
            {
                "location": code,
                "kind": kind.value,
                "sku": sku,
                "part": name,
                "quantity": quantity,
                "min_quantity": minimum,
                "short": minimum - quantity,
            }
            for code, kind, sku, name, quantity, minimum in s.execute(query)
        ]
