"""Between "assigned" and "paid": completion reports, parts, returns, timesheets, invoices, quotes, plans."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from data.models.base import Base, utcnow
from data.models.org import str_enum
from data.models.types import Money, UTCDateTime


class ReportOutcome(StrEnum):
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"


class CompletionReport(Base):
    """The technician's account of a visit; one per job, immutable once written."""

    __tablename__ = "completion_reports"
    __table_args__ = (
        CheckConstraint("labour_minutes >= 0", name="labour_not_negative"),
        CheckConstraint("travel_minutes >= 0", name="travel_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    outcome: Mapped[ReportOutcome] = mapped_column(str_enum(ReportOutcome, "report_outcome"))
    actual_start: Mapped[datetime] = mapped_column(UTCDateTime)
    actual_end: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    labour_minutes: Mapped[int]
    travel_minutes: Mapped[int]
    resolution_code: Mapped[str] = mapped_column(String(40))
    first_time_fix: Mapped[bool]
    follow_up_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    signer_name: Mapped[str | None] = mapped_column(String(200), default=None)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    summary_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    signature_file_id: Mapped[int | None] = mapped_column(ForeignKey("field_files.id"), default=None)
    # The phone's own id for the completion, so a replayed upload changes nothing.
    client_event_id: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parts: Mapped[list[PartUsed]] = relationship(back_populates="report", cascade="all, delete-orphan", lazy="selectin")
    expenses: Mapped[list[Expense]] = relationship(
        back_populates="report", cascade="all, delete-orphan", lazy="selectin"
    )


class PartUsed(Base):
    __tablename__ = "parts_used"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("completion_reports.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int]
    serials: Mapped[list[str]] = mapped_column(JSON, default=list)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    under_warranty: Mapped[bool] = mapped_column(default=False)

    report: Mapped[CompletionReport] = relationship(back_populates="parts")


class Expense(Base):
    __tablename__ = "expenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("completion_reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # parking, toll, materials, ...
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Money)
    receipt_ref: Mapped[str | None] = mapped_column(String(200), default=None)

    report: Mapped[CompletionReport] = relationship(back_populates="expenses")


class FileKind(StrEnum):
    PHOTO = "photo"
    SIGNATURE = "signature"


class FieldFile(Base):
    """A photo or signature image uploaded from the field; the bytes live in the file store under `storage_key`."""

    __tablename__ = "field_files"
    __table_args__ = (
        UniqueConstraint("technician_id", "client_file_id", name="one_upload_per_client_file"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"), default=None)
    kind: Mapped[FileKind] = mapped_column(str_enum(FileKind, "file_kind"))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    # The phone's own id for the upload, so a retried upload stores nothing twice.
    client_file_id: Mapped[str | None] = mapped_column(String(100), default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhotoRef(Base):
    """A photo taken on site: an uploaded file (`file_id`), or a reference to where another app stored it."""

    __tablename__ = "photo_refs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    uri: Mapped[str] = mapped_column(String(500))
    caption: Mapped[str | None] = mapped_column(String(300), default=None)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("field_files.id"), default=None)


class ReturnDisposition(StrEnum):
    REPAIR = "repair"
    SCRAP = "scrap"
    SUPPLIER = "supplier"


class ReturnStatus(StrEnum):
    PENDING = "pending"
    RECEIVED = "received"
    CLAIMED = "claimed"
    CLOSED = "closed"


class PartReturn(Base):
    """Reverse logistics: a part replaced under warranty travelling back from the van to the warehouse."""

    __tablename__ = "part_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    serial: Mapped[str | None] = mapped_column(String(120), default=None)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id"), default=None)
    disposition: Mapped[ReturnDisposition] = mapped_column(str_enum(ReturnDisposition, "return_disposition"))
    supplier: Mapped[str | None] = mapped_column(String(120), default=None)
    warranty_claim_ref: Mapped[str | None] = mapped_column(String(120), default=None)
    status: Mapped[ReturnStatus] = mapped_column(str_enum(ReturnStatus, "return_status"), default=ReturnStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TimesheetStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Timesheet(Base):
    """One technician's paid time on one local day; closed timesheets go to payroll and never change."""

    __tablename__ = "timesheets"
    __table_args__ = (UniqueConstraint("technician_id", "day", name="one_per_technician_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(index=True)
    worked_minutes: Mapped[int] = mapped_column(default=0)
    travel_minutes: Mapped[int] = mapped_column(default=0)
    break_minutes: Mapped[int] = mapped_column(default=0)
    overtime_minutes: Mapped[int] = mapped_column(default=0)
    # {"daily": {"minutes": 30, "multiplier": "1.5"}, "weekly": ..., "rest_day": ...}
    overtime_breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[TimesheetStatus] = mapped_column(
        str_enum(TimesheetStatus, "timesheet_status"), default=TimesheetStatus.OPEN
    )
    closed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PAID = "paid"
    VOID = "void"  # a draft withdrawn before it was issued (a reopened job); its number stays used
    CREDITED = "credited"  # issued, then cancelled in full by a credit note


# What can still be voided: a draft nobody has seen. Anything issued is cancelled by a credit note instead.
VOIDABLE_STATUSES = frozenset({InvoiceStatus.DRAFT})
CANCELLED_INVOICE_STATUSES = frozenset({InvoiceStatus.VOID, InvoiceStatus.CREDITED})


class LineKind(StrEnum):
    LABOUR = "labour"
    CALLOUT = "callout"
    PART = "part"
    EXPENSE = "expense"
    DISCOUNT = "discount"


class InvoiceDraft(Base):
    """The bill for a visit, drafted on completion; accounting systems hold it by ExternalRef(entity='invoice').

    `ref` is the branch's invoice series number (`HEL-2026-000123`, `invoice_numbers.py`). A job has one live
    invoice; a reopened job keeps its void or credited one beside the next."""

    __tablename__ = "invoice_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"), default=None, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[InvoiceStatus] = mapped_column(
        str_enum(InvoiceStatus, "invoice_status"), default=InvoiceStatus.DRAFT
    )
    issued_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    void_reason: Mapped[str | None] = mapped_column(String(300), default=None)

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position", lazy="selectin"
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice_drafts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[LineKind] = mapped_column(str_enum(LineKind, "invoice_line_kind"))
    description: Mapped[str] = mapped_column(String(300))
    sku: Mapped[str | None] = mapped_column(String(40), default=None)
    quantity: Mapped[Decimal] = mapped_column(Money)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    covered: Mapped[bool] = mapped_column(default=False)
    covered_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    tax_rate: Mapped[Decimal] = mapped_column(Money)
    tax_amount: Mapped[Decimal] = mapped_column(Money)

    invoice: Mapped[InvoiceDraft] = relationship(back_populates="lines")


class CreditNote(Base):
    """Cancels an issued invoice in full (its lines, negated by the accounting system's credit note type).

    `ref` comes from the branch's own credit note series (`HEL-CN-2026-000007`); amounts are the invoice's, positive."""

    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice_drafts.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(300))
    issued_on: Mapped[date]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvoiceSeries(Base):
    """The last number given in a branch's series for one kind (invoice, credit note) and year: gap-free,
    because the number is taken in the same transaction as the document that carries it."""

    __tablename__ = "invoice_series"
    __table_args__ = (CheckConstraint("last_number > 0", name="number_positive"),)

    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int]


class QuoteStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Quote(Base):
    """Extra work a technician on site offers the customer; accepted, it becomes a new job."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    summary: Mapped[str] = mapped_column(String(300))
    job_type: Mapped[str] = mapped_column(String(24))
    duration_minutes: Mapped[int]
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[QuoteStatus] = mapped_column(str_enum(QuoteStatus, "quote_status"), default=QuoteStatus.PROPOSED)
    proposed_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteLine.position", lazy="selectin"
    )


class QuoteLine(Base):
    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[LineKind] = mapped_column(str_enum(LineKind, "quote_line_kind"))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Money)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)

    quote: Mapped[Quote] = relationship(back_populates="lines")


class MaintenancePlan(Base):
    """Recurring preventive work on an asset or under a contract: every N months, in a season."""

    __tablename__ = "maintenance_plans"
    __table_args__ = (
        CheckConstraint("interval_months BETWEEN 1 AND 120", name="interval_range"),
        CheckConstraint("asset_id IS NOT NULL OR contract_id IS NOT NULL", name="asset_or_contract"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), default=None)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), default=None)
    job_type: Mapped[str] = mapped_column(String(24), default="maintenance")
    summary: Mapped[str] = mapped_column(String(300))
    interval_months: Mapped[int]
    season_months: Mapped[list[int]] = mapped_column(JSON, default=list)  # empty: any month
    duration_minutes: Mapped[int]
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    next_due: Mapped[date]
    last_generated: Mapped[date | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(default=True)  # False: paused
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MaintenanceVisit(Base):
    """A job generated for one due date of a plan; the unique pair is what makes generation idempotent."""

    __tablename__ = "maintenance_visits"
    __table_args__ = (UniqueConstraint("plan_id", "due", name="one_job_per_due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("maintenance_plans.id", ondelete="CASCADE"))
    due: Mapped[date]
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))


class OvertimeRules(Base):
    """A branch's overtime rules; a branch without a row uses the defaults below."""

    __tablename__ = "overtime_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"), unique=True)
    daily_threshold_minutes: Mapped[int] = mapped_column(default=480)
    weekly_threshold_minutes: Mapped[int] = mapped_column(default=2400)
    daily_multiplier: Mapped[Decimal] = mapped_column(Money, default=Decimal("1.5"))
    weekly_multiplier: Mapped[Decimal] = mapped_column(Money, default=Decimal("1.5"))
    rest_day_multiplier: Mapped[Decimal] = mapped_column(Money, default=Decimal("2.0"))


__all__ = [
    "CANCELLED_INVOICE_STATUSES",
    "VOIDABLE_STATUSES",
    "CompletionReport",
    "CreditNote",
    "Expense",
    "FieldFile",
    "FileKind",
    "InvoiceDraft",
    "InvoiceLine",
    "InvoiceSeries",
    "InvoiceStatus",
    "LineKind",
    "MaintenancePlan",
    "MaintenanceVisit",
    "OvertimeRules",
    "PartReturn",
    "PartUsed",
    "PhotoRef",
    "Quote",
    "QuoteLine",
    "QuoteStatus",
    "ReportOutcome",
    "ReturnDisposition",
    "ReturnStatus",
    "Timesheet",
    "TimesheetStatus",
]
