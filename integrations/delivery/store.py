"""What operators do with deliveries (the CLI and the console call these): list, show, retry, replay, skip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, select, update

from data.actor import Actor
from data.db import Database
from data.errors import IllegalTransition, InvalidInput, NotFound
from data.feed import EventRecord
from data.models.base import utcnow
from data.models.deliveries import Delivery, DeliveryStatus
from data.models.events import Event
from data.permissions import Permission
from data.uow import UnitOfWork
from integrations.config import IntegrationsConfig
from integrations.delivery.codec import encode_request
from integrations.delivery.planner import map_event
from integrations.registry import build_connector


@dataclass(frozen=True)
class DeliveryView:
    id: int
    connector: str
    event_seq: int
    request_index: int
    event_type: str
    subject_key: str
    status: str
    attempts: int
    replays: int
    idempotency_key: str
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    locked_by: str | None
    locked_until: datetime | None


@dataclass(frozen=True)
class DeliveryDetail(DeliveryView):
    request: dict[str, Any] | None
    last_response: str | None
    external_id: str | None


def _view(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "connector": d.connector,
        "event_seq": d.event_seq,
        "request_index": d.request_index,
        "event_type": d.event_type,
        "subject_key": d.subject_key,
        "status": d.status.value,
        "attempts": d.attempts,
        "replays": d.replays,
        "idempotency_key": d.idempotency_key,
        "next_attempt_at": d.next_attempt_at,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "delivered_at": d.delivered_at,
        "locked_by": d.locked_by,
        "locked_until": d.locked_until,
    }


def _status(value: str | None) -> DeliveryStatus | None:
    if value is None:
        return None
    try:
        return DeliveryStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in DeliveryStatus)
        raise InvalidInput(f"unknown status {value!r} (one of {allowed})", field="status") from None


def list_deliveries(
    db: Database, *, status: str | None = None, connector: str | None = None, limit: int = 100
) -> list[DeliveryView]:
    """Newest first, filtered by status and connector."""
    stmt = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    wanted = _status(status)
    if wanted is not None:
        stmt = stmt.where(Delivery.status == wanted)
    if connector:
        stmt = stmt.where(Delivery.connector == connector)
    with db.read() as session:
        return [DeliveryView(**_view(d)) for d in session.scalars(stmt)]


def show_delivery(db: Database, delivery_id: int) -> DeliveryDetail:
    with db.read() as session:
        d = session.get(Delivery, delivery_id)
        if d is None:
            raise NotFound(f"delivery {delivery_id} does not exist")
        return DeliveryDetail(**_view(d), request=d.request, last_response=d.last_response, external_id=d.external_id)


def _load(uow: UnitOfWork, delivery_id: int) -> Delivery:
    stmt = select(Delivery).where(Delivery.id == delivery_id)
    if uow.db.dialect == "postgresql":
        stmt = stmt.with_for_update()
    d = uow.session.scalars(stmt).one_or_none()
    if d is None:
        raise NotFound(f"delivery {delivery_id} does not exist")
    return d


def _reset(d: Delivery, now: datetime) -> None:
    d.status = DeliveryStatus.PENDING
    d.next_attempt_at = now
    d.budget_from = now
    d.attempts = 0
    d.locked_by = None
    d.locked_until = None
    d.updated_at = now


def retry_delivery(db: Database, actor: Actor, delivery_id: int) -> DeliveryView:
    """Queue a pending or dead delivery for the worker's next pass, with a fresh retry budget, same request and key."""
    actor.require_write("retry a delivery", Permission.MANAGE_INTEGRATIONS)
    now = utcnow()
    with UnitOfWork(db, actor) as uow:
        d = _load(uow, delivery_id)
        if d.status not in (DeliveryStatus.PENDING, DeliveryStatus.DEAD):
            raise IllegalTransition(
                f"delivery {d.id} is {d.status.value}: only pending or dead deliveries can be retried (use replay)"
            )
        if d.request is None:
            raise InvalidInput(
                f"delivery {d.id} has no request because its mapping failed; fix the mapping, then replay --remap"
            )
        _reset(d, now)
        uow.emit("delivery.retried", "delivery", d.id, {"connector": d.connector, "event_seq": d.event_seq})
        uow.session.flush()
        return DeliveryView(**_view(d))


