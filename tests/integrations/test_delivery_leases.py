"""Leases under a slow receiver: two workers never livelock, nothing is sent more than twice.

A worker leases only what it is about to send, extends its leases while requests are in flight,
and keeps a success that arrives after its lease moved to another worker.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from data.db import Database
from data.models.base import utcnow
from data.models.deliveries import Delivery, DeliveryStatus
from integrations.config import parse_config
from integrations.connector import Outcome, SendResult
from integrations.delivery import claims
from integrations.delivery.worker import Worker
from tests.integrations.fake_receiver import SECRET, SECRET_ENV, FakeReceiver, emit_events, serve, webhook_table


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeReceiver, str]]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    fake = FakeReceiver(secret=SECRET, delay=0.2)
    with serve(fake) as url:
        yield fake, url


def _delivered(db: Database) -> int:
    with db.read() as s:
        return len(list(s.scalars(select(Delivery.id).where(Delivery.status == DeliveryStatus.DELIVERED))))


async def test_two_workers_and_a_slow_receiver_deliver_everything_at_most_twice(db: Database, slow: Any) -> None:
    fake, url = slow
    total = 40
    emit_events(db, total)
    # 40 answers of 0.2 s through 2 slots take 4 s: longer than the 3 s lease.
    config = parse_config(
        {
            "delivery": {"lease_seconds": 3.0, "request_timeout_seconds": 2.0, "poll_seconds": 0.05},
            "connectors": {"hook": webhook_table(url)},
        }
    )
    stop = asyncio.Event()
    workers = [Worker(db, config, worker_id=f"w{i}", concurrency=2) for i in range(2)]
    runs = [asyncio.create_task(w.run(stop=stop)) for w in workers]

    def settled() -> bool:
        sends = Counter(k for k, _t, _s in list(fake.raw))
        return (sends and max(sends.values()) > 2) or _delivered(db) == total

    while not await asyncio.to_thread(settled):
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*runs)
    sends = Counter(k for k, _t, _s in fake.raw)
    assert max(sends.values()) <= 2, f"a delivery was sent {max(sends.values())} times"
    assert _delivered(db) == total and len(fake.effects) == total


def test_a_success_after_the_lease_moved_is_recorded(db: Database, slow: Any) -> None:
    _fake, url = slow
    emit_events(db, 1)
    config = parse_config({"delivery": {"lease_seconds": 1.0}, "connectors": {"hook": webhook_table(url)}})
    worker = Worker(db, config, worker_id="w1")
    from integrations.delivery.planner import plan_connector

    now = utcnow()
    for p in worker.connectors.values():
        plan_connector(db, p, 100, now)
    [first] = claims.claim_due(db, "w1", ["hook"], now, 1, config.delivery)
    later = now + timedelta(seconds=5)
    [second] = claims.claim_due(db, "w2", ["hook"], later, 1, config.delivery)
    assert second.id == first.id
    counts = claims.record_results(
        db, "w1", [(first, SendResult(Outcome.DELIVERED, 200, "{}"))], later, config.delivery, lambda _a, b: b
    )
    assert counts == {"delivered": 1}
    with db.read() as s:
        row = s.get(Delivery, first.id)
        assert row is not None and row.status is DeliveryStatus.DELIVERED and row.locked_by is None
    # w2's answer, arriving later still, changes nothing.
    assert (
        claims.record_results(
            db, "w2", [(second, SendResult(Outcome.RETRY, 500, "{}"))], later, config.delivery, lambda _a, b: b
        )
        == {}
    )


def test_leases_in_flight_are_extended(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    emit_events(db, 1)
    config = parse_config({"delivery": {"lease_seconds": 10.0}, "connectors": {"hook": webhook_table("http://x")}})
    worker = Worker(db, config, worker_id="w1")
    from integrations.delivery.planner import plan_connector

    now = utcnow()
    for p in worker.connectors.values():
        plan_connector(db, p, 100, now)
    [c] = claims.claim_due(db, "w1", ["hook"], now, 1, config.delivery)
    assert claims.extend_leases(db, "w1", [c.id], now + timedelta(seconds=30)) == 1
    assert claims.extend_leases(db, "w2", [c.id], now + timedelta(seconds=60)) == 0
    assert claims.claim_due(db, "w2", ["hook"], now + timedelta(seconds=20), 1, config.delivery) == []
