"""Invoice drafts on completion: labour, call-out, parts and expenses priced exactly, with warranty and contract cover.

The pricing itself (`price_visit`) is a pure function of plain values so its arithmetic can be
checked exhaustively; `draft_invoice_in` gathers those values from the database and stores the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.errors import IllegalTransition, InvalidInput, NotFound
from data.models.customers import Asset, Contract, PriceList
from data.models.field import (
    CANCELLED_INVOICE_STATUSES,
    VOIDABLE_STATUSES,
    CompletionReport,
    CreditNote,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from data.models.jobs import Job
from data.models.org import Branch
from data.models.stock import Part
from data.models.workforce import Technician
from data.permissions import Permission
from data.services.invoice_numbers import SeriesKind, next_ref
from data.uow import UnitOfWork

CENT = Decimal("0.01")
QUANTITY = Decimal("0.0001")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def billed_labour_minutes(minutes: int, increment: int, minimum: int) -> int:
    """Labour is billed in whole increments, rounded up, never below the minimum charge."""
    if minutes <= 0:
        return 0
    step = max(increment, 1)
    rounded = -(-minutes // step) * step
    return max(rounded, minimum)


@dataclass(frozen=True)
class Cover:
    """Why a line costs the customer nothing (None: it is billed)."""

    reason: str | None = None


@dataclass(frozen=True)
class PartCharge:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    cover: Cover = Cover()


@dataclass(frozen=True)
class ExpenseCharge:
    kind: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class Visit:
    """Everything the bill depends on, already resolved to plain values."""

    labour_minutes: int
    labour_rate: Decimal  # per hour
    increment_minutes: int
    minimum_minutes: int
    callout_fee: Decimal
    tax_rate: Decimal
    parts: list[PartCharge] = field(default_factory=list)
    expenses: list[ExpenseCharge] = field(default_factory=list)
    labour_cover: Cover = Cover()


@dataclass(frozen=True)
class PricedLine:
    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    covered: bool
    covered_reason: str | None
    tax_rate: Decimal
    tax_amount: Decimal
    sku: str | None = None


@dataclass(frozen=True)
class PricedVisit:
    lines: list[PricedLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def _line(
    kind: LineKind,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    full_amount: Decimal,
    tax_rate: Decimal,
    cover: Cover,
    sku: str | None = None,
) -> PricedLine:
    covered = cover.reason is not None
    amount = ZERO if covered else cents(full_amount)
    return PricedLine(
        kind=kind,
        description=description,
        quantity=quantity.quantize(QUANTITY, rounding=ROUND_HALF_UP),
        unit_price=cents(unit_price),
        amount=amount,
        covered=covered,
        covered_reason=cover.reason,
        tax_rate=tax_rate,
        tax_amount=cents(amount * tax_rate),
        sku=sku,
    )


def price_visit(visit: Visit) -> PricedVisit:
    """Price every line to the cent (ROUND_HALF_UP); totals are sums of the rounded lines, so they reconcile."""
    for name, value in (
        ("labour_rate", visit.labour_rate),
        ("callout_fee", visit.callout_fee),
        ("tax_rate", visit.tax_rate),
    ):
        if not isinstance(value, Decimal):
            raise TypeError(f"{name} must be Decimal, got {type(value).__name__}")
    lines: list[PricedLine] = []
    minutes = billed_labour_minutes(visit.labour_minutes, visit.increment_minutes, visit.minimum_minutes)
    if minutes:
        hours = Decimal(minutes) / Decimal(60)
        lines.append(
            _line(
                LineKind.LABOUR,
                f"Labour {minutes} min ({visit.labour_minutes} min worked, billed per {visit.increment_minutes} min)",
                hours,
                visit.labour_rate,
                visit.labour_rate * Decimal(minutes) / Decimal(60),
                visit.tax_rate,
                visit.labour_cover,
            )
        )
    if visit.callout_fee > 0:
        lines.append(
            _line(
                LineKind.CALLOUT,
                "Call-out fee",
                Decimal(1),
                visit.callout_fee,
                visit.callout_fee,
                visit.tax_rate,
                visit.labour_cover,
            )
        )
    for part in visit.parts:
        if not isinstance(part.unit_price, Decimal):
            raise TypeError(f"price of {part.sku} must be Decimal")
        lines.append(
            _line(
                LineKind.PART,
                f"{part.sku} {part.name}",
                Decimal(part.quantity),
                part.unit_price,
                part.unit_price * part.quantity,
                visit.tax_rate,
                part.cover,
                sku=part.sku,
            )
        )
    for expense in visit.expenses:
        if not isinstance(expense.amount, Decimal):
            raise TypeError(f"expense {expense.description!r} must be Decimal")
        lines.append(
            _line(
                LineKind.EXPENSE,
                f"{expense.kind}: {expense.description}",
                Decimal(1),
                expense.amount,
                expense.amount,
                visit.tax_rate,
                Cover(),
            )
        )
    subtotal = sum((ln.amount for ln in lines), ZERO)
    tax = sum((ln.tax_amount for ln in lines), ZERO)
    return PricedVisit(lines, subtotal, tax, subtotal + tax)


def price_list_for(uow: UnitOfWork, contract: Contract | None) -> PriceList:
    """The contract's price list, else the company default (the first price list created)."""
    s = uow.session
    if contract is not None and contract.price_list_id is not None:
        pl = s.get(PriceList, contract.price_list_id)
        if pl is not None:
            return pl
    pl = s.scalar(select(PriceList).order_by(PriceList.id).limit(1))
    if pl is None:
        raise InvalidInput("no price list exists: create one before completing jobs", record="invoice", field="price")
    return pl


