"""Parts and where they are: the warehouse and every van."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from data.models.base import Base
from data.models.org import str_enum
from data.models.types import Money, UTCDateTime


class StockLocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    VAN = "van"


class Part(Base):
    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    list_price: Mapped[Decimal] = mapped_column(Money)
    serial_tracked: Mapped[bool] = mapped_column(default=False)
    supplier: Mapped[str | None] = mapped_column(String(120), default=None)
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class StockLocation(Base):
    __tablename__ = "stock_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[StockLocationKind] = mapped_column(str_enum(StockLocationKind, "stock_location_kind"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"), unique=True, default=None)
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="CASCADE"), primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(default=0)
    # The level this location should hold: below `min_quantity` it is low and wants a restock up to it.
    min_quantity: Mapped[int] = mapped_column(default=0)

    part: Mapped[Part] = relationship(lazy="joined")
