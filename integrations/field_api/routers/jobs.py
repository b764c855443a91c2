"""One job of mine: its context, and everything a technician reports about it from the field."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path

from data.models.workforce import Technician
from data.queries.offers import offers_of_job
from data.services.completion import CompletionResult
from data.services.sync import ClientEventType, apply_now, job_of_technician
from integrations.field_api.actions import (
    completion_action,
    note_action,
    offer_action,
    photo_action,
    quote_action,
    signature_action,
    status_action,
)
from integrations.field_api.auth import Caller, Db, Writes
from integrations.field_api.context import job_context, job_out
from integrations.field_api.problems import ERROR_RESPONSES
from integrations.field_api.schemas import (
    ActionOut,
    CompletionIn,
    CompletionOut,
    JobContext,
    JobOut,
    NoteIn,
    OfferAnswerIn,
    OfferOut,
    PhotoIn,
    QuoteIn,
    QuoteOut,
    SignatureIn,
    StatusIn,
)

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=ERROR_RESPONSES)
Ref = Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,31}$", description="Job reference", examples=["J000042"])]


@router.get("/{ref}", summary="One of my jobs, with full context", response_model=JobContext)
def get_job(ref: Ref, me: Caller, db: Db) -> JobContext:
    """A job assigned to me; another technician's job is refused with 403."""
    with db.read() as session:
        tech = session.get(Technician, me.technician_id)
        assert tech is not None
        return job_context(session, job_of_technician(session, ref, tech))


@router.post("/{ref}/status", summary="Change my job's status", response_model=JobOut)
def post_status(ref: Ref, body: StatusIn, me: Caller, db: Db, lock: Writes) -> JobOut:
    """Move the job through the field part of its life: `en_route`, `on_site` (sets the arrival time the
    first time; also resumes a pause), `paused`, `dispatched` (turned back) and `incomplete` (with a reason).
    An illegal move (e.g. `paused` while en route) answers 409 naming the allowed ones."""
    with lock:
        job = apply_now(
            db,
            me.actor,
            me.technician_id,
            ClientEventType.STATUS,
            status_action(body),
            job_ref=ref,
            occurred_at=body.at,
        )
    return job_out(job)


@router.post("/{ref}/notes", summary="Add a note to my job", response_model=ActionOut)
def post_note(ref: Ref, body: NoteIn, me: Caller, db: Db, lock: Writes) -> ActionOut:
    with lock:
        note = apply_now(
            db, me.actor, me.technician_id, ClientEventType.NOTE, note_action(body), job_ref=ref, occurred_at=body.at
        )
    return ActionOut(job=ref, kind="note", id=note.id)


@router.post("/{ref}/photos", summary="Attach a photo reference", response_model=ActionOut)
def post_photo(ref: Ref, body: PhotoIn, me: Caller, db: Db, lock: Writes) -> ActionOut:
    """Record where the phone stored a photo (the file itself is uploaded elsewhere)."""
    with lock:
        photo = apply_now(db, me.actor, me.technician_id, ClientEventType.PHOTO, photo_action(body), job_ref=ref)
    return ActionOut(job=ref, kind="photo", id=photo.id)


@router.post("/{ref}/signature", summary="Record the customer's signature", response_model=ActionOut)
def post_signature(ref: Ref, body: SignatureIn, me: Caller, db: Db, lock: Writes) -> ActionOut:
    """Signer, time and the SHA-256 of the summary they signed. Logged as `job.signed`; the completion
    report carries it (sent before the report, or filling in a report written without one)."""
    with lock:
        apply_now(db, me.actor, me.technician_id, ClientEventType.SIGNATURE, signature_action(body), job_ref=ref)
    return ActionOut(job=ref, kind="signature")


@router.post("/{ref}/completion", summary="Send the completion report", response_model=CompletionOut)
def post_completion(ref: Ref, body: CompletionIn, me: Caller, db: Db, lock: Writes) -> CompletionOut:
    """Complete (or leave incomplete) a job that is on site or paused: labour and travel time, parts from my
    van (serials for tracked parts), expenses (amounts as decimal strings), resolution code, first-time fix
    or the follow-up visit needed, signature, notes. Drafts the invoice and updates my timesheet."""
    with lock:
        result: CompletionResult = apply_now(
            db, me.actor, me.technician_id, ClientEventType.COMPLETION, completion_action(body), job_ref=ref
        )
    return CompletionOut(
        job=result.job_ref,
        status=result.status.value,
        report_id=result.report_id,
        invoice_ref=result.invoice_ref,
        invoice_total=result.invoice_total,
        follow_up_ref=result.follow_up_ref,
        part_return_ids=result.part_return_ids,
        repeated=result.repeated,
    )


@router.post("/{ref}/quotes", summary="Propose extra work to the customer", response_model=QuoteOut)
def post_quote(ref: Ref, body: QuoteIn, me: Caller, db: Db, lock: Writes) -> QuoteOut:
    """On site or paused: a quote with its lines (amounts as decimal strings); accepted, it becomes a job."""
    with lock:
        quote = apply_now(db, me.actor, me.technician_id, ClientEventType.QUOTE, quote_action(body), job_ref=ref)
    return QuoteOut(ref=quote.ref, job=ref, status=quote.status.value, currency=quote.currency, total=quote.total)


@router.post("/{ref}/offers", summary="Record the customer's answer to a CRM offer", response_model=OfferOut)
def post_offer_answer(ref: Ref, body: OfferAnswerIn, me: Caller, db: Db, lock: Writes) -> OfferOut:
    """One of the `offers` of this job: the customer is `interested` or has `accepted`. The answer goes back
    to the CRM the offer came from; an acceptance on site with a price also becomes a proposed quote here.
    Answers only move forward (interested, then accepted); repeating one changes nothing."""
    with lock:
        apply_now(db, me.actor, me.technician_id, ClientEventType.OFFER, offer_action(body), job_ref=ref)
    with db.read() as session:
        tech = session.get(Technician, me.technician_id)
        assert tech is not None
        job = job_of_technician(session, ref, tech)
        line = next(o for o in offers_of_job(session, job) if o.id == body.offer_id)
    return OfferOut(**asdict(line))