def contract_covers_visit(contract: Contract | None, job: Job, at: datetime, tz: str) -> bool:
    """A valid contract covers labour and call-out for its job types started within its coverage hours."""
    if contract is None:
        return False
    local = at.astimezone(ZoneInfo(tz))
    return (
        contract.valid_on(local.date())
        and job.type.value in contract.covered_job_types
        and local.weekday() in contract.coverage_weekdays
        and contract.coverage_start <= local.time() < contract.coverage_end
    )


def part_cover(asset: Asset | None, contract: Contract | None, sku: str, on: date) -> Cover:
    """Warranty first (the manufacturer pays), then the service contract's covered parts."""
    if asset is not None and asset.under_warranty(on):
        assert asset.warranty_end is not None
        return Cover(f"warranty: asset {asset.serial} under warranty until {asset.warranty_end.isoformat()}")
    if contract is not None and contract.valid_on(on) and sku in contract.covered_part_skus:
        return Cover(f"contract {contract.code} covers part {sku}")
    return Cover()


def draft_invoice_in(uow: UnitOfWork, job: Job, report: CompletionReport) -> InvoiceDraft:
    """Price the visit and store the draft (in the caller's transaction); emits `invoice.drafted`."""
    s = uow.session
    branch = s.get(Branch, job.branch_id)
    assert branch is not None
    contract = s.get(Contract, job.contract_id) if job.contract_id else None
    asset = s.get(Asset, job.asset_id) if job.asset_id else None
    price_list = price_list_for(uow, contract)
    on = report.actual_end.astimezone(ZoneInfo(branch.timezone)).date()
    labour_cover = Cover()
    if contract_covers_visit(contract, job, report.actual_start, branch.timezone):
        assert contract is not None
        labour_cover = Cover(f"contract {contract.code} covers {job.type.value} within coverage hours")
    parts: list[PartCharge] = []
    for used in report.parts:
        part = s.get(Part, used.part_id)
        assert part is not None
        listed = price_list.part_prices.get(part.sku)
        unit = Decimal(str(listed)) if listed is not None else part.list_price
        parts.append(PartCharge(part.sku, part.name, used.quantity, unit, part_cover(asset, contract, part.sku, on)))
    visit = Visit(
        labour_minutes=report.labour_minutes,
        labour_rate=price_list.labour_rate,
        increment_minutes=price_list.labour_increment_minutes,
        minimum_minutes=price_list.labour_minimum_minutes,
        callout_fee=price_list.callout_fee,
        tax_rate=branch.tax_rate,
        parts=parts,
        expenses=[ExpenseCharge(e.kind, e.description, e.amount) for e in report.expenses],
        labour_cover=labour_cover,
    )
    priced = price_visit(visit)
    invoice = InvoiceDraft(
        ref=next_ref(s, branch.id, branch.code, SeriesKind.INVOICE, on.year),
        job_id=job.id,
        customer_id=job.customer_id,
        branch_id=job.branch_id,
        technician_id=report.technician_id,
        currency=price_list.currency,
        subtotal=priced.subtotal,
        tax=priced.tax,
        total=priced.total,
        issued_on=on,
    )
    invoice.lines = [
        InvoiceLine(
            position=i,
            kind=ln.kind,
            description=ln.description[:300],
            sku=ln.sku,
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            amount=ln.amount,
            covered=ln.covered,
            covered_reason=ln.covered_reason,
            tax_rate=ln.tax_rate,
            tax_amount=ln.tax_amount,
        )
        for i, ln in enumerate(priced.lines, start=1)
    ]
    s.add(invoice)
    s.flush()
    tech = s.get(Technician, report.technician_id)
    uow.emit("invoice.drafted", "invoice", invoice.id, invoice_payload(invoice, job, tech.code if tech else None))
    return invoice


