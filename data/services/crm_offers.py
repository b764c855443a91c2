"""CRM offers marked for field follow-up: pulled in once each, answered on site, the answer sent back.

A CRM connector pulls the open offers (HubSpot deals, Salesforce opportunities, Dynamics 365
opportunities or quotes) whose field follow-up flag is set; each lands once per (system, external
id) under the customer the CRM names. The CRM owns title, description, amount and whether the offer
is open. On site the technician records what the customer said: interest, or acceptance. That is
one `offer.responded` event, which the delivery engine hands to the connector of the offer's system
as an update of the CRM record; an acceptance on a job under way also becomes a proposed quote here,
so the usual quote flow (accepted -> a job) carries any work that follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import DispatchError, IllegalTransition, InvalidInput, NotFound
from data.models.base import utcnow
from data.models.field import Quote
from data.models.jobs import AT_SITE_STATUSES, Job, JobType
from data.models.offers import CrmOffer, OfferResponse
from data.models.org import Branch
from data.services.crm_sync import SyncCounts, entity_for
from data.services.jobs import find_job
from data.services.quotes import QuoteInput, QuoteLineInput, propose_quote_in
from data.uow import UnitOfWork

STEPS = (OfferResponse.NONE, OfferResponse.INTERESTED, OfferResponse.ACCEPTED)


@dataclass(frozen=True)
class PulledOffer:
    external_id: str
    kind: str  # deal, opportunity, quote
    customer_external_id: str | None
    title: str
    open: bool = True
    amount: Decimal | None = None
    currency: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class OfferAnswer:
    """What the technician records on site about one offer of the job's customer."""

    offer_id: int
    response: OfferResponse
    note: str | None = None
    duration_minutes: int = 60  # of the quote an acceptance becomes


def offer_payload(offer: CrmOffer) -> dict[str, Any]:
    return {
        "offer_id": offer.id,
        "system": offer.system,
        "external_id": offer.external_id,
        "kind": offer.kind,
        "customer_id": offer.customer_id,
        "title": offer.title,
        "amount": offer.amount,
        "currency": offer.currency,
        "open": offer.open,
        "response": offer.response.value,
    }


def upsert_offers(db: Database, actor: Actor, system: str, rows: Sequence[PulledOffer]) -> SyncCounts:
    """Create or update each pulled offer in its own transaction; an offer of an unknown customer is named."""
    actor.require_write(f"sync offers from {system}")
    counts = SyncCounts()
    for row in rows:
        try:
            outcome = _upsert_offer(db, actor, system, row)
        except DispatchError as err:
            counts.skipped += 1
            counts.errors.append(f"{system} {row.kind} {row.external_id}: {err}")
            continue
        setattr(counts, outcome, getattr(counts, outcome) + 1)
    return counts


def _upsert_offer(db: Database, actor: Actor, system: str, row: PulledOffer) -> str:
    title = (row.title.strip() or f"{row.kind} {row.external_id}")[:300]
    if row.amount is not None and not row.amount.is_finite():
        raise InvalidInput("must be a finite amount", record=f"{system} offer {row.external_id}", field="amount")
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        offer = s.scalar(select(CrmOffer).where(CrmOffer.system == system, CrmOffer.external_id == row.external_id))
        if offer is None:
            if not row.open:
                return "unchanged"  # closed before it ever reached us
            customer_id = (
                entity_for(s, "customer", system, row.customer_external_id) if row.customer_external_id else None
            )
            if customer_id is None:
                raise DispatchError(f"its customer {row.customer_external_id or '(none)'} is not a known customer")
            offer = CrmOffer(
                system=system,
                external_id=row.external_id,
                kind=row.kind,
                customer_id=customer_id,
                title=title,
                description=row.description,
                amount=row.amount,
                currency=row.currency,
                open=True,
            )
            s.add(offer)
            s.flush()
            uow.emit("offer.pulled", "offer", offer.id, offer_payload(offer))
            return "created"
        values = {
            "title": title,
            "description": row.description,
            "amount": row.amount,
            "currency": row.currency,
            "open": row.open,
        }
        changes = {k: [getattr(offer, k), v] for k, v in values.items() if getattr(offer, k) != v}
        if not changes:
            return "unchanged"
        for name, (_old, new) in changes.items():
            setattr(offer, name, new)
        uow.emit("offer.updated", "offer", offer.id, offer_payload(offer) | {"changes": list(changes)})
        return "updated"


def respond_to_offer(
    db: Database, actor: Actor, job_ref: str | int, answer: OfferAnswer, *, at: datetime | None = None
) -> CrmOffer:
    with UnitOfWork(db, actor) as uow:
        return respond_to_offer_in(uow, job_ref, answer, at=at)


def respond_to_offer_in(
    uow: UnitOfWork, job_ref: str | int, answer: OfferAnswer, *, at: datetime | None = None
) -> CrmOffer:
    """Record the customer's interest or acceptance of one of their offers, seen on this job."""
    s = uow.session
    job = find_job(s, job_ref)
    record = f"offer {answer.offer_id} on job {job.ref}"
    if job.technician_id is None:
        raise IllegalTransition(f"job {job.ref} has no technician to record an offer's answer")
    uow.actor.require_field(job.technician_id, f"answer offers on job {job.ref}")
    if answer.response is OfferResponse.NONE:
        raise InvalidInput("must be interested or accepted", record=record, field="response")
    offer = s.get(CrmOffer, answer.offer_id)
    if offer is None or offer.customer_id != job.customer_id:
        raise NotFound(f"offer {answer.offer_id} is not an offer of job {job.ref}'s customer")
    if not offer.open:
        raise IllegalTransition(f"offer {offer.id} ({offer.title}) is no longer open in {offer.system}")
    if STEPS.index(answer.response) < STEPS.index(offer.response):
        raise IllegalTransition(f"offer {offer.id} is already {offer.response.value}")
    if answer.response is offer.response:
        return offer  # a repeat (a phone sending twice) changes nothing and tells the CRM nothing new
    offer.response = answer.response
    offer.response_note = answer.note.strip()[:4000] if answer.note and answer.note.strip() else None
    offer.responded_by = uow.actor.login
    offer.responded_at = at or utcnow()
    offer.response_job_id = job.id
    quote = _quote_for(uow, job, offer, answer) if answer.response is OfferResponse.ACCEPTED else None
    if quote is not None:
        offer.quote_id = quote.id
    s.flush()
    uow.emit(
        "offer.responded",
        "offer",
        offer.id,
        offer_payload(offer)
        | {
            "note": offer.response_note,
            "job_ref": job.ref,
            "responded_by": offer.responded_by,
            "responded_at": offer.responded_at,
            "quote_ref": quote.ref if quote is not None else None,
        },
    )
    return offer


def _quote_for(uow: UnitOfWork, job: Job, offer: CrmOffer, answer: OfferAnswer) -> Quote | None:
    """An accepted offer with a price, on a job under way, becomes a proposed quote in the branch's currency."""
    if offer.amount is None or job.status not in AT_SITE_STATUSES:  # where quotes are proposed
        return None
    branch = uow.session.get(Branch, job.branch_id)
    if branch is None or (offer.currency and offer.currency != branch.currency):
        return None
    line = QuoteLineInput(offer.title, Decimal("1"), offer.amount)
    return propose_quote_in(
        uow,
        job.ref,
        QuoteInput(
            summary=offer.title,
            lines=[line],
            duration_minutes=answer.duration_minutes,
            job_type=JobType.INSTALL,
        ),
    )
