"""Lease due deliveries to one worker, and record each answer: delivered, retried later, or dead-lettered.

On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so workers never take the same row;
on SQLite the claim runs inside a `BEGIN IMMEDIATE` transaction (one writer at a time). A delivery
is due when it is pending and its time has come, or in flight with an expired lease (its worker
died). It is held back while an earlier delivery of the same connector and subject is unfinished.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.db import Database
from data.models.customers import ExternalRef
from data.models.deliveries import UNFINISHED_SQL, Delivery, DeliveryStatus
from data.models.types import UTCDateTime
from data.uow import UnitOfWork
from integrations.config import DeliverySettings
from integrations.connector import Outcome, SendResult
from integrations.connectors.responses import BODY_KEPT_CHARS
from integrations.delivery import breaker
from integrations.delivery.backoff import Uniform, retry_delay
from integrations.delivery.planner import DELIVERIES, WORKER_ACTOR

UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT)
_table = DELIVERIES
# One statement for a whole batch of answers (executemany); columns a result leaves unset keep their value.
_RECORD = (
    update(_table)
    .where(_table.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        last_status_code=bindparam("b_status_code"),
        last_response=bindparam("b_response"),
        last_error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered_at", type_=UTCDateTime()),
        external_id=func.coalesce(bindparam("b_external_id", type_=String()), _table.c.external_id),
        next_attempt_at=func.coalesce(bindparam("b_next_attempt_at", type_=UTCDateTime()), _table.c.next_attempt_at),
        attempts=func.coalesce(bindparam("b_attempts", type_=Integer()), _table.c.attempts),
        locked_by=None,
        locked_until=None,
        updated_at=bindparam("b_now", type_=UTCDateTime()),
    )
)


# What a claim hands back, in Claimed's field order.
_CLAIMED = (
    _table.c.id,
    _table.c.connector,
    _table.c.event_seq,
    _table.c.event_type,
    _table.c.subject_key,
    _table.c.request,
    _table.c.idempotency_key,
    _table.c.attempts,
    _table.c.budget_from,
)


@dataclass(frozen=True)
class Claimed:
    id: int
    connector: str
    event_seq: int
    event_type: str
    subject_key: str
    request: dict[str, Any] | None
    idempotency_key: str
    attempts: int
    budget_from: datetime


def _due(now: datetime) -> Any:
    earlier = _table.alias("earlier")
    blocked = exists().where(
        earlier.c.connector == _table.c.connector,
        earlier.c.subject_key == _table.c.subject_key,
        earlier.c.id < _table.c.id,
        earlier.c.status.in_(UNFINISHED),
    )
    ready = or_(
        and_(_table.c.status == DeliveryStatus.PENDING, _table.c.next_attempt_at <= now),
        and_(_table.c.status == DeliveryStatus.IN_FLIGHT, _table.c.locked_until < now),
    )
    # Stated as the partial index's predicate (ix_deliveries_unfinished) so the planner can use it.
    return and_(text(f"{Delivery.__tablename__}.{UNFINISHED_SQL}"), ready, ~blocked)


def claim_due(
    db: Database,
    worker_id: str,
    connectors: list[str],
    now: datetime,
    limit: int,
    settings: DeliverySettings,
    rates: Mapping[str, breaker.RateLimit] | None = None,
) -> list[Claimed]:
    """Lease up to `limit` due deliveries of the given connectors (respecting breaker, throttle, rate limits)."""
    if not connectors or limit <= 0:
        return []
    session = db.write_session()
    try:
        claimed = _claim(session, worker_id, connectors, now, limit, settings, rates)
        session.commit()
        return claimed
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _claim(
    session: Session,
    worker_id: str,
    connectors: list[str],
    now: datetime,
    limit: int,
    settings: DeliverySettings,
    rates: Mapping[str, breaker.RateLimit] | None,
) -> list[Claimed]:
    if not connectors or limit <= 0:
        return []
    pg = session.get_bind().dialect.name == "postgresql"
    allowed = breaker.allowances(session, connectors, now, settings.lease_seconds, rates)
    free = [c for c, n in allowed.items() if n == breaker.UNLIMITED]
    queries = [(free, limit)] if free else []
    # Half-open probes (1) and rate-limited connectors: each its own, smaller claim.
    queries += [([c], min(n, limit)) for c, n in allowed.items() if n > 0]
    until = now + timedelta(seconds=settings.lease_seconds)
    claimed: list[Claimed] = []
    for names, n in queries:
        # One statement leases the rows and hands them back: no ORM object, no second round trip.
        due = (
            select(_table.c.id)
            .where(_table.c.connector.in_(names), _due(now))
            .order_by(_table.c.id)
            .limit(n)
            .correlate(None)
        )
        if pg:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(_table)
            .where(_table.c.id.in_(due.scalar_subquery()))
            .values(
                status=DeliveryStatus.IN_FLIGHT,
                attempts=_table.c.attempts + 1,
                locked_by=worker_id,
                locked_until=until,
                updated_at=now,
            )
            .returning(*_CLAIMED)
        )
        found = [Claimed(*row) for row in session.execute(stmt)]
        claimed.extend(found)
        for name in names:
            if rates and name in rates:
                breaker.spend(session, name, rates[name], sum(1 for c in found if c.connector == name), now)
    claimed.sort(key=lambda c: c.id)
    return claimed


def record_and_claim(
    db: Database,
    worker_id: str,
    results: list[tuple[Claimed, SendResult]],
    now: datetime,
    settings: DeliverySettings,
    uniform: Uniform,
    connectors: list[str],
    limit: int,
    rates: Mapping[str, breaker.RateLimit] | None = None,
) -> tuple[dict[str, int], list[Claimed]]:
    """Record a batch of answers and lease the next deliveries for the freed slots, in one transaction.

    One commit per turn of the worker's loop instead of two: at a few milliseconds a commit, that is
    what bounds a worker's rate against a fast receiver. Recording first lets the claim see the
    subjects it just unblocked.
    """
    with UnitOfWork(db, WORKER_ACTOR) as uow:
        counts = _record(uow, worker_id, results, now, settings, uniform)
        claimed = _claim(uow.session, worker_id, connectors, now, limit, settings, rates)
    return counts, claimed


def record_results(
    db: Database,
    worker_id: str,
    results: list[tuple[Claimed, SendResult]],
    now: datetime,
    settings: DeliverySettings,
    uniform: Uniform,
) -> dict[str, int]:
    """Write every answer of a batch in one transaction; returns counts by resulting status."""
    if not results:
        return {}
    return record_and_claim(db, worker_id, results, now, settings, uniform, [], 0)[0]


def _record(
    uow: UnitOfWork,
    worker_id: str,
    results: list[tuple[Claimed, SendResult]],
    now: datetime,
    settings: DeliverySettings,
    uniform: Uniform,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    if not results:
        return counts
    ids = [c.id for c, _r in results]
    current = select(Delivery.id, Delivery.status, Delivery.locked_by).where(Delivery.id.in_(ids))
    if uow.session.get_bind().dialect.name == "postgresql":
        current = current.with_for_update()
    rows = {i: (status, locked_by) for i, status, locked_by in uow.session.execute(current)}
    late_successes = {
        c.id
        for c, r in results
        if r.outcome is Outcome.DELIVERED and c.id in rows and rows[c.id][0] is not DeliveryStatus.DELIVERED
    }
    # A delivery whose lease moved to another worker: its failure no longer counts, but its success
    # does (the receiver applied it, and the idempotency key makes the other worker's repeat harmless).
    owned = {
        i for i, (status, locked_by) in rows.items() if status is DeliveryStatus.IN_FLIGHT and locked_by == worker_id
    } | late_successes
    params: list[dict[str, Any]] = []
    by_connector: dict[str, list[SendResult]] = {}
    for claimed, result in sorted(results, key=lambda r: r[0].id):
        if claimed.id not in owned:
            continue
        status, values = _next_state(claimed, result, now, settings, uniform)
        params.append(
            {
                "b_id": claimed.id,
                "b_status": status.value,
                "b_status_code": values.get("last_status_code"),
                "b_response": values.get("last_response"),
                "b_error": values.get("last_error"),
                "b_delivered_at": values.get("delivered_at"),
                "b_external_id": values.get("external_id"),
                "b_next_attempt_at": values.get("next_attempt_at"),
                "b_attempts": values.get("attempts"),
                "b_now": now,
            }
        )
        counts[status.value] = counts.get(status.value, 0) + 1
        by_connector.setdefault(claimed.connector, []).append(result)
        if status is DeliveryStatus.DELIVERED and result.external_id:
            _remember_external_id(uow, claimed, result.external_id, now)
        if status is DeliveryStatus.DEAD:
            uow.emit(
                "delivery.dead_lettered",
                "delivery",
                claimed.id,
                {
                    "connector": claimed.connector,
                    "event_seq": claimed.event_seq,
                    "event_type": claimed.event_type,
                    "attempts": claimed.attempts,
                    "status_code": result.status_code,
                    "error": values.get("last_error"),
                },
            )
    if params:
        uow.session.execute(_RECORD, params)
    for connector, answers in by_connector.items():
        breaker.record(uow.session, connector, answers, now, settings)
    return counts


def _next_state(
    claimed: Claimed, result: SendResult, now: datetime, settings: DeliverySettings, uniform: Uniform
) -> tuple[DeliveryStatus, dict[str, Any]]:
    body = result.response_body
    if body is not None and len(body) > BODY_KEPT_CHARS:
        body = body[:BODY_KEPT_CHARS]
    values: dict[str, Any] = {"last_status_code": result.status_code, "last_response": body}
    if result.outcome is Outcome.DELIVERED:
        return DeliveryStatus.DELIVERED, {
            **values,
            "delivered_at": now,
            "last_error": None,
            "external_id": result.external_id,
        }
    values["last_error"] = result.message or (f"HTTP {result.status_code}" if result.status_code else "failed")
    if result.outcome is Outcome.FAILED:
        return DeliveryStatus.DEAD, values
    age = (now - claimed.budget_from).total_seconds()
    spent = claimed.attempts >= settings.max_attempts
    if throttled(result):
        # The receiver is up and asked us to wait: that costs no attempt (only the age budget applies).
        values["attempts"] = claimed.attempts - 1
        spent = False
    if spent or age >= settings.max_age_seconds:
        values["last_error"] = (
            f"retry budget spent after {claimed.attempts} attempts over {age:.0f}s: {values['last_error']}"
        )
        return DeliveryStatus.DEAD, values
    delay = retry_delay(
        claimed.attempts, settings.backoff_base_seconds, settings.backoff_cap_seconds, result.retry_after, uniform
    )
    return DeliveryStatus.PENDING, {**values, "next_attempt_at": now + timedelta(seconds=delay)}


def throttled(result: SendResult) -> bool:
    """A retry the receiver timed (429, Retry-After, a vendor's own throttle signal)."""
    return result.outcome is Outcome.RETRY and result.retry_after is not None


def _remember_external_id(uow: UnitOfWork, claimed: Claimed, external_id: str, now: datetime) -> None:
    """Keep the receiver's id for the subject (a job, a customer) so later requests can refer to it."""
    entity, _, raw_id = claimed.subject_key.partition(":")
    if not raw_id.isdigit():
        return
    ref = uow.session.scalars(
        select(ExternalRef).where(
            ExternalRef.entity == entity, ExternalRef.entity_id == int(raw_id), ExternalRef.system == claimed.connector
        )
    ).one_or_none()
    if ref is None:
        try:
            with uow.session.begin_nested():
                uow.session.add(
                    ExternalRef(
                        entity=entity,
                        entity_id=int(raw_id),
                        system=claimed.connector,
                        external_id=external_id,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # the same remote id already belongs to another record: keep the first, never merge silently
    elif ref.external_id != external_id:
        ref.external_id = external_id
        ref.updated_at = now


def extend_leases(db: Database, worker_id: str, ids: list[int], until: datetime) -> int:
    """The heartbeat: keep this worker's leases on deliveries still in flight; returns how many it still holds."""
    if not ids:
        return 0
    session = db.write_session()
    try:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.IN_FLIGHT, Delivery.locked_by == worker_id)
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def next_due_at(db: Database, connectors: list[str]) -> datetime | None:
    """When the earliest pending delivery becomes due (for the worker's sleep)."""
    with db.read() as session:
        return session.scalar(
            select(Delivery.next_attempt_at)
            .where(Delivery.connector.in_(connectors), Delivery.status == DeliveryStatus.PENDING)
            .order_by(Delivery.next_attempt_at)
            .limit(1)
        )
