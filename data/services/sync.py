"""Field events from technicians' phones, one at a time or as an offline batch, applied exactly once.

A phone that was offline for hours uploads what happened with its own ids and clock. Items are
applied in client-time order, each in its own transaction, so one bad item never sinks the rest.
Idempotency rides on the event log: every item leaves exactly one event whose idempotency key is
`field:<technician id>:<client_event_id>` (the position event itself, or a `field.client_event`
receipt written in the same transaction as the change). A replayed item finds its key and is
answered `duplicate`, changing nothing. Permanent rejections (an illegal transition, a job
reassigned meanwhile, bad input) are recorded the same way, so a replay answers `duplicate` too;
transient ones (a concurrent edit) are not, so the phone may retry them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from data.actor import Actor
from data.db import Database
from data.errors import (
    Conflict,
    DispatchError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
)
from data.models.base import utcnow
from data.models.events import Event
from data.models.field import CompletionReport, PhotoRef, Quote, ReportOutcome
from data.models.jobs import Job, JobNote, JobStatus, NoteAuthorKind
from data.models.messages import Message
from data.models.offers import CrmOffer
from data.models.workforce import Technician
from data.services.assigned import Reassigned, job_of_technician
from data.services.attendance import AttendanceEvent, ClockAct, record_act_in
from data.services.completion import CompletionInput, CompletionResult, SignatureInput, finish_in
from data.services.crm_offers import OfferAnswer, respond_to_offer_in
from data.services.field_files import file_facts, signature_file
from data.services.jobs import change_status_in, find_technician
from data.services.messages import post_in
from data.services.quotes import QuoteInput, propose_quote_in
from data.services.technicians import check_coordinates
from data.uow import UnitOfWork

# Clocks on phones drift; an event further ahead of ours than this is refused as a wrong clock.
CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 500
MAX_CLIENT_EVENT_ID = 100
MAX_NOTE = 4000
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Statuses a technician reports from the field; completion arrives as a report of its own.
FIELD_STATUSES = frozenset(
    {JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.PAUSED, JobStatus.DISPATCHED, JobStatus.INCOMPLETE}
)


class ClientEventType(StrEnum):
    STATUS = "status"
    POSITION = "position"
    NOTE = "note"
    PHOTO = "photo"
    SIGNATURE = "signature"
    COMPLETION = "completion"
    CLOCK = "clock"
    QUOTE = "quote"
    MESSAGE = "message"
    OFFER = "offer"


class SyncOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class StatusChange:
    status: JobStatus
    reason: str | None = None


@dataclass(frozen=True)
class PositionPing:
    lat: float
    lon: float


@dataclass(frozen=True)
class NoteText:
    body: str


@dataclass(frozen=True)
class MessageText:
    """A message to the office, on the job's thread (with a job ref) or the technician's own."""

    body: str


@dataclass(frozen=True)
class PhotoReference:
    uri: str
    caption: str | None = None
    taken_at: datetime | None = None  # defaults to the event's time


@dataclass(frozen=True)
class SignatureRecord:
    """A customer's signature captured on the phone: who, when, and the hash of what they signed."""

    signer_name: str
    signed_at: datetime
    summary_sha256: str
    image: str | None = None  # client_file_id of the uploaded signature image


@dataclass(frozen=True)
class CompletionAction:
    outcome: ReportOutcome
    report: CompletionInput


@dataclass(frozen=True)
class Unreadable:
    """A payload the edge could not read; applying it records a rejection naming the field."""

    message: str
    field: str | None = None


@dataclass(frozen=True)
class ClientEvent:
    """One thing that happened on the phone; `action` is the typed payload for `type`."""

    client_event_id: str
    type: ClientEventType
    occurred_at: datetime
    action: Any
    job_ref: str | None = None


@dataclass(frozen=True)
class ItemResult:
    client_event_id: str
    type: ClientEventType
    outcome: SyncOutcome
    code: str | None = None
    reason: str | None = None
    field: str | None = None
    retryable: bool = False