def invoice_payload(invoice: InvoiceDraft, job: Job, technician_code: str | None) -> dict[str, Any]:
    return {
        "ref": invoice.ref,
        "job_ref": job.ref,
        "customer_id": invoice.customer_id,
        "branch_id": invoice.branch_id,
        "technician": technician_code,
        "currency": invoice.currency,
        "issued_on": invoice.issued_on,
        "status": invoice.status,
        "lines": [
            {
                "position": ln.position,
                "kind": ln.kind,
                "description": ln.description,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "amount": ln.amount,
                "covered": ln.covered,
                "covered_reason": ln.covered_reason,
                "tax_rate": ln.tax_rate,
                "tax_amount": ln.tax_amount,
            }
            for ln in invoice.lines
        ],
        "subtotal": invoice.subtotal,
        "tax": invoice.tax,
        "total": invoice.total,
    }


def invoice_for_job(session: Session, job_id: int) -> InvoiceDraft | None:
    """The job's live invoice (not void, not credited); None when it has none."""
    return session.scalar(
        select(InvoiceDraft)
        .where(InvoiceDraft.job_id == job_id, InvoiceDraft.status.not_in(CANCELLED_INVOICE_STATUSES))
        .order_by(InvoiceDraft.id.desc())
        .limit(1)
    )


def required_reason(reason: str, record: str) -> str:
    """The reason a person gives for undoing something: required, at most 300 characters."""
    text = (reason or "").strip()
    if not text or len(text) > 300:
        raise InvalidInput("say why, in at most 300 characters", record=record, field="reason")
    return text


def void_invoice_in(uow: UnitOfWork, invoice: InvoiceDraft, reason: str, at: datetime) -> InvoiceDraft:
    """Withdraw a draft nobody was billed by: status void, its number kept; emits `invoice.voided`."""
    record = f"invoice {invoice.ref}"
    text = required_reason(reason, record)
    if invoice.status not in VOIDABLE_STATUSES:
        raise IllegalTransition(
            f"invoice {invoice.ref} is {invoice.status.value}: only a draft can be voided; "
            f"credit it instead (`dispatch invoices credit {invoice.ref} --reason ...`)"
        )
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = at
    invoice.void_reason = text
    uow.session.flush()
    job = uow.session.get(Job, invoice.job_id)
    assert job is not None
    uow.emit(
        "invoice.voided",
        "invoice",
        invoice.id,
        {"ref": invoice.ref, "job_ref": job.ref, "customer_id": invoice.customer_id, "branch_id": invoice.branch_id,
         "total": invoice.total, "currency": invoice.currency, "reason": text},
    )  # fmt: skip
    return invoice


