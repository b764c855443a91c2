"""Reading the event log: `tail` for scripts and the worker, `subscribe` for live consoles."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from data.db import Database
from data.models.events import Event
from data.uow import NOTIFY_CHANNEL


@dataclass(frozen=True)
class EventRecord:
    seq: int
    at: datetime
    type: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    actor: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "type": self.type,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "payload": self.payload,
            "actor": self.actor,
            "source": self.source,
        }


def _record(e: Event) -> EventRecord:
    return EventRecord(e.seq, e.at, e.type, e.subject_type, e.subject_id, e.payload, e.actor, e.source)


def tail(
    db: Database,
    after_seq: int = 0,
    limit: int = 1000,
    types: Sequence[str] | None = None,
    subject: tuple[str, str] | None = None,
) -> list[EventRecord]:
    stmt = select(Event).where(Event.seq > after_seq).order_by(Event.seq).limit(limit)
    if types:
        stmt = stmt.where(Event.type.in_(list(types)))
    if subject:
        stmt = stmt.where(Event.subject_type == subject[0], Event.subject_id == subject[1])
    with db.read() as session:
        return [_record(e) for e in session.scalars(stmt)]


def last_seq(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.coalesce(func.max(Event.seq), 0))) or 0)


def history(db: Database, subject_type: str, subject_id: str, limit: int = 200) -> list[EventRecord]:
    stmt = (
        select(Event)
        .where(Event.subject_type == subject_type, Event.subject_id == subject_id)
        .order_by(Event.seq.desc())
        .limit(limit)
    )
    with db.read() as session:
        return [_record(e) for e in reversed(list(session.scalars(stmt)))]


SAFETY_POLL_SECONDS = 1.0
"""On PostgreSQL a subscriber wakes on NOTIFY; it also looks this often in case a notification was missed."""


async def subscribe(
    db: Database, after_seq: int = 0, poll_interval: float = 0.1, batch: int = 1000
) -> AsyncIterator[list[EventRecord]]:
    """Yield batches of new events as they commit (within ~poll_interval on SQLite, at once on PostgreSQL)."""
    if db.dialect == "postgresql":
        async for events in _subscribe_postgres(db, after_seq, batch):
            yield events
        return
    cursor = after_seq
    while True:
        newest = await asyncio.to_thread(last_seq, db)
        if newest > cursor:
            events = await asyncio.to_thread(tail, db, cursor, batch)
            if events:
                cursor = events[-1].seq
                yield events
                continue
        await asyncio.sleep(poll_interval)


async def _subscribe_postgres(db: Database, after_seq: int, batch: int) -> AsyncIterator[list[EventRecord]]:
    import psycopg

    conninfo = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    cursor = after_seq
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        while True:
            events = await asyncio.to_thread(tail, db, cursor, batch)
            if events:
                cursor = events[-1].seq
                yield events
                if len(events) == batch:
                    continue
            # Wake on NOTIFY; the timeout is a safety net should a notification be missed.
            with contextlib.suppress(TimeoutError):
                async for _ in conn.notifies(timeout=SAFETY_POLL_SECONDS, stop_after=1):
                    break