@dataclass
class FieldContext:
    """What an applier needs: the unit of work, the technician and the client's own clock."""

    uow: UnitOfWork
    technician: Technician
    occurred_at: datetime
    client_event_id: str | None = None


def idempotency_key(technician_id: int, client_event_id: str) -> str:
    return f"field:{technician_id}:{client_event_id}"


def error_code(err: DispatchError) -> str:
    """A stable, machine-readable name for an error, shared by the API and batch answers."""
    if isinstance(err, Reassigned):
        return "reassigned"
    if isinstance(err, InvalidInput):
        return "invalid_input"
    if isinstance(err, NotFound):
        return "not_found"
    if isinstance(err, PermissionDenied):
        return "forbidden"
    if isinstance(err, IllegalTransition):
        return "illegal_transition"
    if isinstance(err, Conflict):
        return "conflict"
    if isinstance(err, StorageUnavailable):
        return "unavailable"
    return type(err).__name__.lower()


def check_occurred_at(at: datetime, record: str) -> None:
    if at.tzinfo is None:
        raise InvalidInput("needs a time zone (e.g. 2026-11-25T09:00:00+02:00)", record=record, field="occurred_at")
    if at > utcnow() + CLOCK_SKEW:
        raise InvalidInput(
            f"{at.isoformat()} is in the future; check the phone's clock", record=record, field="occurred_at"
        )


# --- appliers: each makes one kind of change inside the caller's unit of work -------------------------


def record_positions_in(
    uow: UnitOfWork, tech: Technician, pings: Sequence[tuple[PositionPing, datetime]], key: str | None = None
) -> int:
    """Record fixes in one transaction (a phone sends them in bursts); the live position only moves forward.

    The same rules as data.services.technicians.record_position, for many pings at once.
    """
    uow.actor.require_field(tech.id, "report positions")
    for ping, when in pings:
        check_coordinates(ping.lat, ping.lon, f"position of {tech.code}")
        if tech.last_seen_at is None or when >= tech.last_seen_at:
            tech.last_lat, tech.last_lon, tech.last_seen_at = ping.lat, ping.lon, when
        uow.emit(
            "technician.position",
            "technician",
            tech.id,
            {"code": tech.code, "lat": ping.lat, "lon": ping.lon, "at": when},
            idempotency_key=key,
        )
    return len(pings)


def _technician_for_ping(session: Session, technician: str | int) -> Technician:
    """The technician row alone: a ping needs neither skills nor shifts, and pings are the hot path."""
    by_id = isinstance(technician, int) or (str(technician).isdigit() and len(str(technician)) < 18)
    column = Technician.id if by_id else Technician.code
    tech = session.scalar(
        select(Technician)
        .where(column == (int(technician) if by_id else str(technician)))
        .options(lazyload(Technician.skills), lazyload(Technician.shifts))
    )
    if tech is None:
        raise NotFound(f"technician {technician} does not exist")
    return tech


def record_positions(
    db: Database, actor: Actor, technician: str | int, pings: Sequence[tuple[PositionPing, datetime | None]]
) -> int:
    now = utcnow()
    timed = [(ping, at or now) for ping, at in pings]
    for _, at in timed:
        check_occurred_at(at, "position")
    with UnitOfWork(db, actor) as uow:
        return record_positions_in(uow, _technician_for_ping(uow.session, technician), timed)


def _require_job(ctx: FieldContext, job_ref: str | None, kind: str) -> Job:
    if not job_ref:
        raise InvalidInput(f"a {kind} needs the job it is about", record=f"{kind} event", field="job_ref")
    return job_of_technician(ctx.uow.session, job_ref, ctx.technician)


def apply_status(ctx: FieldContext, job_ref: str | None, change: StatusChange) -> Job:
    job = _require_job(ctx, job_ref, "status change")
    if change.status not in FIELD_STATUSES:
        allowed = ", ".join(sorted(s.value for s in FIELD_STATUSES))
        hint = "; send a completion report to complete a job" if change.status is JobStatus.COMPLETED else ""
        raise InvalidInput(
            f"'{change.status.value}' is not a field status (allowed: {allowed}){hint}",
            record=f"job {job.ref}",
            field="status",
        )
    if change.status is JobStatus.INCOMPLETE and not (change.reason or "").strip():
        raise InvalidInput("an incomplete visit needs a reason", record=f"job {job.ref}", field="reason")
    return change_status_in(ctx.uow, job.ref, change.status, at=ctx.occurred_at, reason=change.reason)


