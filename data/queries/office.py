"""Read models for the office's paperwork: invoices and quotes as plain dictionaries (CLI tables, JSON)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from data.db import Database
from data.errors import NotFound
from data.models.customers import Customer
from data.models.field import CreditNote, InvoiceDraft, InvoiceStatus, Quote, QuoteStatus
from data.models.jobs import Job


def _invoice(invoice: InvoiceDraft, job_ref: str, customer: str, lines: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "ref": invoice.ref,
        "job": job_ref,
        "customer": customer,
        "issued_on": invoice.issued_on,
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "tax": invoice.tax,
        "total": invoice.total,
    }
    if lines:
        found["lines"] = [
            {
                "kind": line.kind,
                "description": line.description,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "amount": line.amount,
                "covered": line.covered,
                "covered_reason": line.covered_reason,
                "tax_rate": line.tax_rate,
                "tax_amount": line.tax_amount,
            }
            for line in invoice.lines
        ]
    return found


def list_invoices(
    db: Database,
    *,
    day_from: date | None = None,
    day_to: date | None = None,
    customer: str | None = None,
    status: InvoiceStatus | None = None,
) -> list[dict[str, Any]]:
    """Invoices by issue date (newest first), optionally of one customer or status."""
    query = (
        select(InvoiceDraft, Job.ref, Customer.code)
        .join(Job, Job.id == InvoiceDraft.job_id)
        .join(Customer, Customer.id == InvoiceDraft.customer_id)
        .order_by(InvoiceDraft.issued_on.desc(), InvoiceDraft.ref.desc())
    )
    if day_from is not None:
        query = query.where(InvoiceDraft.issued_on >= day_from)
    if day_to is not None:
        query = query.where(InvoiceDraft.issued_on <= day_to)
    if customer is not None:
        query = query.where(Customer.code == customer)
    if status is not None:
        query = query.where(InvoiceDraft.status == status)
    with db.read() as session:
        return [_invoice(inv, ref, code, lines=False) for inv, ref, code in session.execute(query)]


def _credit_note(note: CreditNote, invoice_ref: str) -> dict[str, Any]:
    return {
        "ref": note.ref,
        "kind": "credit_note",
        "invoice": invoice_ref,
        "issued_on": note.issued_on,
        "reason": note.reason,
        "currency": note.currency,
        "subtotal": note.subtotal,
        "tax": note.tax,
        "total": note.total,
        "created_by": note.created_by,
    }


def invoice_detail(db: Database, ref: str) -> dict[str, Any]:
    """One invoice with its lines and what cancelled it; `ref` is the invoice's, its job's (the newest invoice of
    the job), or a credit note's (the note, with the invoice it credits)."""
    with db.read() as session:
        note = session.scalar(select(CreditNote).where(CreditNote.ref == ref))
        if note is not None:
            credited = session.get(InvoiceDraft, note.invoice_id)
            assert credited is not None
            return _credit_note(note, credited.ref)
        row = session.execute(
            select(InvoiceDraft, Job.ref, Customer.code)
            .join(Job, Job.id == InvoiceDraft.job_id)
            .join(Customer, Customer.id == InvoiceDraft.customer_id)
            .where((InvoiceDraft.ref == ref) | (Job.ref == ref))
            .order_by(InvoiceDraft.id.desc())
        ).first()
        if row is None:
            raise NotFound(f"no invoice {ref} (nor one for a job {ref}); see `dispatch invoices list`")
        found = _invoice(row[0], row[1], row[2], lines=True)
        found["void_reason"] = row[0].void_reason
        credit = session.scalar(select(CreditNote).where(CreditNote.invoice_id == row[0].id))
        found["credit_note"] = _credit_note(credit, row[0].ref) if credit is not None else None
        return found


def list_credit_notes(db: Database, customer: str | None = None) -> list[dict[str, Any]]:
    """Credit notes, newest first."""
    query = (
        select(CreditNote, InvoiceDraft.ref)
        .join(InvoiceDraft, InvoiceDraft.id == CreditNote.invoice_id)
        .order_by(CreditNote.issued_on.desc(), CreditNote.ref.desc())
    )
    if customer is not None:
        query = query.join(Customer, Customer.id == CreditNote.customer_id).where(Customer.code == customer)
    with db.read() as session:
        return [_credit_note(note, ref) for note, ref in session.execute(query)]


def _quote(quote: Quote, job_ref: str, created_ref: str | None, lines: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "ref": quote.ref,
        "job": job_ref,
        "summary": quote.summary,
        "status": quote.status,
        "total": quote.total,
        "currency": quote.currency,
        "proposed_by": quote.proposed_by,
        "created_at": quote.created_at,
        "decided_at": quote.decided_at,
        "created_job": created_ref,
    }
    if lines:
        found["lines"] = [
            {"kind": q.kind, "description": q.description, "quantity": q.quantity, "unit_price": q.unit_price,
             "amount": q.amount}
            for q in quote.lines
        ]  # fmt: skip
    return found


def list_quotes(db: Database, status: QuoteStatus | None = None) -> list[dict[str, Any]]:
    with db.read() as session:
        query = select(Quote).order_by(Quote.created_at.desc(), Quote.ref)
        if status is not None:
            query = query.where(Quote.status == status)
        quotes = list(session.scalars(query))
        refs = _job_refs(session, {q.job_id for q in quotes} | {q.created_job_id for q in quotes if q.created_job_id})
        return [_quote(q, refs[q.job_id], refs.get(q.created_job_id or 0), lines=False) for q in quotes]


def quote_detail(db: Database, ref: str) -> dict[str, Any]:
    with db.read() as session:
        quote = session.scalar(select(Quote).where(Quote.ref == ref))
        if quote is None:
            raise NotFound(f"quote {ref} does not exist (see `dispatch quotes list`)")
        refs = _job_refs(session, {quote.job_id, quote.created_job_id or 0})
        return _quote(quote, refs[quote.job_id], refs.get(quote.created_job_id or 0), lines=True)


def _job_refs(session: Any, ids: set[int]) -> dict[int, str]:
    rows = session.execute(select(Job.id, Job.ref).where(Job.id.in_(ids))) if ids else []
    return {job_id: ref for job_id, ref in rows}
