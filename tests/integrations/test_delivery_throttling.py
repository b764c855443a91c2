"""Throttling: a 429 pauses the whole connector, does not spend the retry budget; a shared rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from data.db import Database
from data.models.deliveries import Delivery, DeliveryStatus
from integrations.config import parse_config
from integrations.delivery.worker import Worker
from tests.integrations.fake_receiver import (
    SECRET,
    SECRET_ENV,
    Clock,
    FakeReceiver,
    Misbehaviour,
    emit_events,
    serve,
    webhook_table,
)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeReceiver, str]]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    fake = FakeReceiver(secret=SECRET)
    with serve(fake) as url:
        yield fake, url


def worker(db: Database, url: str, clock: Clock, delivery: dict[str, Any], **table: Any) -> Worker:
    config = parse_config({"delivery": delivery, "connectors": {"hook": webhook_table(url, **table)}})
    return Worker(db, config, worker_id="w1", concurrency=1, clock=clock, uniform=lambda _lo, hi: hi)


def rows(db: Database) -> list[Delivery]:
    with db.read() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


async def test_a_429_pauses_the_connector_and_keeps_the_retry_budget(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 20)
    fake.fail_next(*[Misbehaviour(429, headers={"Retry-After": "8"})] * 5)
    clock = Clock(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    w = worker(sqlite_db, url, clock, {"max_attempts": 2})
    await w.run(once=True)
    assert len(fake.raw) == 1  # the other 19 wait: the connector is paused, not just that delivery
    for _ in range(4):
        clock.advance(8)
        await w.run(once=True)
    # Five 429s on one delivery with max_attempts = 2: throttling spent none of its budget.
    assert len(fake.raw) == 5
    clock.advance(8)
    await w.run(once=True)
    assert [d.status for d in rows(sqlite_db)] == [DeliveryStatus.DELIVERED] * 20
    assert rows(sqlite_db)[0].attempts == 1


async def test_a_rate_limit_per_connector_is_shared_by_all_workers(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 30)
    clock = Clock(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    table = {"rate_limit_per_minute": 60, "rate_limit_burst": 5}
    workers = [worker(sqlite_db, url, clock, {}, **table) for _ in range(2)]
    for w in workers:
        w.concurrency = 4
        await w.run(once=True)
    assert len(fake.raw) == 5  # the burst, across both workers
    clock.advance(3)  # 60/min: one more each second
    for w in workers:
        await w.run(once=True)
    assert len(fake.raw) == 8