def apply_note(ctx: FieldContext, job_ref: str | None, note: NoteText) -> JobNote:
    job = _require_job(ctx, job_ref, "note")
    body = note.body.strip()
    if not body:
        raise InvalidInput("a note needs some text", record=f"job {job.ref}", field="body")
    if len(body) > MAX_NOTE:
        raise InvalidInput(f"at most {MAX_NOTE} characters", record=f"job {job.ref}", field="body")
    uow = ctx.uow
    row = JobNote(
        job_id=job.id,
        author=uow.actor.login,
        author_kind=NoteAuthorKind.TECHNICIAN,
        body=body,
        created_at=ctx.occurred_at,
    )
    uow.session.add(row)
    uow.session.flush()
    uow.emit(
        "job.note_added",
        "job",
        job.id,
        {"ref": job.ref, "note_id": row.id, "author": uow.actor.login, "author_kind": row.author_kind, "body": body},
    )
    return row


def apply_photo(ctx: FieldContext, job_ref: str | None, photo: PhotoReference) -> PhotoRef:
    job = _require_job(ctx, job_ref, "photo")
    record = f"photo of job {job.ref}"
    uri = photo.uri.strip()
    if not uri or len(uri) > 500:
        raise InvalidInput("needs a URI of 1 to 500 characters", record=record, field="uri")
    if photo.caption is not None and len(photo.caption) > 300:
        raise InvalidInput("at most 300 characters", record=record, field="caption")
    taken_at = photo.taken_at or ctx.occurred_at
    if taken_at.tzinfo is None:
        raise InvalidInput("needs a time zone", record=record, field="taken_at")
    row = PhotoRef(job_id=job.id, uri=uri, caption=photo.caption, taken_at=taken_at, created_by=ctx.uow.actor.login)
    ctx.uow.session.add(row)
    ctx.uow.session.flush()
    ctx.uow.emit(
        "job.photo_added",
        "job",
        job.id,
        {"ref": job.ref, "photo_id": row.id, "uri": uri, "caption": photo.caption, "taken_at": taken_at},
    )
    return row


def apply_signature(ctx: FieldContext, job_ref: str | None, signature: SignatureRecord) -> Job:
    """Log the signature; if the visit's report is already written without one, it is filled in."""
    job = _require_job(ctx, job_ref, "signature")
    record = f"signature of job {job.ref}"
    if not signature.signer_name.strip() or len(signature.signer_name) > 200:
        raise InvalidInput("needs a name of 1 to 200 characters", record=record, field="signer_name")
    if signature.signed_at.tzinfo is None:
        raise InvalidInput("needs a time zone", record=record, field="signed_at")
    if not SHA256_HEX.fullmatch(signature.summary_sha256):
        raise InvalidInput("must be 64 lowercase hex digits (SHA-256)", record=record, field="summary_sha256")
    image = (
        signature_file(ctx.uow.session, ctx.technician.id, job, signature.image, record) if signature.image else None
    )
    report = ctx.uow.session.scalar(select(CompletionReport).where(CompletionReport.job_id == job.id))
    if report is not None and report.signer_name is None:
        report.signer_name = signature.signer_name.strip()
        report.signed_at = signature.signed_at
        report.summary_sha256 = signature.summary_sha256
        report.signature_file_id = image.id if image is not None else None
    ctx.uow.emit(
        "job.signed",
        "job",
        job.id,
        {
            "ref": job.ref,
            "signer": signature.signer_name.strip(),
            "signed_at": signature.signed_at,
            "summary_sha256": signature.summary_sha256,
            "image_client_file_id": signature.image,
            "image": file_facts(image) if image is not None else None,
            "report_id": report.id if report is not None else None,
        },
    )
    return job


