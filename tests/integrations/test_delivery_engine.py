"""The delivery engine against a real local receiver: retries, backoff, dead letters, order, breaker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from data.db import Database
from data.feed import tail
from data.models.deliveries import BreakerState, ConnectorState, Delivery
from integrations.config import IntegrationsConfig, parse_config
from integrations.delivery import claims
from integrations.delivery.store import list_deliveries, replay_delivery, retry_delivery, show_delivery, skip_delivery
from integrations.delivery.worker import Worker
from tests.factories import ADMIN, SUPERVISOR
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

FAST = {"backoff_base_seconds": 1.0, "backoff_cap_seconds": 60.0, "request_timeout_seconds": 2.0, "poll_seconds": 0.05}


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeReceiver, str]]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    fake = FakeReceiver(secret=SECRET)
    with serve(fake) as url:
        yield fake, url


def config_for(url: str, delivery: dict[str, Any] | None = None, **table: Any) -> IntegrationsConfig:
    return parse_config({"delivery": {**FAST, **(delivery or {})}, "connectors": {"hook": webhook_table(url, **table)}})


def worker_for(db: Database, config: IntegrationsConfig, clock: Clock, name: str = "w1") -> Worker:
    # The top of the jitter range, so a test knows exactly when a retry becomes due.
    return Worker(db, config, worker_id=name, concurrency=4, clock=clock, uniform=lambda _lo, hi: hi)


async def drain(worker: Worker, clock: Clock, step: float = 1.0, rounds: int = 200) -> None:
    """Run rounds, moving the clock on whenever nothing is due, until every delivery is finished."""
    for _ in range(rounds):
        await worker.run(once=True)
        with worker.db.read() as s:
            open_ = s.scalar(select(Delivery.id).where(Delivery.status.in_(claims.UNFINISHED)).limit(1))
        if open_ is None:
            return
        clock.advance(step)
    raise AssertionError("deliveries still unfinished")


def statuses(db: Database) -> list[str]:
    with db.read() as s:
        return [d.status.value for d in s.scalars(select(Delivery).order_by(Delivery.id))]


async def test_each_event_reaches_the_receiver_once_signed(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 5)
    emit_events(sqlite_db, 2, type="job.assigned")  # not subscribed: no delivery
    clock = Clock()
    await worker_for(sqlite_db, config_for(url), clock).run(once=True)
    assert statuses(sqlite_db) == ["delivered"] * 5
    assert len(fake.effects) == 5 and fake.bad_signatures == 0 and fake.duplicates() == 0
    body = next(iter(fake.effects.values())).body
    assert body["type"] == "job.completed" and body["data"]["payload"]["resolution"] == "fixed"
    assert all(k.startswith("dispatch-hook-") for k in fake.effects)


async def test_server_errors_are_retried_with_growing_backoff(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 1)
    fake.fail_next(Misbehaviour(500), Misbehaviour(503))
    clock = Clock()
    worker = worker_for(sqlite_db, config_for(url), clock)
    start = clock.now
    await worker.run(once=True)
    d = show_delivery(sqlite_db, 1)
    assert (d.status, d.attempts, d.last_status_code) == ("pending", 1, 500)
    assert d.next_attempt_at == start + timedelta(seconds=1)  # base * 2**0
    clock.advance(1)
    await worker.run(once=True)
    d = show_delivery(sqlite_db, 1)
    assert (d.attempts, d.last_status_code) == (2, 503)
    assert d.next_attempt_at == clock.now + timedelta(seconds=2)  # base * 2**1
    clock.advance(1)
    await worker.run(once=True)
    assert show_delivery(sqlite_db, 1).status == "pending"  # not due yet: backoff is honoured
    clock.advance(1)
    await worker.run(once=True)
    d = show_delivery(sqlite_db, 1)
    assert (d.status, d.attempts) == ("delivered", 3)
    assert len(fake.effects) == 1 and fake.raw_count(d.idempotency_key) == 3


async def test_429_retry_after_pauses_the_connector(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 3)
    fake.fail_next(Misbehaviour(429, headers={"retry-after": "30"}))
    clock = Clock()
    worker = worker_for(sqlite_db, config_for(url, {"batch_size": 1}), clock)
    worker.concurrency = 1
    await worker.run(once=True)
    d = show_delivery(sqlite_db, 1)
    assert d.status == "pending" and d.next_attempt_at >= clock.now + timedelta(seconds=30)
    with sqlite_db.read() as s:
        state = s.get(ConnectorState, "hook")
        assert state is not None and state.throttled_until == clock.now + timedelta(seconds=30)
        assert state.breaker is BreakerState.CLOSED  # a throttle is not an outage
    assert len(fake.raw) == 1  # nothing else went out while throttled
    clock.advance(29)
    await worker.run(once=True)
    assert len(fake.raw) == 1
    clock.advance(2)
    await worker.run(once=True)
    assert statuses(sqlite_db) == ["delivered"] * 3 and len(fake.effects) == 3


async def test_retry_budget_spent_dead_letters_with_last_response(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 1)
    fake.fail_next(*[Misbehaviour(502, body=b"<html>bad gateway</html>")] * 3)
    clock = Clock()
    worker = worker_for(sqlite_db, config_for(url, {"max_attempts": 3, "breaker_failures": 10}), clock)
    await drain(worker, clock, step=10)
    d = show_delivery(sqlite_db, 1)
    assert (d.status, d.attempts, d.last_status_code) == ("dead", 3, 502)
    assert d.last_response == "<html>bad gateway</html>" and "retry budget spent" in (d.last_error or "")
    audit = tail(sqlite_db, 0, types=["delivery.dead_lettered"])
    assert [e.subject_id for e in audit] == ["1"] and audit[0].payload["status_code"] == 502
    assert fake.effects == {}
    assert [d.id for d in list_deliveries(sqlite_db, status="dead", connector="hook")] == [1]


async def test_client_errors_dead_letter_at_once_and_delivery_events_are_never_delivered(
    sqlite_db: Database, receiver: Any
) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 1)
    fake.fail_next(Misbehaviour(422, body=b"not json at all"))
    clock = Clock()
    # Subscribing to everything the log holds: the engine's own delivery.* events still never go out.
    config = config_for(url)
    worker = worker_for(sqlite_db, config, clock)
    await worker.run(once=True)
    assert statuses(sqlite_db) == ["dead"]
    assert show_delivery(sqlite_db, 1).last_response == "not json at all"
    await worker.run(once=True)
    assert statuses(sqlite_db) == ["dead"]


async def test_deliveries_of_one_subject_go_in_order(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 3, subject=7)  # three events about job 7
    emit_events(sqlite_db, 1, start=10)  # and one about job 10
    first_key = "dispatch-hook-1-0"
    fake.fail_key(first_key, Misbehaviour(500), Misbehaviour(500))
    clock = Clock()
    worker = worker_for(sqlite_db, config_for(url), clock)
    await worker.run(once=True)
    # Job 10 went; job 7's later events wait behind its failing first one.
    assert statuses(sqlite_db) == ["pending", "pending", "pending", "delivered"]
    assert [k for k, _t, _s in fake.raw] == [first_key, "dispatch-hook-4-0"] or sorted(
        k for k, _t, _s in fake.raw
    ) == sorted([first_key, "dispatch-hook-4-0"])
    await drain(worker, clock, step=5)
    job7 = [k for k in fake.order if k != "dispatch-hook-4-0"]
    assert job7 == ["dispatch-hook-1-0", "dispatch-hook-2-0", "dispatch-hook-3-0"]
    sends_of_job7 = [k for k, _t, _s in fake.raw if k != "dispatch-hook-4-0"]
    assert sends_of_job7 == [first_key] * 3 + ["dispatch-hook-2-0", "dispatch-hook-3-0"]


async def test_breaker_opens_then_half_open_probe_closes_it(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 6)
    fake.fail_next(*[Misbehaviour(500)] * 3)
    clock = Clock()
    settings = {"breaker_failures": 2, "breaker_cooldown_seconds": 60, "batch_size": 2, "backoff_cap_seconds": 1}
    worker = worker_for(sqlite_db, config_for(url, settings), clock)
    worker.concurrency = 2
    await worker.run_round(httpx.AsyncClient())  # failures until the second one opens the breaker

    def state() -> ConnectorState:
        with sqlite_db.read() as s:
            row = s.get(ConnectorState, "hook")
            assert row is not None
            return row

    # Two sends at once; when the first failure comes back before the second, its freed slot may send one
    # more before the breaker opens (two failures), never more than that.
    opened_after = len(fake.raw)
    assert state().breaker is BreakerState.OPEN and opened_after in (2, 3)
    with fake._lock:
        fake.script.clear()
    fake.fail_next(Misbehaviour(500))  # the first probe fails
    clock.advance(30)
    await worker.run(once=True)
    assert len(fake.raw) == opened_after  # open: nothing is sent during the cool-down
    clock.advance(31)
    await worker.run_round(httpx.AsyncClient())
    assert len(fake.raw) == opened_after + 1  # exactly one probe; it fails
    assert state().breaker is BreakerState.OPEN
    clock.advance(61)
    async with httpx.AsyncClient() as client:
        # The next probe succeeds, closes the breaker, and the round goes on with the rest.
        assert await worker.run_round(client) >= 1
    assert fake.raw[opened_after + 1][2] == 200
    assert state().breaker is BreakerState.CLOSED
    await drain(worker, clock)
    assert len(fake.effects) == 6 and fake.duplicates() == 0


async def test_expired_lease_is_taken_over_and_the_late_answer_ignored(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 1)
    clock = Clock()
    config = config_for(url, {"lease_seconds": 30})
    crashed = worker_for(sqlite_db, config, clock, name="crashed")
    from integrations.delivery.planner import plan_all

    plan_all(sqlite_db, crashed.connectors, now=clock.now)
    taken = claims.claim_due(sqlite_db, "crashed", ["hook"], clock.now, 10, config.delivery)
    assert [c.id for c in taken] == [1]
    # The first worker sent the request and died before recording the answer.
    async with httpx.AsyncClient() as client:
        first = await crashed._send(taken[0], client)
    survivor = worker_for(sqlite_db, config, clock, name="survivor")
    await survivor.run(once=True)
    assert statuses(sqlite_db) == ["in_flight"]  # the lease still holds
    clock.advance(31)
    await survivor.run(once=True)
    d = show_delivery(sqlite_db, 1)
    assert (d.status, d.attempts) == ("delivered", 2)
    # The crashed worker's late answer changes nothing.
    claims.record_results(sqlite_db, "crashed", [(taken[0], first)], clock.now, config.delivery, lambda a, b: b)
    assert show_delivery(sqlite_db, 1).attempts == 2
    assert len(fake.effects) == 1 and fake.raw_count(d.idempotency_key) == 2


async def test_timeout_after_the_effect_landed_is_retried_and_absorbed(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 1)
    fake.fail_next(Misbehaviour(200, delay=2.5, apply=True))
    clock = Clock()
    worker = worker_for(sqlite_db, config_for(url, {"request_timeout_seconds": 0.5}), clock)
    await worker.run(once=True)
    d = show_delivery(sqlite_db, 1)
    assert d.status == "pending" and "timed out" in (d.last_error or "")
    await drain(worker, clock, step=2)
    for _ in range(100):  # the first, slow answer is logged when the receiver finally sends it
        if fake.raw_count(d.idempotency_key) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(fake.effects) == 1 and fake.raw_count(d.idempotency_key) == 2


async def test_mapping_failure_dead_letters_then_replay_with_remap_sends_the_fixed_request(
    sqlite_db: Database, receiver: Any
) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 1)
    mapping = {"job.completed": {"ref": "payload.ref", "item": {"lookup": "types", "from": "payload.type"}}}
    broken = config_for(url, mapping=mapping, lookups={"types": {"install": "ITEM-1"}})
    clock = Clock()
    await worker_for(sqlite_db, broken, clock).run(once=True)
    d = show_delivery(sqlite_db, 1)
    assert d.status == "dead" and d.request is None
    assert "value 'repair' is not in lookup 'types'" in (d.last_error or "")
    assert fake.raw == []

    fixed = config_for(url, mapping=mapping, lookups={"types": {"install": "ITEM-1", "repair": "ITEM-9"}})
    with pytest.raises(Exception, match="replay --remap"):
        retry_delivery(sqlite_db, ADMIN, 1)
    replay_delivery(sqlite_db, ADMIN, 1, remap=True, config=fixed)
    clock.catch_up()
    await worker_for(sqlite_db, fixed, clock).run(once=True)
    d = show_delivery(sqlite_db, 1)
    assert d.status == "delivered" and d.idempotency_key == "dispatch-hook-1-0-r1"
    assert fake.effects[d.idempotency_key].body["data"] == {"ref": "J00001", "item": "ITEM-9"}
    assert [e.type for e in tail(sqlite_db, 0, types=["delivery.dead_lettered", "delivery.replayed"])] == [
        "delivery.dead_lettered",
        "delivery.replayed",
    ]


async def test_receiver_refusal_fixed_by_mapping_and_replayed(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    fake.reject_when = lambda body: None if "customer" in body["data"] else "customer is required"
    emit_events(sqlite_db, 1)
    clock = Clock()
    await worker_for(sqlite_db, config_for(url), clock).run(once=True)
    assert show_delivery(sqlite_db, 1).status == "dead"
    assert "customer is required" in (show_delivery(sqlite_db, 1).last_response or "")
    # Adding a field needs only the mapping.
    mapping = {"job.completed": {"ref": "payload.ref", "customer": {"const": "C1"}}}
    fixed = config_for(url, mapping=mapping)
    replay_delivery(sqlite_db, ADMIN, 1, remap=True, config=fixed)
    clock.catch_up()
    await worker_for(sqlite_db, fixed, clock).run(once=True)
    assert show_delivery(sqlite_db, 1).status == "delivered"
    assert [e.body["data"] for e in fake.effects.values()] == [{"ref": "J00001", "customer": "C1"}]


async def test_operator_retry_skip_and_replay(sqlite_db: Database, receiver: Any) -> None:
    fake, url = receiver
    emit_events(sqlite_db, 2, subject=3)
    fake.fail_next(Misbehaviour(400), Misbehaviour(400))
    clock = Clock()
    worker = worker_for(sqlite_db, config_for(url), clock)
    await worker.run(once=True)
    await worker.run(once=True)
    assert statuses(sqlite_db) == ["dead", "dead"]
    with pytest.raises(Exception, match="read-only"):
        retry_delivery(sqlite_db, SUPERVISOR, 1)
    retry_delivery(sqlite_db, ADMIN, 1)
    skip_delivery(sqlite_db, ADMIN, 2, "sent by hand")
    clock.catch_up()
    await worker.run(once=True)
    assert statuses(sqlite_db) == ["delivered", "skipped"]
    with pytest.raises(Exception, match="cannot be skipped"):
        skip_delivery(sqlite_db, ADMIN, 1)
    # Replaying a delivered one resends the same key: the receiver applies nothing new.
    replay_delivery(sqlite_db, ADMIN, 1)
    clock.catch_up()
    await worker.run(once=True)
    assert len(fake.effects) == 1 and fake.raw_count("dispatch-hook-1-0") == 3
    assert json.loads(json.dumps(show_delivery(sqlite_db, 1).request))["method"] == "POST"
