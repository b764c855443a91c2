"""Several workers against one outbox: recording answers does not make them take turns.

Every worker records every batch of answers; if each recording locked the connector's breaker row
until its commit, three workers would deliver no faster than one.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, text

from data.db import Database, create_database_engine
from data.models.base import utcnow
from data.models.deliveries import ConnectorState, Delivery, DeliveryStatus
from integrations.config import parse_config
from integrations.connector import Outcome, SendResult
from integrations.delivery import claims
from integrations.delivery.worker import Worker
from tests.integrations.fake_receiver import SECRET, SECRET_ENV, emit_events, webhook_table


def _planned(db: Database, monkeypatch: pytest.MonkeyPatch, events: int, **emit: Any) -> Any:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    emit_events(db, events, **emit)
    config = parse_config({"connectors": {"hook": webhook_table("http://receiver.invalid")}})
    worker = Worker(db, config, worker_id="w1")
    from integrations.delivery.planner import plan_connector

    for p in worker.connectors.values():
        plan_connector(db, p, 1000, utcnow())
    return config


@pytest.mark.postgres
def test_recording_successes_does_not_wait_for_the_breaker_row(
    pg_db: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _planned(pg_db, monkeypatch, 1)
    now = utcnow()
    [claimed] = claims.claim_due(pg_db, "w1", ["hook"], now, 1, config.delivery)
    # A second worker's transaction holds the connector's row (as recording used to, until its commit).
    other = pg_db.engine.connect()
    transaction = other.begin()
    other.execute(select(ConnectorState).where(ConnectorState.connector == "hook").with_for_update())
    engine = create_database_engine(postgres_url)

    @event.listens_for(engine, "connect")
    def _no_waiting(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # a wait on the row fails instead of hanging

    db = Database(postgres_url, engine)
    try:
        counts = claims.record_results(
            db, "w1", [(claimed, SendResult(Outcome.DELIVERED, 200, "{}"))], now, config.delivery, lambda _a, b: b
        )
    finally:
        transaction.rollback()
        other.close()
        engine.dispose()
    assert counts == {"delivered": 1}


def test_a_failure_still_counts_against_the_breaker(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _planned(db, monkeypatch, 2)
    now = utcnow()
    taken = claims.claim_due(db, "w1", ["hook"], now, 2, config.delivery)
    claims.record_results(
        db,
        "w1",
        [(taken[0], SendResult(Outcome.DELIVERED, 200, "{}")), (taken[1], SendResult(Outcome.RETRY, 503, "{}"))],
        now,
        config.delivery,
        lambda _a, b: b,
    )
    with db.read() as s:
        state = s.get(ConnectorState, "hook")
        assert state is not None and state.consecutive_failures == 1


def test_recording_an_answer_claims_what_it_unblocked_in_the_same_transaction(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _planned(db, monkeypatch, 2, subject=7)  # two deliveries of one subject: the second waits
    now = utcnow()
    [first] = claims.claim_due(db, "w1", ["hook"], now, 5, config.delivery)
    counts, following = claims.record_and_claim(
        db,
        "w1",
        [(first, SendResult(Outcome.DELIVERED, 200, "{}"))],
        now,
        config.delivery,
        lambda _a, b: b,
        ["hook"],
        5,
    )
    assert counts == {"delivered": 1}
    assert [c.id for c in following] == [first.id + 1]
    with db.read() as s:
        statuses = {i: st for i, st in s.execute(select(Delivery.id, Delivery.status))}
    assert statuses == {first.id: DeliveryStatus.DELIVERED, first.id + 1: DeliveryStatus.IN_FLIGHT}


def test_the_claim_reads_unfinished_deliveries_through_the_partial_index(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _planned(pg_db, monkeypatch, 300)
    with pg_db.engine.begin() as conn:
        conn.execute(text("UPDATE deliveries SET status = 'delivered' WHERE id <= 290"))
        conn.execute(text("ANALYZE deliveries"))
        compiled = (
            select(Delivery.id)
            .where(Delivery.connector.in_(["hook"]), claims._due(utcnow()))
            .order_by(Delivery.id)
            .limit(4)
            .compile(conn, compile_kwargs={"literal_binds": True})
        )
        plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_deliveries_unfinished" in plan, plan
    assert len(claims.claim_due(pg_db, "w1", ["hook"], utcnow(), 20, config.delivery)) == 10