def credit_invoice_in(uow: UnitOfWork, invoice: InvoiceDraft, reason: str, on: date) -> CreditNote:
    """Cancel an invoice in full by a credit note from the branch's credit note series; emits `credit_note.issued`."""
    record = f"invoice {invoice.ref}"
    text = required_reason(reason, record)
    if invoice.status in CANCELLED_INVOICE_STATUSES:
        raise IllegalTransition(f"invoice {invoice.ref} is already {invoice.status.value}: nothing is left to credit")
    s = uow.session
    branch = s.get(Branch, invoice.branch_id)
    job = s.get(Job, invoice.job_id)
    assert branch is not None and job is not None
    note = CreditNote(
        ref=next_ref(s, branch.id, branch.code, SeriesKind.CREDIT_NOTE, on.year),
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        branch_id=invoice.branch_id,
        currency=invoice.currency,
        subtotal=invoice.subtotal,
        tax=invoice.tax,
        total=invoice.total,
        reason=text,
        issued_on=on,
        created_by=uow.actor.login,
    )
    s.add(note)
    invoice.status = InvoiceStatus.CREDITED
    s.flush()
    tech = s.get(Technician, invoice.technician_id) if invoice.technician_id else None
    uow.emit("credit_note.issued", "credit_note", note.id, credit_note_payload(note, invoice, job, tech))
    return note


def credit_note_payload(note: CreditNote, invoice: InvoiceDraft, job: Job, tech: Technician | None) -> dict[str, Any]:
    """What an accounting connector needs: the note, and the credited invoice's lines it cancels."""
    credited = invoice_payload(invoice, job, tech.code if tech else None)
    return {
        "ref": note.ref,
        "invoice_ref": invoice.ref,
        "job_ref": job.ref,
        "customer_id": note.customer_id,
        "branch_id": note.branch_id,
        "currency": note.currency,
        "issued_on": note.issued_on,
        "reason": note.reason,
        "lines": credited["lines"],
        "subtotal": note.subtotal,
        "tax": note.tax,
        "total": note.total,
    }


def _find_invoice(session: Session, ref: str) -> InvoiceDraft:
    invoice = session.scalar(select(InvoiceDraft).where(InvoiceDraft.ref == ref))
    if invoice is None:
        raise NotFound(f"no invoice {ref}; see `dispatch invoices list`")
    return invoice


def credit_invoice(db: Database, actor: Actor, ref: str, reason: str, on: date | None = None) -> CreditNote:
    """The office cancels an issued invoice with a credit note (dated today in the branch's zone by default)."""
    with UnitOfWork(db, actor) as uow:
        invoice = _find_invoice(uow.session, ref)
        for permission in (Permission.ASSIGN, Permission.SEE_MONEY):  # a write, and one about money
            actor.require_write(f"credit invoice {ref}", permission, invoice.branch_id)
        branch = uow.session.get(Branch, invoice.branch_id)
        assert branch is not None
        today = on or datetime.now(ZoneInfo(branch.timezone)).date()
        return credit_invoice_in(uow, invoice, reason, today)


def cancel_invoice_in(uow: UnitOfWork, invoice: InvoiceDraft, reason: str, at: datetime) -> dict[str, Any]:
    """Undo a bill: void a draft, credit anything issued. Says which was done."""
    if invoice.status in VOIDABLE_STATUSES:
        void_invoice_in(uow, invoice, reason, at)
        return {"invoice": invoice.ref, "action": "voided", "credit_note": None}
    branch = uow.session.get(Branch, invoice.branch_id)
    assert branch is not None
    note = credit_invoice_in(uow, invoice, reason, at.astimezone(ZoneInfo(branch.timezone)).date())
    return {"invoice": invoice.ref, "action": "credited", "credit_note": note.ref}
