"""Customers and what they own or bought: contacts, sites, assets, service contracts, price lists."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from data.models.base import Base, utcnow
from data.models.types import Money, UTCDateTime


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    # Free-form preferences the dispatcher should honour ("mornings only", "call before arrival").
    preferences: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The company's own fields, declared in the configuration ([custom_fields.X]) and checked by the services.
    custom_fields: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[Contact]] = relationship(back_populates="customer", cascade="all, delete-orphan")
    sites: Mapped[list[Site]] = relationship(back_populates="customer", cascade="all, delete-orphan")


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    role: Mapped[str | None] = mapped_column(String(80), default=None)
    primary: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class ExternalRef(Base):
    """The id a record has in a connected system (CRM, accounting, payroll), per system."""

    __tablename__ = "external_refs"
    __table_args__ = (
        UniqueConstraint("entity", "entity_id", "system", name="one_ref_per_system"),
        UniqueConstraint("system", "entity", "external_id", name="external_id_unique"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(40))  # customer, contact, technician, job, invoice, ...
    entity_id: Mapped[int]
    system: Mapped[str] = mapped_column(String(40))  # hubspot, salesforce, quickbooks, xero, ...
    external_id: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(20), default=None)
    city: Mapped[str | None] = mapped_column(String(100), default=None)
    lat: Mapped[float]
    lon: Mapped[float]
    access_notes: Mapped[str | None] = mapped_column(Text, default=None)
    # The company's own fields, declared in the configuration ([custom_fields.X]) and checked by the services.
    custom_fields: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    customer: Mapped[Customer] = relationship(back_populates="sites")
    assets: Mapped[list[Asset]] = relationship(back_populates="site", cascade="all, delete-orphan")


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(60))  # boiler, heat pump, elevator, ...
    model: Mapped[str] = mapped_column(String(120))
    serial: Mapped[str] = mapped_column(String(120))
    install_date: Mapped[date | None] = mapped_column(default=None)
    warranty_end: Mapped[date | None] = mapped_column(default=None)
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    site: Mapped[Site] = relationship(back_populates="assets")

    def under_warranty(self, on: date) -> bool:
        return self.warranty_end is not None and on <= self.warranty_end


class PriceList(Base):
    __tablename__ = "price_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    labour_rate: Mapped[Decimal] = mapped_column(Money)  # per hour
    callout_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # Labour is billed in blocks of this many minutes, rounded up, with a minimum charge.
    labour_increment_minutes: Mapped[int] = mapped_column(default=15)
    labour_minimum_minutes: Mapped[int] = mapped_column(default=60)
    # Unit prices per part SKU that differ from the part's list price.
    part_prices: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (CheckConstraint("valid_to >= valid_from", name="validity_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sla_response_hours: Mapped[int]
    covered_job_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    covered_part_skus: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Coverage hours in the branch's local time; weekdays Monday = 0.
    coverage_weekdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: [0, 1, 2, 3, 4])
    coverage_start: Mapped[time] = mapped_column(default=time(8, 0))
    coverage_end: Mapped[time] = mapped_column(default=time(17, 0))
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_lists.id"), default=None)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on <= self.valid_to