def _signature_logged(session: Session, job: Job) -> SignatureRecord | None:
    event = session.scalar(
        select(Event)
        .where(Event.type == "job.signed", Event.subject_type == "job", Event.subject_id == str(job.id))
        .order_by(Event.seq.desc())
        .limit(1)
    )
    if event is None:
        return None
    p = event.payload
    return SignatureRecord(
        p["signer"], datetime.fromisoformat(p["signed_at"]), p["summary_sha256"], p.get("image_client_file_id")
    )


def completion_key(technician_id: int, client_event_id: str) -> str:
    """The stored key of a technician's completion: the same whichever route the phone sent it by."""
    return f"{technician_id}:{client_event_id}"


def apply_completion(ctx: FieldContext, job_ref: str | None, action: CompletionAction) -> CompletionResult:
    """Write the completion report (see data.services.completion); a signature sent on its own is kept.

    The report's own `client_event_id` wins over the batch item's, and either is scoped to the technician,
    so a report synced offline and retried on `/completion` (or the other way round) is one report.
    """
    job = _require_job(ctx, job_ref, "completion report")
    report = action.report
    cid = report.client_event_id or ctx.client_event_id
    if cid:
        report = replace(report, client_event_id=completion_key(ctx.technician.id, cid))
    if report.signature is None:
        logged = _signature_logged(ctx.uow.session, job)
        if logged is not None:
            report = replace(
                report,
                signature=SignatureInput(
                    logged.signer_name, logged.signed_at, summary_sha256=logged.summary_sha256, image=logged.image
                ),
            )
    return finish_in(ctx.uow, job.ref, report, action.outcome)


def apply_clock(ctx: FieldContext, _job_ref: str | None, act: ClockAct) -> AttendanceEvent:
    """Clock in or out, or a break, at the phone's time (see data.services.attendance)."""
    return record_act_in(ctx.uow, ctx.technician, act, ctx.occurred_at)


def apply_quote(ctx: FieldContext, job_ref: str | None, quote: QuoteInput) -> Quote:
    job = _require_job(ctx, job_ref, "quote")
    return propose_quote_in(ctx.uow, job.ref, quote)


def apply_message(ctx: FieldContext, job_ref: str | None, message: MessageText) -> Message:
    if job_ref:
        job = _require_job(ctx, job_ref, "message")
        return post_in(ctx.uow, job_ref=job.ref, body=message.body, at=ctx.occurred_at)
    return post_in(ctx.uow, technician=ctx.technician.id, body=message.body, at=ctx.occurred_at)


def apply_offer(ctx: FieldContext, job_ref: str | None, answer: OfferAnswer) -> CrmOffer:
    job = _require_job(ctx, job_ref, "offer answer")
    return respond_to_offer_in(ctx.uow, job.ref, answer, at=ctx.occurred_at)


Applier = Callable[[FieldContext, "str | None", Any], Any]
APPLIERS: dict[ClientEventType, Applier] = {
    ClientEventType.STATUS: apply_status,
    ClientEventType.NOTE: apply_note,
    ClientEventType.PHOTO: apply_photo,
    ClientEventType.SIGNATURE: apply_signature,
    ClientEventType.COMPLETION: apply_completion,
    ClientEventType.CLOCK: apply_clock,
    ClientEventType.QUOTE: apply_quote,
    ClientEventType.MESSAGE: apply_message,
    ClientEventType.OFFER: apply_offer,
}


# --- entry points ---------------------------------------------------------------------------------------


def apply_now(
    db: Database,
    actor: Actor,
    technician: str | int,
    kind: ClientEventType,
    action: Any,
    *,
    job_ref: str | None = None,
    occurred_at: datetime | None = None,
) -> Any:
    """Apply one field action at once (the online path); errors propagate to the caller."""
    at = occurred_at or utcnow()
    check_occurred_at(at, f"{kind.value} event")
    if kind is ClientEventType.POSITION:
        return record_positions(db, actor, technician, [(action, at)])
    with UnitOfWork(db, actor) as uow:
        tech = find_technician(uow.session, technician)
        actor.require_field(tech.id, f"report {kind.value} events")
        return APPLIERS[kind](FieldContext(uow, tech, at), job_ref, action)


