"""Pulled records land idempotently on both engines, and the stated conflict rules hold."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from data.db import Database
from data.feed import tail
from data.models import Contact, Customer, Site
from data.models.payments import AccountingInvoice, AccountingInvoiceStatus, Payment
from data.services.crm_sync import (
    PulledContact,
    PulledCustomer,
    PulledInvoice,
    PulledPayment,
    payment_history,
    record_invoice_states,
    upsert_contacts,
    upsert_customers,
)
from tests.factories import ADMIN, build_world


def test_customer_upserts_are_idempotent_and_follow_the_conflict_rules(db: Database) -> None:
    build_world(db)
    with db.write_session() as s:
        c1 = s.scalar(select(Customer).where(Customer.code == "C1"))
        site = s.scalar(select(Site).where(Site.code == "S1"))
        assert c1 is not None and site is not None
        c1.notes, c1.phone, site.access_notes = "Gate code 1234", "+358 1", "Key at reception"
        name = c1.name
        s.commit()
    rows = [PulledCustomer("crm-1", name, email="ap@c1.fi", phone=None), PulledCustomer("crm-2", "New Oy")]
    first = upsert_customers(db, ADMIN, "crm", rows)
    seq = max(e.seq for e in tail(db, 0, 10_000))
    second = upsert_customers(db, ADMIN, "crm", rows)
    assert (first.created, first.updated) == (1, 1) and (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert list(tail(db, seq, 100)) == []  # a repeat emits nothing
    with db.read() as s:
        c1 = s.scalar(select(Customer).where(Customer.code == "C1"))
        site = s.scalar(select(Site).where(Site.code == "S1"))
        assert c1 is not None and site is not None
        assert c1.email == "ap@c1.fi"  # the CRM wins for contact details
        assert c1.phone == "+358 1"  # a blank remote value never erases ours
        assert c1.notes == "Gate code 1234" and site.access_notes == "Key at reception"  # Dispatch keeps its own
    contacts = [
        PulledContact("p-1", "crm-2", "Pia Person", email="pia@new.fi"),
        PulledContact("p-2", "crm-404", "Orphan"),
    ]
    made = upsert_contacts(db, ADMIN, "crm", contacts)
    again = upsert_contacts(db, ADMIN, "crm", contacts)
    assert (made.created, made.skipped, again.created, again.unchanged) == (1, 1, 0, 1)
    assert "crm-404" in made.errors[0]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Contact).where(Contact.name == "Pia Person")) == 1


def test_invoice_states_and_payments_once(db: Database) -> None:
    build_world(db)
    upsert_customers(db, ADMIN, "acc", [PulledCustomer("k-1", "Remote Customer Oy")])
    invoices = [PulledInvoice("inv-1", Decimal("100.00"), Decimal("40.00"), number="X-1", customer_external_id="k-1")]
    payments = [PulledPayment("pay-1", "inv-1", Decimal("60.00"), date(2026, 11, 20))]
    first = record_invoice_states(db, ADMIN, "acc", invoices, payments)
    second = record_invoice_states(db, ADMIN, "acc", invoices, payments)
    assert first.created == 2 and second.created == 0 and second.updated == 0
    with db.read() as s:
        remote = s.scalar(select(AccountingInvoice))
        assert remote is not None and remote.status is AccountingInvoiceStatus.PARTLY_PAID
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
        customer_id = remote.customer_id
    assert customer_id is not None
    assert [p.amount for p in payment_history(db, customer_id)] == [Decimal("60.00")]
    bad = record_invoice_states(db, ADMIN, "acc", [PulledInvoice("inv-2", Decimal("-1"), Decimal("0"))])
    assert bad.skipped == 1 and "negative" in bad.errors[0]
