"""Turn subscribed events into deliveries, in the same transaction as the cursor advance.

A crash before the commit leaves the cursor where it was (the events are planned again); after it,
the deliveries exist. The unique (connector, event_seq, request_index) makes a double plan impossible.
Events commit in seq order (data.uow), so a cursor never skips one that commits late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.feed import EventRecord, last_seq, tail
from data.models.base import utcnow
from data.models.deliveries import ConnectorCursor, Delivery, DeliveryStatus
from data.models.org import Role
from data.uow import UnitOfWork
from integrations.config import ConnectorConfig
from integrations.connector import Connector, MappingContext, OutboundRequest
from integrations.delivery.codec import DEFAULT_KEY_LIMIT, encode_request, idempotency_key

DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]  # Core statements, no ORM object per row
WORKER_ACTOR = Actor(login="worker", role=Role.ADMIN, source="worker")
AUDIT_PREFIX = "delivery."


@dataclass(frozen=True)
class PlannedConnector:
    connector: Connector
    config: ConnectorConfig


def subject_key(event: EventRecord) -> str:
    return f"{event.subject_type}:{event.subject_id}"[:120]


def key_limit(connector: Connector) -> int:
    return int(getattr(connector, "idempotency_key_limit", DEFAULT_KEY_LIMIT))


def map_event(
    connector: Connector, config: ConnectorConfig, db: Database, event: EventRecord, replay: int = 0
) -> list[OutboundRequest]:
    """The requests for one event, each carrying its delivery's idempotency key (what preview shows too)."""
    context = MappingContext(db=db, connector=config.name, settings=config.settings)
    requests = connector.map(event, context)
    limit = key_limit(connector)
    return [
        r
        if r.idempotency_key
        else replace(r, idempotency_key=idempotency_key(config.name, event.seq, i, limit, replay))
        for i, r in enumerate(requests)
    ]


def _cursor(session: Session, name: str, start: str, db: Database) -> ConnectorCursor | None:
    """The connector's cursor, locked for this planner; None while another planner holds it."""
    known = session.scalar(select(ConnectorCursor.connector).where(ConnectorCursor.connector == name))
    if known is None:
        insert = pg_insert if db.dialect == "postgresql" else sqlite_insert
        first = last_seq(db) if start == "now" else 0
        session.execute(insert(ConnectorCursor).values(connector=name, last_seq=first).on_conflict_do_nothing())
    stmt = select(ConnectorCursor).where(ConnectorCursor.connector == name)
    if db.dialect == "postgresql":
        # Only one planner per connector at a time; the others move on to sending.
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalars(stmt).one_or_none()


@dataclass
class _Batch:
    rows: list[dict[str, Any]]  # column values: inserted in one executemany, no ORM object per delivery
    dead: list[tuple[Delivery, str]]
    next_seq: int


def _map_batch(db: Database, planned: PlannedConnector, after: int, limit: int, now: datetime) -> _Batch | None:
    """Map the events after `after` into delivery rows; None when there is nothing new."""
    config, connector = planned.config, planned.connector
    types = sorted(t for t in connector.subscribes() if not t.startswith(AUDIT_PREFIX))
    newest = last_seq(db)
    if newest <= after:
        return None
    events = tail(db, after, limit, types) if types else []
    rows: list[dict[str, Any]] = []
    dead: list[tuple[Delivery, str]] = []
    for event in events:
        key = subject_key(event)
        try:
            requests = map_event(connector, config, db, event)
        except Exception as e:  # a bad mapping must not stop the outbox: dead-letter it for a fix and replay
            error = f"mapping failed: {type(e).__name__}: {e}"
            idem = idempotency_key(config.name, event.seq, 0, key_limit(connector))
            row = Delivery(**_row(config.name, event, 0, key, None, idem, now))
            row.status, row.last_error = DeliveryStatus.DEAD, error
            dead.append((row, error))
            continue
        rows.extend(
            _row(config.name, event, index, key, request, request.idempotency_key or "", now)
            for index, request in enumerate(requests)
        )
    # A full batch stops at its last event; a short one has seen everything up to `newest`.
    next_seq = events[-1].seq if len(events) == limit else max(newest, events[-1].seq if events else 0)
    return _Batch(rows, dead, next_seq)


def plan_connector(db: Database, planned: PlannedConnector, limit: int = 500, now: datetime | None = None) -> int:
    """Plan the next batch of events for one connector; returns how many deliveries were created.

    PostgreSQL: lock the cursor row (SKIP LOCKED: one planner per connector), map, write, commit.
    SQLite: map first without holding the database's single write lock (mapping may read a lot),
    then write only if the cursor has not moved meanwhile.
    """
    name = planned.config.name
    now = now or utcnow()
    batch: _Batch | None = None
    seen = 0
    if db.dialect != "postgresql":
        with UnitOfWork(db, WORKER_ACTOR) as uow:
            cursor = _cursor(uow.session, name, planned.config.start, db)
            seen = cursor.last_seq if cursor is not None else 0
        batch = _map_batch(db, planned, seen, limit, now)
        if batch is None:
            return 0
    with UnitOfWork(db, WORKER_ACTOR) as uow:
        cursor = _cursor(uow.session, name, planned.config.start, db)
        if cursor is None:
            return 0
        if db.dialect == "postgresql":
            batch = _map_batch(db, planned, cursor.last_seq, limit, now)
        elif cursor.last_seq != seen:
            return 0  # another planner got there first; its rows stand
        if batch is None:
            return 0
        if batch.rows:
            uow.session.execute(insert(DELIVERIES), batch.rows)
        uow.session.add_all(row for row, _error in batch.dead)
        cursor.last_seq = batch.next_seq
        cursor.updated_at = now
        uow.session.flush()
        for row, error in batch.dead:
            uow.emit(
                "delivery.dead_lettered",
                "delivery",
                row.id,
                {"connector": name, "event_seq": row.event_seq, "event_type": row.event_type, "error": error},
            )
    return len(batch.rows)


def _row(
    connector: str,
    event: EventRecord,
    index: int,
    key: str,
    request: OutboundRequest | None,
    idem: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "connector": connector,
        "event_seq": event.seq,
        "request_index": index,
        "subject_key": key,
        "event_type": event.type,
        "request": encode_request(request) if request is not None else None,
        "idempotency_key": idem,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "replays": 0,
        "next_attempt_at": now,
        "budget_from": now,
        "created_at": now,
        "updated_at": now,
    }


def plan_all(
    db: Database, connectors: Mapping[str, PlannedConnector], limit: int = 500, now: datetime | None = None
) -> int:
    return sum(plan_connector(db, p, limit, now) for p in connectors.values())