def _previous_outcome(db: Database, key: str) -> Event | None:
    with db.read() as session:
        return session.scalar(select(Event).where(Event.idempotency_key == key))


def _duplicate(item: ClientEvent, previous: Event | None) -> ItemResult:
    payload = previous.payload if previous is not None and previous.type == "field.client_event" else {}
    return ItemResult(
        item.client_event_id,
        item.type,
        SyncOutcome.DUPLICATE,
        code=payload.get("code"),
        reason=(
            f"already received: {payload['outcome']}" + (f" ({payload['reason']})" if payload.get("reason") else "")
            if payload.get("outcome")
            else "already received: applied"
        ),
    )


def _receipt(item: ClientEvent, outcome: SyncOutcome, err: DispatchError | None = None) -> dict[str, Any]:
    return {
        "client_event_id": item.client_event_id,
        "type": item.type,
        "occurred_at": item.occurred_at,
        "job": item.job_ref,
        "outcome": outcome,
        "code": error_code(err) if err else None,
        "reason": err.message if err else None,
    }


def apply_item(
    db: Database, actor: Actor, technician_id: int, item: ClientEvent, *, known_new: bool = False
) -> ItemResult:
    """Apply one client event exactly once; never raises for a domain error, answers instead.

    `known_new`: the caller has just looked the key up (a batch does it for all its items at once); a
    concurrent upload of the same item is still caught by the key's unique index."""
    key = idempotency_key(technician_id, item.client_event_id)
    previous = None if known_new else _previous_outcome(db, key)
    if previous is not None:
        return _duplicate(item, previous)
    try:
        if not item.client_event_id or len(item.client_event_id) > MAX_CLIENT_EVENT_ID:
            raise InvalidInput(
                f"needs 1 to {MAX_CLIENT_EVENT_ID} characters", record="client event", field="client_event_id"
            )
        record = f"{item.type.value} event {item.client_event_id}"
        check_occurred_at(item.occurred_at, record)
        if isinstance(item.action, Unreadable):
            raise InvalidInput(item.action.message, record=record, field=item.action.field)
        if item.type is ClientEventType.POSITION:
            with UnitOfWork(db, actor) as uow:
                tech = _technician_for_ping(uow.session, technician_id)
                record_positions_in(uow, tech, [(item.action, item.occurred_at)], key)
        else:
            applier = APPLIERS.get(item.type)
            if applier is None:
                raise InvalidInput(
                    f"'{item.type.value}' events are not accepted yet", record="client event", field="type"
                )
            with UnitOfWork(db, actor) as uow:
                tech = find_technician(uow.session, technician_id)
                actor.require_field(tech.id, f"report {item.type.value} events")
                done = applier(
                    FieldContext(uow, tech, item.occurred_at, item.client_event_id), item.job_ref, item.action
                )
                uow.emit(
                    "field.client_event",
                    "technician",
                    tech.id,
                    _receipt(item, SyncOutcome.APPLIED),
                    idempotency_key=key,
                )
            if isinstance(done, CompletionResult) and done.repeated:
                # The same report arrived before by the other route (`/completion`).
                return ItemResult(
                    item.client_event_id,
                    item.type,
                    SyncOutcome.DUPLICATE,
                    reason=f"already received: report {done.report_id} of job {done.job_ref}",
                )
        return ItemResult(item.client_event_id, item.type, SyncOutcome.APPLIED)
    except IntegrityError:
        # Another request carrying the same item committed first.
        previous = _previous_outcome(db, key)
        if previous is not None:
            return _duplicate(item, previous)
        raise
    except Conflict as err:
        previous = _previous_outcome(db, key)
        if previous is not None:  # the same item, sent concurrently, won the race
            return _duplicate(item, previous)
        return ItemResult(
            item.client_event_id, item.type, SyncOutcome.REJECTED, error_code(err), err.message, retryable=True
        )
    except DispatchError as err:
        return _record_rejection(db, actor, technician_id, item, key, err)