def retry_dead_letters(
    db: Database, actor: Actor, *, connector: str | None = None, since: datetime | None = None
) -> int:
    """Queue every dead delivery (of one connector, dead-lettered since a time) in one statement.

    Like `retry_delivery` each gets a fresh retry budget and keeps its request and key; a dead
    letter whose mapping failed has no request and stays dead (it needs `replay --remap`).
    Returns how many were queued; one `delivery.retried` event records the filter and the count.
    """
    actor.require_write("retry deliveries", Permission.MANAGE_INTEGRATIONS)
    now = utcnow()
    # A missing request is stored as SQL NULL or as JSON null, depending on how the row was written.
    has_request = and_(Delivery.request.is_not(None), cast(Delivery.request, Text) != "null")
    conditions = [Delivery.status == DeliveryStatus.DEAD, has_request]
    if connector:
        conditions.append(Delivery.connector == connector)
    if since is not None:
        conditions.append(Delivery.updated_at >= since)
    with UnitOfWork(db, actor) as uow:
        result = uow.session.execute(
            update(Delivery)
            .where(*conditions)
            .values(
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                budget_from=now,
                attempts=0,
                locked_by=None,
                locked_until=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        count = int(result.rowcount)  # type: ignore[attr-defined]
        if count:
            uow.emit(
                "delivery.retried",
                "connector",
                connector or "*",
                {"all": True, "connector": connector, "since": since.isoformat() if since else None, "count": count},
            )
        return count


def replay_delivery(
    db: Database, actor: Actor, delivery_id: int, *, remap: bool = False, config: IntegrationsConfig | None = None
) -> DeliveryView:
    """Send a delivery again; with `remap`, first re-map its event with the current configuration.

    A replay keeps the idempotency key, so a receiver that already applied it ignores the repeat. A
    remapped request is a different request, so it gets a new key (`...-r1`): vendors refuse or
    answer from cache when one key arrives with a different body.
    """
    actor.require_write("replay a delivery", Permission.MANAGE_INTEGRATIONS)
    if remap and config is None:
        raise InvalidInput("replay --remap needs the integrations configuration")
    now = utcnow()
    with UnitOfWork(db, actor) as uow:
        d = _load(uow, delivery_id)
        if d.status is DeliveryStatus.IN_FLIGHT:
            raise IllegalTransition(f"delivery {d.id} is being sent right now; wait for its answer")
        extra: list[Delivery] = []
        if remap:
            assert config is not None
            extra = _remap(db, uow, d, config, now)
        elif d.request is None:
            raise InvalidInput(f"delivery {d.id} has no request because its mapping failed; use replay --remap")
        _reset(d, now)
        d.replays += 1
        d.last_error = None
        uow.emit(
            "delivery.replayed",
            "delivery",
            d.id,
            {"connector": d.connector, "event_seq": d.event_seq, "remap": remap, "added": [e.id for e in extra]},
        )
        uow.session.flush()
        return DeliveryView(**_view(d))


def _remap(db: Database, uow: UnitOfWork, d: Delivery, config: IntegrationsConfig, now: datetime) -> list[Delivery]:
    connector_config = config.connector(d.connector)
    connector = build_connector(connector_config)
    event = uow.session.get(Event, d.event_seq)
    if event is None:
        raise NotFound(f"event {d.event_seq} of delivery {d.id} no longer exists")
    record = EventRecord(
        event.seq, event.at, event.type, event.subject_type, event.subject_id, event.payload, event.actor, event.source
    )
    requests = map_event(connector, connector_config, db, record, replay=d.replays + 1)
    if d.request_index >= len(requests):
        raise InvalidInput(
            f"the current mapping makes {len(requests)} request(s) for event {d.event_seq}; "
            f"delivery {d.id} is request {d.request_index}: skip it instead"
        )
    d.request = encode_request(requests[d.request_index])
    d.idempotency_key = requests[d.request_index].idempotency_key or d.idempotency_key
    added: list[Delivery] = []
    if d.request_index == 0:
        # A delivery whose mapping failed stood for the whole event: add the requests it now makes.
        existing = set(
            uow.session.scalars(
                select(Delivery.request_index).where(
                    Delivery.connector == d.connector, Delivery.event_seq == d.event_seq
                )
            )
        )
        for index, request in enumerate(requests[1:], start=1):
            if index in existing:
                continue
            row = Delivery(
                connector=d.connector,
                event_seq=d.event_seq,
                request_index=index,
                subject_key=d.subject_key,
                event_type=d.event_type,
                request=encode_request(request),
                idempotency_key=request.idempotency_key or "",
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                budget_from=now,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(row)
            added.append(row)
        uow.session.flush()
    return added


def skip_delivery(db: Database, actor: Actor, delivery_id: int, reason: str = "") -> DeliveryView:
    """Never send this delivery; later deliveries of the same subject stop waiting for it."""
    actor.require_write("skip a delivery", Permission.MANAGE_INTEGRATIONS)
    now = utcnow()
    with UnitOfWork(db, actor) as uow:
        d = _load(uow, delivery_id)
        if d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.IN_FLIGHT):
            raise IllegalTransition(f"delivery {d.id} is {d.status.value}: it cannot be skipped")
        d.status = DeliveryStatus.SKIPPED
        d.last_error = f"skipped by {actor.login}" + (f": {reason}" if reason else "")
        d.updated_at = now
        d.locked_by = None
        d.locked_until = None
        uow.emit("delivery.skipped", "delivery", d.id, {"connector": d.connector, "reason": reason})
        uow.session.flush()
        return DeliveryView(**_view(d))
