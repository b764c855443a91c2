"""Quotes for extra work found on site: proposed by the technician, accepted (becoming a job) or declined."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import IllegalTransition, InvalidInput, NotFound
from data.models.base import utcnow
from data.models.customers import Asset, Contract, Site
from data.models.field import LineKind, Quote, QuoteLine, QuoteStatus
from data.models.jobs import Job, JobStatus, JobType
from data.models.org import Branch
from data.services.invoicing import cents
from data.services.jobs import JobDraft, create_job_in, find_job
from data.uow import UnitOfWork


@dataclass(frozen=True)
class QuoteLineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    kind: LineKind = LineKind.LABOUR


@dataclass(frozen=True)
class QuoteInput:
    summary: str
    lines: list[QuoteLineInput]
    duration_minutes: int
    job_type: JobType = JobType.REPAIR
    skills: dict[str, int] = field(default_factory=dict)


def _check(quote: QuoteInput, record: str) -> None:
    if not quote.summary.strip():
        raise InvalidInput("must not be empty", record=record, field="summary")
    if not quote.lines:
        raise InvalidInput("a quote needs at least one line", record=record, field="lines")
    if quote.duration_minutes <= 0 or quote.duration_minutes > 24 * 60:
        raise InvalidInput("must be between 1 and 1440 minutes", record=record, field="duration_minutes")
    for i, line in enumerate(quote.lines):
        for name in ("quantity", "unit_price"):
            value = getattr(line, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise InvalidInput("must be a Decimal", record=record, field=f"lines[{i}].{name}")
        if line.quantity <= 0:
            raise InvalidInput("must be positive", record=record, field=f"lines[{i}].quantity")
        if line.kind is not LineKind.DISCOUNT and line.unit_price < 0:
            raise InvalidInput("must not be negative (use a discount line)", record=record, field=f"lines[{i}]")


def quote_payload(quote: Quote, job: Job) -> dict[str, Any]:
    return {
        "ref": quote.ref,
        "job_ref": job.ref,
        "customer_id": quote.customer_id,
        "summary": quote.summary,
        "status": quote.status,
        "currency": quote.currency,
        "total": quote.total,
        "lines": [
            {
                "kind": ln.kind,
                "description": ln.description,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "amount": ln.amount,
            }
            for ln in quote.lines
        ],
    }


def propose_quote(db: Database, actor: Actor, job_ref: str | int, quote: QuoteInput) -> Quote:
    """A technician on site (or a dispatcher for them) proposes extra work to the customer."""
    with UnitOfWork(db, actor) as uow:
        return propose_quote_in(uow, job_ref, quote)


def propose_quote_in(uow: UnitOfWork, job_ref: str | int, quote: QuoteInput) -> Quote:
    actor = uow.actor
    s = uow.session
    job = find_job(s, job_ref)
    record = f"quote on job {job.ref}"
    if job.technician_id is None:
        raise IllegalTransition(f"job {job.ref} has no technician on site to propose a quote")
    actor.require_field(job.technician_id, f"propose quotes on job {job.ref}")
    if job.status not in (JobStatus.ON_SITE, JobStatus.PAUSED):
        raise IllegalTransition(f"job {job.ref} is {job.status.value}; quotes are proposed on site")
    _check(quote, record)
    branch = s.get(Branch, job.branch_id)
    assert branch is not None
    lines = []
    for i, ln in enumerate(quote.lines, start=1):
        amount = cents(ln.quantity * ln.unit_price)
        if ln.kind is LineKind.DISCOUNT:
            amount = -abs(amount)
        lines.append(
            QuoteLine(
                position=i,
                kind=ln.kind,
                description=ln.description[:300],
                quantity=ln.quantity,
                unit_price=cents(ln.unit_price),
                amount=amount,
            )
        )
    total = sum((ln.amount for ln in lines), Decimal("0.00"))
    if total < 0:
        raise InvalidInput("discounts exceed the quoted work", record=record, field="lines")
    existing = len(s.scalars(select(Quote.id).where(Quote.job_id == job.id)).all())
    row = Quote(
        ref=f"Q-{job.ref}-{existing + 1}",
        job_id=job.id,
        customer_id=job.customer_id,
        summary=quote.summary.strip(),
        job_type=quote.job_type.value,
        duration_minutes=quote.duration_minutes,
        skills=dict(quote.skills),
        currency=branch.currency,
        total=total,
        proposed_by=actor.login,
    )
    row.lines = lines
    s.add(row)
    s.flush()
    uow.emit("quote.proposed", "quote", row.id, quote_payload(row, job))
    return row


def _decide(uow: UnitOfWork, quote_ref: str, verb: str) -> tuple[Quote, Job]:
    s = uow.session
    quote = s.scalar(select(Quote).where(Quote.ref == quote_ref))
    if quote is None:
        raise NotFound(f"quote {quote_ref} does not exist")
    job = s.get(Job, quote.job_id)
    assert job is not None
    uow.actor.require_field(job.technician_id or -1, f"{verb} quote {quote.ref}")
    if quote.status is not QuoteStatus.PROPOSED:
        raise IllegalTransition(f"quote {quote.ref} is already {quote.status.value}")
    return quote, job


def accept_quote(
    db: Database,
    actor: Actor,
    quote_ref: str,
    *,
    at: datetime | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> tuple[Quote, Job]:
    """The customer accepts: the quote becomes a new job at the same site (for dispatch to plan)."""
    with UnitOfWork(db, actor) as uow:
        quote, job = _decide(uow, quote_ref, "accept")
        s = uow.session
        site = s.get(Site, job.site_id)
        asset = s.get(Asset, job.asset_id) if job.asset_id else None
        contract = s.get(Contract, job.contract_id) if job.contract_id else None
        assert site is not None
        when = at or utcnow()
        new_job = create_job_in(
            uow,
            JobDraft(
                type=JobType(quote.job_type),
                site_code=site.code,
                summary=quote.summary,
                duration_minutes=quote.duration_minutes,
                priority=job.priority,
                skills=dict(quote.skills),
                description=f"Quote {quote.ref} accepted ({quote.total} {quote.currency})",
                asset_serial=asset.serial if asset else None,
                contract_code=contract.code if contract and contract.valid_on(when.date()) else None,
                window_start=window_start,
                window_end=window_end,
                created_at=when,
            ),
        )
        quote.status = QuoteStatus.ACCEPTED
        quote.decided_at = when
        quote.created_job_id = new_job.id
        uow.emit("quote.accepted", "quote", quote.id, quote_payload(quote, job) | {"created_job_ref": new_job.ref})
        return quote, new_job


def decline_quote(db: Database, actor: Actor, quote_ref: str, *, at: datetime | None = None) -> Quote:
    with UnitOfWork(db, actor) as uow:
        quote, job = _decide(uow, quote_ref, "decline")
        quote.status = QuoteStatus.DECLINED
        quote.decided_at = at or utcnow()
        uow.emit("quote.declined", "quote", quote.id, quote_payload(quote, job))
        return quote
