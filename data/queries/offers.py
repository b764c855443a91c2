"""The CRM offers a job's technician can bring up on site: the customer's open ones, and those answered on this job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from data.db import Database
from data.models.field import Quote
from data.models.jobs import Job
from data.models.offers import CrmOffer
from data.services.jobs import find_job


@dataclass(frozen=True)
class OfferLine:
    id: int
    system: str
    kind: str
    title: str
    description: str | None
    amount: Decimal | None
    currency: str | None
    open: bool
    response: str
    note: str | None
    responded_by: str | None
    responded_at: datetime | None
    quote_ref: str | None


def offers_of_job(session: Session, job: Job) -> list[OfferLine]:
    """Open offers of the job's customer, plus any answered on this job (even if the CRM closed them since)."""
    rows = session.scalars(
        select(CrmOffer)
        .where(CrmOffer.customer_id == job.customer_id)
        .where(or_(CrmOffer.open.is_(True), CrmOffer.response_job_id == job.id))
        .order_by(CrmOffer.id)
    ).all()
    quote_ids = [r.quote_id for r in rows if r.quote_id is not None]
    quotes = {qid: qref for qid, qref in session.execute(select(Quote.id, Quote.ref).where(Quote.id.in_(quote_ids)))}
    return [
        OfferLine(
            r.id,
            r.system,
            r.kind,
            r.title,
            r.description,
            r.amount,
            r.currency,
            r.open,
            r.response.value,
            r.response_note,
            r.responded_by,
            r.responded_at,
            quotes.get(r.quote_id) if r.quote_id is not None else None,
        )
        for r in rows
    ]


def job_offers(db: Database, job_ref: str) -> list[OfferLine]:
    with db.read() as session:
        return offers_of_job(session, find_job(session, job_ref))
