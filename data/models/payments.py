"""Invoices as the accounting system sees them, and the payments it recorded: a customer's payment history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.org import str_enum
from data.models.types import Money, UTCDateTime


class AccountingInvoiceStatus(StrEnum):
    OPEN = "open"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    VOIDED = "voided"


class AccountingInvoice(Base):
    """One invoice in an accounting system (QuickBooks, Xero), linked to our draft when we sent it."""

    __tablename__ = "accounting_invoices"
    __table_args__ = (UniqueConstraint("system", "external_id", name="one_row_per_remote_invoice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(60), default=None)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_drafts.id"), default=None, index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), default=None, index=True)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    total: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[AccountingInvoiceStatus] = mapped_column(
        str_enum(AccountingInvoiceStatus, "accounting_invoice_status")
    )
    remote_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Payment(Base):
    """One payment applied to one invoice, as recorded by the accounting system (never typed in here)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("system", "external_id", "invoice_external_id", name="one_row_per_payment_application"),
        Index("ix_payments_customer_paid_on", "customer_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    invoice_external_id: Mapped[str] = mapped_column(String(200))
    accounting_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_invoices.id"), default=None)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), default=None)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    paid_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


__all__ = ["AccountingInvoice", "AccountingInvoiceStatus", "Payment"]
