"""Branches (territories) and the people who log in to the console, with their roles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.types import Money, UTCDateTime


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, values stored as their text."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Role(StrEnum):
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"  # read-only everywhere
    ADMIN = "admin"
    TECHNICIAN = "technician"  # field API only: may report on their own jobs


class Branch(Base):
    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    # Service area as a GeoJSON Polygon ([[lon, lat], ...]) and its bounding box for quick checks.
    service_area: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    depot_lat: Mapped[float]
    depot_lon: Mapped[float]
    tax_rate: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CompanyRole(Base):
    """A role an admin defined: permissions from `data.permissions.Permission`, optionally only in some branches."""

    __tablename__ = "company_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    branch_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every branch
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    # The operating-system account that maps to this user (how an SSH login is recognised).
    os_login: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), default=None)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"), default=None)
    # A role the company defined; when set, its permissions and branches replace the built-in role's.
    company_role_id: Mapped[int | None] = mapped_column(ForeignKey("company_roles.id"), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
