"""Turning validated API bodies into the data layer's field actions, for single calls and offline batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from data.models.base import utcnow
from data.models.field import LineKind, ReportOutcome
from data.models.jobs import JobStatus, JobType
from data.models.offers import OfferResponse
from data.services.attendance import ClockAct
from data.services.completion import CompletionInput, ExpenseInput, FollowUpInput, PartInput, SignatureInput
from data.services.crm_offers import OfferAnswer
from data.services.quotes import QuoteInput, QuoteLineInput
from data.services.sync import (
    ClientEvent,
    ClientEventType,
    CompletionAction,
    MessageText,
    NoteText,
    PhotoReference,
    PositionPing,
    SignatureRecord,
    StatusChange,
    Unreadable,
)
from integrations.field_api.schemas import (
    ClientEventIn,
    ClockIn,
    CompletionIn,
    MessageIn,
    NoteIn,
    OfferAnswerIn,
    PhotoIn,
    PositionIn,
    QuoteIn,
    SignatureIn,
    StatusIn,
)


def status_action(body: StatusIn, _at: datetime | None = None) -> StatusChange:
    return StatusChange(JobStatus(body.status), body.reason)


def position_action(body: PositionIn, _at: datetime | None = None) -> PositionPing:
    return PositionPing(body.lat, body.lon)


def note_action(body: NoteIn, _at: datetime | None = None) -> NoteText:
    return NoteText(body.body)


def message_action(body: MessageIn, _at: datetime | None = None) -> MessageText:
    return MessageText(body.body)


def photo_action(body: PhotoIn, at: datetime | None = None) -> PhotoReference:
    return PhotoReference(body.uri, body.caption, body.taken_at or at)


def signature_action(body: SignatureIn, _at: datetime | None = None) -> SignatureRecord:
    return SignatureRecord(body.signer_name, body.signed_at, body.summary_sha256, body.image)


def completion_action(body: CompletionIn, at: datetime | None = None) -> CompletionAction:
    """The report as the completion service takes it; money stays Decimal from the string it arrived as."""
    report = CompletionInput(
        actual_start=body.actual_start,
        actual_end=body.actual_end or at or utcnow(),
        labour_minutes=body.labour_minutes,
        travel_minutes=body.travel_minutes,
        resolution_code=body.resolution_code,
        first_time_fix=body.first_time_fix,
        parts=[PartInput(p.sku, p.quantity, list(p.serials)) for p in body.parts],
        expenses=[ExpenseInput(e.kind, e.description, e.amount, e.receipt_ref) for e in body.expenses],
        follow_up=FollowUpInput(body.follow_up.description, body.follow_up.duration_minutes, body.follow_up.skills)
        if body.follow_up
        else None,
        signature=SignatureInput(
            body.signature.signer_name, body.signature.signed_at, body.signature.summary, image=body.signature.image
        )
        if body.signature
        else None,
        notes=body.notes,
        client_event_id=body.client_event_id,
    )
    return CompletionAction(ReportOutcome(body.outcome), report)


def clock_action(body: ClockIn, _at: datetime | None = None) -> ClockAct:
    return ClockAct(body.act)


def quote_action(body: QuoteIn, _at: datetime | None = None) -> QuoteInput:
    return QuoteInput(
        summary=body.summary,
        lines=[QuoteLineInput(ln.description, ln.quantity, ln.unit_price, LineKind(ln.kind)) for ln in body.lines],
        duration_minutes=body.duration_minutes,
        job_type=JobType(body.job_type),
    )


def offer_action(body: OfferAnswerIn, _at: datetime | None = None) -> OfferAnswer:
    return OfferAnswer(body.offer_id, OfferResponse(body.response), body.note, body.duration_minutes)


# Per client event type: the body model that validates its payload and the converter to an action.
PAYLOADS: dict[ClientEventType, tuple[type[BaseModel], Callable[[Any, datetime | None], Any]]] = {
    ClientEventType.STATUS: (StatusIn, status_action),
    ClientEventType.POSITION: (PositionIn, position_action),
    ClientEventType.NOTE: (NoteIn, note_action),
    ClientEventType.PHOTO: (PhotoIn, photo_action),
    ClientEventType.SIGNATURE: (SignatureIn, signature_action),
    ClientEventType.COMPLETION: (CompletionIn, completion_action),
    ClientEventType.CLOCK: (ClockIn, clock_action),
    ClientEventType.QUOTE: (QuoteIn, quote_action),
    ClientEventType.MESSAGE: (MessageIn, message_action),
    ClientEventType.OFFER: (OfferAnswerIn, offer_action),
}


def client_event(item: ClientEventIn) -> ClientEvent:
    """One batch item as a data-layer event; an unreadable payload becomes a per-item rejection, not a 422."""
    kind = ClientEventType(item.type)
    action: Any
    spec = PAYLOADS.get(kind)
    if spec is None:
        action = Unreadable(f"'{kind.value}' events are not accepted by this server", "type")
    else:
        model, convert = spec
        try:
            action = convert(model.model_validate(item.payload), item.occurred_at)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            action = Unreadable(first.get("msg", "invalid"), f"payload.{where}" if where else "payload")
        except ValueError as err:
            action = Unreadable(str(err), "payload")
    return ClientEvent(item.client_event_id, kind, item.occurred_at, action, item.job_ref)
