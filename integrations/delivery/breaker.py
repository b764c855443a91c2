"""The circuit breaker and throttle per connector, kept in `connector_state` so all workers share them.

Closed: send freely. After `breaker_failures` consecutive transient failures: open, nothing is sent
until the cool-down passes. Then one worker takes the half-open probe (one delivery); its success
closes the breaker, its failure opens it again. A Retry-After (429 or the vendor's own throttle
signal) pauses the whole connector until then without counting as a failure: the receiver is up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from data.models.deliveries import BreakerState, ConnectorState
from integrations.config import DeliverySettings
from integrations.connector import Outcome, SendResult

UNLIMITED = -1  # an allowance: no limit; 0 blocked; 1 a half-open probe


def ensure_state_rows(session: Session, connectors: list[str]) -> None:
    if not connectors:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(ConnectorState).values([{"connector": c} for c in connectors]).on_conflict_do_nothing())


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `per_minute` sends on average, at most `burst` at once."""

    per_minute: float
    burst: float

    def refill(self, tokens: float | None, since: datetime | None, now: datetime) -> float:
        if tokens is None or since is None:
            return self.burst
        elapsed = max(0.0, (now - since).total_seconds())
        return min(self.burst, tokens + elapsed * self.per_minute / 60.0)


def allowances(
    session: Session,
    connectors: list[str],
    now: datetime,
    probe_lease: float,
    rates: Mapping[str, RateLimit] | None = None,
) -> dict[str, int]:
    """How many deliveries each connector may send now; takes the half-open probe when it is due.

    A rate-limited connector's allowance is also capped by the whole tokens of its bucket; `spend`
    takes them once the claim knows how many it leased.
    """
    rates = rates or {}
    stmt = select(ConnectorState).where(ConnectorState.connector.in_(connectors))
    if rates and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # the bucket is read and spent in one transaction
    states = {s.connector: s for s in session.scalars(stmt)}
    if len(states) < len(set(connectors)):  # a connector's first claim: its row, then read them again
        ensure_state_rows(session, connectors)
        states = {s.connector: s for s in session.scalars(stmt)}
    allowed = _breaker_allowances(session, connectors, states, now, probe_lease)
    for name, limit in rates.items():
        state = states.get(name)
        if state is None or allowed.get(name, 0) == 0:
            continue
        tokens = int(limit.refill(state.rate_tokens, state.rate_at, now))
        allowed[name] = tokens if allowed[name] == UNLIMITED else min(allowed[name], tokens)
    return allowed


def spend(session: Session, connector: str, limit: RateLimit, sent: int, now: datetime) -> None:
    """Take `sent` tokens from the connector's bucket (inside the claiming transaction)."""
    state = session.get(ConnectorState, connector)
    if state is None:
        return
    state.rate_tokens = max(0.0, limit.refill(state.rate_tokens, state.rate_at, now) - sent)
    state.rate_at = now


def _breaker_allowances(
    session: Session, connectors: list[str], states: Mapping[str, ConnectorState], now: datetime, probe_lease: float
) -> dict[str, int]:
    allowed: dict[str, int] = {}
    for name in connectors:
        state = states.get(name)
        if state is None:
            allowed[name] = UNLIMITED
            continue
        if state.throttled_until is not None and state.throttled_until > now:
            allowed[name] = 0
        elif state.breaker is BreakerState.CLOSED:
            allowed[name] = UNLIMITED
        elif state.retry_at is not None and state.retry_at > now:
            allowed[name] = 0  # open and cooling down, or a probe is out
        else:
            # Open after its cool-down, or a half-open probe whose worker vanished: take the probe.
            taken = session.execute(
                update(ConnectorState)
                .where(
                    ConnectorState.connector == name,
                    ConnectorState.breaker == state.breaker,
                    ConnectorState.retry_at == state.retry_at,
                )
                .values(breaker=BreakerState.HALF_OPEN, retry_at=now + timedelta(seconds=probe_lease), updated_at=now)
                .execution_options(synchronize_session=False)
            )
            allowed[name] = 1 if taken.rowcount == 1 else 0  # type: ignore[attr-defined]
    return allowed


def record(
    session: Session, connector: str, results: list[SendResult], now: datetime, settings: DeliverySettings
) -> None:
    """Update the breaker after a batch of answers, in order (inside the transaction recording them).

    Answers that only confirm a closed breaker change nothing, so they neither lock nor write the
    connector's row: every worker records every batch, and a row lock held to each commit would
    make the workers take turns. A failure or a throttle signal locks the row and applies in order.
    """
    if all(_confirms_closed(r) for r in results):
        current = session.execute(
            select(ConnectorState.breaker, ConnectorState.consecutive_failures, ConnectorState.retry_at).where(
                ConnectorState.connector == connector
            )
        ).one_or_none()
        if current is not None and tuple(current) == (BreakerState.CLOSED, 0, None):
            return
    state = session.scalars(
        select(ConnectorState).where(ConnectorState.connector == connector).with_for_update()
    ).one_or_none()
    if state is None:
        state = ConnectorState(connector=connector)
        session.add(state)
    state.updated_at = now
    for result in results:
        _apply(state, result, now, settings)


def _confirms_closed(result: SendResult) -> bool:
    """An answer that leaves a closed breaker as it is: the receiver answered, without a throttle."""
    return result.outcome is not Outcome.RETRY


def _apply(state: ConnectorState, result: SendResult, now: datetime, settings: DeliverySettings) -> None:
    if result.outcome is Outcome.RETRY and result.retry_after is not None:
        until = now + timedelta(seconds=result.retry_after)
        if state.throttled_until is None or until > state.throttled_until:
            state.throttled_until = until
        _close(state)
    elif result.outcome is Outcome.RETRY:
        state.consecutive_failures = (state.consecutive_failures or 0) + 1
        if state.breaker is BreakerState.HALF_OPEN or state.consecutive_failures >= settings.breaker_failures:
            state.breaker = BreakerState.OPEN
            state.opened_at = now
            state.retry_at = now + timedelta(seconds=settings.breaker_cooldown_seconds)
    else:
        # Delivered, or refused for good: either way the receiver answered, so it is up.
        _close(state)


def _close(state: ConnectorState) -> None:
    state.breaker = BreakerState.CLOSED
    state.consecutive_failures = 0
    state.retry_at = None
