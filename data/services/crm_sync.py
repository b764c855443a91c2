"""Idempotent upserts of what connectors pull in: CRM customers and contacts, accounting invoices and payments.

Pulling the same page twice changes nothing and emits nothing the second time. Conflict rules:
the remote system wins for the fields it owns (customer and contact name, email, phone, role;
invoice balance and payments); a blank remote value never erases one of ours; Dispatch keeps
everything else (customer code, notes, preferences, payment terms, sites and their access notes).
A record is matched by its ExternalRef first, then by name (customers) or email (contacts), and the
ref is stored so the next pull matches directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.models.customers import Contact, Customer, ExternalRef
from data.models.field import InvoiceDraft, InvoiceStatus
from data.models.payments import AccountingInvoice, AccountingInvoiceStatus, Payment
from data.permissions import Permission
from data.uow import UnitOfWork


@dataclass(frozen=True)
class PulledCustomer:
    external_id: str
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class PulledContact:
    external_id: str
    customer_external_id: str | None
    name: str
    email: str | None = None
    phone: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class PulledInvoice:
    external_id: str
    total: Decimal
    balance: Decimal
    number: str | None = None
    customer_external_id: str | None = None
    currency: str | None = None
    voided: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class PulledPayment:
    external_id: str
    invoice_external_id: str
    amount: Decimal
    paid_on: date
    currency: str | None = None


@dataclass
class SyncCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SyncCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.errors.extend(other.errors)


def entity_for(session: Session, entity: str, system: str, external_id: str) -> int | None:
    """Our id of the record a system knows as `external_id`."""
    return session.scalar(
        select(ExternalRef.entity_id).where(
            ExternalRef.entity == entity, ExternalRef.system == system, ExternalRef.external_id == external_id
        )
    )


def external_id_for(session: Session, entity: str, entity_id: int, system: str) -> str | None:
    """The id a system gave one of our records, if we know it."""
    return session.scalar(
        select(ExternalRef.external_id).where(
            ExternalRef.entity == entity, ExternalRef.entity_id == entity_id, ExternalRef.system == system
        )
    )


def link_in(session: Session, entity: str, entity_id: int, system: str, external_id: str) -> bool:
    """Store (or correct) the ref; True when something changed."""
    ref = session.scalar(
        select(ExternalRef).where(
            ExternalRef.entity == entity, ExternalRef.entity_id == entity_id, ExternalRef.system == system
        )
    )
    if ref is None:
        session.add(ExternalRef(entity=entity, entity_id=entity_id, system=system, external_id=external_id))
        session.flush()
        return True
    if ref.external_id != external_id:
        ref.external_id = external_id
        return True
    return False


def link_external(db: Database, actor: Actor, entity: str, entity_id: int, system: str, external_id: str) -> None:
    """Remember the id a connected system gave one of our records (after a send created it there)."""
    actor.require_write(f"link {entity} {entity_id} to {system}", Permission.MANAGE_INTEGRATIONS)
    with UnitOfWork(db, actor) as uow:
        if link_in(uow.session, entity, entity_id, system, external_id):
            uow.emit("external_ref.linked", entity, entity_id, {"system": system, "external_id": external_id})


def _overlay(record: Any, values: dict[str, str | None]) -> dict[str, list[Any]]:
    """Apply remote values that are set and differ; returns {field: [old, new]}."""
    changes: dict[str, list[Any]] = {}
    for name, value in values.items():
        if value in (None, ""):
            continue  # a blank in the remote system never erases what we hold
        old = getattr(record, name)
        if old != value:
            setattr(record, name, value)
            changes[name] = [old, value]
    return changes


def _new_customer_code(session: Session, system: str, external_id: str) -> str:
    base = f"{system[:3].upper()}-{external_id}"[:32]
    code, n = base, 1
    while session.scalar(select(Customer.id).where(Customer.code == code)) is not None:
        n += 1
        code = f"{base[: 32 - len(str(n)) - 1]}-{n}"
    return code


def upsert_customers(db: Database, actor: Actor, system: str, rows: Sequence[PulledCustomer]) -> SyncCounts:
    """Create or update customers from a remote system, in one transaction; emits customer.created/updated."""
    actor.require_write(f"sync customers from {system}", Permission.MANAGE_INTEGRATIONS)
    counts = SyncCounts()
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        for row in rows:
            if not row.name.strip():
                counts.skipped += 1
                counts.errors.append(f"{system} customer {row.external_id}: no name")
                continue
            name = row.name.strip()[:200]
            values: dict[str, str | None] = {"name": name, "email": row.email, "phone": row.phone}
            customer_id = entity_for(s, "customer", system, row.external_id)
            customer = s.get(Customer, customer_id) if customer_id is not None else None
            if customer is None:
                customer = s.scalar(
                    select(Customer).where(func.lower(Customer.name) == name.lower()).order_by(Customer.id)
                )
            if customer is None:
                customer = Customer(code=_new_customer_code(s, system, row.external_id), name=name)
                _overlay(customer, values)
                s.add(customer)
                s.flush()
                link_in(s, "customer", customer.id, system, row.external_id)
                uow.emit(
                    "customer.created",
                    "customer",
                    customer.id,
                    {"code": customer.code, "name": customer.name, "system": system, "external_id": row.external_id},
                )
                counts.created += 1
                continue
            linked = link_in(s, "customer", customer.id, system, row.external_id)
            changes = _overlay(customer, values)
            if changes or linked:
                uow.emit(
                    "customer.updated",
                    "customer",
                    customer.id,
                    {"code": customer.code, "changes": changes, "system": system, "external_id": row.external_id},
                )
                counts.updated += 1
            else:
                counts.unchanged += 1
    return counts


def upsert_contacts(db: Database, actor: Actor, system: str, rows: Sequence[PulledContact]) -> SyncCounts:
    """Create or update contacts under customers already known by their ref; others are skipped and counted."""
    actor.require_write(f"sync contacts from {system}", Permission.MANAGE_INTEGRATIONS)
    counts = SyncCounts()
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        for row in rows:
            customer_id = (
                entity_for(s, "customer", system, row.customer_external_id) if row.customer_external_id else None
            )
            if customer_id is None:
                counts.skipped += 1
                counts.errors.append(
                    f"{system} contact {row.external_id}: its company {row.customer_external_id or '(none)'}"
                    " is not a known customer"
                )
                continue
            values = {"name": row.name.strip()[:200], "email": row.email, "phone": row.phone, "role": row.role}
            contact_id = entity_for(s, "contact", system, row.external_id)
            contact = s.get(Contact, contact_id) if contact_id is not None else None
            if contact is None and row.email:
                contact = s.scalar(
                    select(Contact).where(
                        Contact.customer_id == customer_id, func.lower(Contact.email) == row.email.lower()
                    )
                )
            if contact is None:
                if not values["name"]:
                    counts.skipped += 1
                    counts.errors.append(f"{system} contact {row.external_id}: no name")
                    continue
                contact = Contact(customer_id=customer_id, name=values["name"])
                _overlay(contact, values)
                s.add(contact)
                s.flush()
                link_in(s, "contact", contact.id, system, row.external_id)
                uow.emit(
                    "contact.created",
                    "customer",
                    customer_id,
                    {"contact_id": contact.id, "name": contact.name, "system": system, "external_id": row.external_id},
                )
                counts.created += 1
                continue
            linked = link_in(s, "contact", contact.id, system, row.external_id)
            moved = contact.customer_id != customer_id
            contact.customer_id = customer_id
            changes = _overlay(contact, values)
            if changes or linked or moved:
                uow.emit(
                    "contact.updated",
                    "customer",
                    customer_id,
                    {"contact_id": contact.id, "changes": changes, "system": system, "external_id": row.external_id},
                )
                counts.updated += 1
            else:
                counts.unchanged += 1
    return counts


def upsert_people(
    db: Database,
    actor: Actor,
    system: str,
    customers: Sequence[PulledCustomer],
    contacts: Sequence[PulledContact],
) -> SyncCounts:
    """A CRM pull's customers, then their contacts (which need the customers' refs)."""
    counts = upsert_customers(db, actor, system, customers)
    counts.add(upsert_contacts(db, actor, system, contacts))
    return counts


def _remote_status(row: PulledInvoice) -> AccountingInvoiceStatus:
    if row.voided:
        return AccountingInvoiceStatus.VOIDED
    if row.balance <= 0:
        return AccountingInvoiceStatus.PAID
    if row.balance < row.total:
        return AccountingInvoiceStatus.PARTLY_PAID
    return AccountingInvoiceStatus.OPEN


def record_invoice_states(
    db: Database,
    actor: Actor,
    system: str,
    invoices: Sequence[PulledInvoice],
    payments: Sequence[PulledPayment] = (),
) -> SyncCounts:
    """Store remote invoice balances and payments; a fully paid invoice marks our draft paid (invoice.paid)."""
    actor.require_write(f"sync payments from {system}", Permission.MANAGE_INTEGRATIONS)
    counts = SyncCounts()
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        by_external: dict[str, AccountingInvoice] = {}
        for row in invoices:
            if row.total < 0 or row.balance < 0:
                counts.skipped += 1
                counts.errors.append(f"{system} invoice {row.external_id}: negative total or balance, left out")
                continue
            remote = s.scalar(
                select(AccountingInvoice).where(
                    AccountingInvoice.system == system, AccountingInvoice.external_id == row.external_id
                )
            )
            draft_id = entity_for(s, "invoice", system, row.external_id)
            if draft_id is None and row.number:
                draft_id = s.scalar(select(InvoiceDraft.id).where(InvoiceDraft.ref == row.number))
                if draft_id is not None:
                    link_in(s, "invoice", draft_id, system, row.external_id)
            customer_id = (
                entity_for(s, "customer", system, row.customer_external_id) if row.customer_external_id else None
            )
            draft = s.get(InvoiceDraft, draft_id) if draft_id is not None else None
            if customer_id is None and draft is not None:
                customer_id = draft.customer_id
                if row.customer_external_id and external_id_for(s, "customer", customer_id, system) is None:
                    # The system matched or created the customer for our invoice: remember its id.
                    link_in(s, "customer", customer_id, system, row.customer_external_id)
            status = _remote_status(row)
            fields: dict[str, Any] = {
                "number": row.number,
                "invoice_id": draft_id,
                "customer_id": customer_id,
                "currency": row.currency,
                "total": row.total,
                "balance": row.balance,
                "status": status,
                "remote_updated_at": row.updated_at,
            }
            if remote is None:
                remote = AccountingInvoice(system=system, external_id=row.external_id, **fields)
                s.add(remote)
                s.flush()
                counts.created += 1
            elif any(getattr(remote, k) != v for k, v in fields.items() if v is not None):
                for k, v in fields.items():
                    if v is not None:
                        setattr(remote, k, v)
                counts.updated += 1
            else:
                counts.unchanged += 1
            by_external[row.external_id] = remote
            if draft is not None and status is AccountingInvoiceStatus.PAID and draft.status is not InvoiceStatus.PAID:
                draft.status = InvoiceStatus.PAID
                uow.emit(
                    "invoice.paid",
                    "invoice",
                    draft.id,
                    {"ref": draft.ref, "system": system, "external_id": row.external_id, "total": row.total},
                )
        for pay in payments:
            exists = s.scalar(
                select(Payment.id).where(
                    Payment.system == system,
                    Payment.external_id == pay.external_id,
                    Payment.invoice_external_id == pay.invoice_external_id,
                )
            )
            if exists is not None:
                counts.unchanged += 1
                continue
            remote = by_external.get(pay.invoice_external_id) or s.scalar(
                select(AccountingInvoice).where(
                    AccountingInvoice.system == system, AccountingInvoice.external_id == pay.invoice_external_id
                )
            )
            payment = Payment(
                system=system,
                external_id=pay.external_id,
                invoice_external_id=pay.invoice_external_id,
                accounting_invoice_id=remote.id if remote is not None else None,
                customer_id=remote.customer_id if remote is not None else None,
                amount=pay.amount,
                currency=pay.currency,
                paid_on=pay.paid_on,
            )
            s.add(payment)
            s.flush()
            uow.emit(
                "payment.recorded",
                "customer",
                payment.customer_id if payment.customer_id is not None else 0,
                {
                    "system": system,
                    "external_id": pay.external_id,
                    "invoice_external_id": pay.invoice_external_id,
                    "amount": pay.amount,
                    "paid_on": pay.paid_on,
                },
            )
            counts.created += 1
    return counts


def payment_history(db: Database, customer_id: int) -> list[Payment]:
    """A customer's payments, newest first, as the accounting systems recorded them."""
    with db.read() as s:
        return list(
            s.scalars(
                select(Payment).where(Payment.customer_id == customer_id).order_by(Payment.paid_on.desc(), Payment.id)
            )
        )