def _record_rejection(
    db: Database, actor: Actor, technician_id: int, item: ClientEvent, key: str, err: DispatchError
) -> ItemResult:
    field_name = getattr(err, "field", None)
    result = ItemResult(item.client_event_id, item.type, SyncOutcome.REJECTED, error_code(err), err.message, field_name)
    if isinstance(err, InvalidInput) and field_name == "client_event_id":
        return result  # no usable id to remember it by
    try:
        with UnitOfWork(db, actor) as uow:
            uow.emit(
                "field.client_event",
                "technician",
                technician_id,
                _receipt(item, SyncOutcome.REJECTED, err),
                idempotency_key=key,
            )
    except IntegrityError:
        return _duplicate(item, _previous_outcome(db, key))
    return result


def apply_batch(db: Database, actor: Actor, technician: str | int, items: Sequence[ClientEvent]) -> list[ItemResult]:
    """Apply a phone's batch in client-time order; one answer per item, in the order applied."""
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} events per batch; split it", record="sync batch", field="events")
    with db.read() as session:
        tech = find_technician(session, technician)
    actor.require_field(tech.id, "upload field events")
    ordered = sorted(items, key=lambda e: _sort_key(e.occurred_at))
    seen = _seen(db, tech.id, ordered)
    results: list[ItemResult] = []
    i = 0
    while i < len(ordered):
        run: list[ClientEvent] = []
        while i + len(run) < len(ordered) and len(run) < POSITION_RUN:
            candidate = ordered[i + len(run)]
            if not _plain_position(candidate, seen, tech.id):
                break
            run.append(candidate)
        if run:
            results.extend(_apply_positions(db, actor, tech.id, run))
            i += len(run)
            continue
        item = ordered[i]
        key = idempotency_key(tech.id, item.client_event_id) if item.client_event_id else None
        results.append(
            _duplicate(item, seen[key]) if key in seen else apply_item(db, actor, tech.id, item, known_new=True)
        )
        i += 1
    return results


# A phone back from a dead zone sends mostly positions: consecutive ones go in one transaction.
POSITION_RUN = 200


def _seen(db: Database, technician_id: int, items: Sequence[ClientEvent]) -> dict[str | None, Event]:
    """Which of the batch's items were received before: one query instead of one per item."""
    keys = [idempotency_key(technician_id, i.client_event_id) for i in items if i.client_event_id]
    if not keys:
        return {}
    with db.read() as session:
        rows = session.scalars(select(Event).where(Event.idempotency_key.in_(keys)))
        return {e.idempotency_key: e for e in rows}


def _plain_position(item: ClientEvent, seen: dict[str | None, Event], technician_id: int) -> bool:
    """A position that is new and readable: nothing about it can be refused by the business rules."""
    if item.type is not ClientEventType.POSITION or not isinstance(item.action, PositionPing):
        return False
    if not item.client_event_id or len(item.client_event_id) > MAX_CLIENT_EVENT_ID:
        return False
    if idempotency_key(technician_id, item.client_event_id) in seen:
        return False
    try:
        check_occurred_at(item.occurred_at, "position")
        check_coordinates(item.action.lat, item.action.lon, "position")
    except InvalidInput:
        return False
    return True


def _apply_positions(db: Database, actor: Actor, technician_id: int, run: list[ClientEvent]) -> list[ItemResult]:
    """Record a run of new positions in one transaction, each with its own idempotency key; if another upload
    of some of them wins a race, fall back to one at a time so each is answered for itself."""
    try:
        with UnitOfWork(db, actor) as uow:
            tech = _technician_for_ping(uow.session, technician_id)
            for item in run:
                key = idempotency_key(technician_id, item.client_event_id)
                record_positions_in(uow, tech, [(item.action, item.occurred_at)], key)
    except IntegrityError:
        return [apply_item(db, actor, technician_id, item) for item in run]
    return [ItemResult(item.client_event_id, item.type, SyncOutcome.APPLIED) for item in run]


def _sort_key(at: datetime) -> datetime:
    # A naive time cannot be ordered against aware ones; it sorts first and is rejected on its own.
    return at if at.tzinfo is not None else datetime.min.replace(tzinfo=utcnow().tzinfo)
