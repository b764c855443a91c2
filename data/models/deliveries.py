"""The integration outbox: one delivery per (connector, event, request), cursors and shared breaker state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.org import str_enum
from data.models.types import UTCDateTime


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn (next_attempt_at) or for an earlier delivery of its subject
    IN_FLIGHT = "in_flight"  # claimed by a worker until locked_until; retried by another after that
    DELIVERED = "delivered"
    DEAD = "dead"  # retry budget spent or refused for good; kept with the last response for replay
    SKIPPED = "skipped"  # an operator decided it should not be sent


UNFINISHED_SQL = "status IN ('pending', 'in_flight')"  # the partial index's predicate, as the claim states it


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("connector", "event_seq", "request_index", name="one_delivery_per_request"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_subject", "connector", "subject_key", "id"),
        # The claim scans unfinished deliveries in id order; without this index it walks past every
        # delivered row of the connector on each claim, so claims slowed as the outbox grew.
        Index(
            "ix_deliveries_unfinished",
            "connector",
            "id",
            postgresql_where=text(UNFINISHED_SQL),
            sqlite_where=text(UNFINISHED_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    request_index: Mapped[int] = mapped_column(Integer, default=0)
    subject_key: Mapped[str] = mapped_column(String(120))  # "job:42": deliveries of one subject go in order
    event_type: Mapped[str] = mapped_column(String(64))
    # The exact request as mapped when the delivery was planned (None when mapping failed).
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    budget_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # max age counts from here
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_response: Mapped[str | None] = mapped_column(Text, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    locked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ConnectorCursor(Base):
    """How far the planner has read the event log for a connector, and where its last pull stopped."""

    __tablename__ = "connector_cursors"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    pull_cursor: Mapped[str | None] = mapped_column(String(200), default=None)
    pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConnectorState(Base):
    """Circuit breaker and throttle per connector, in the database so every worker obeys the same state."""

    __tablename__ = "connector_state"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    breaker: Mapped[BreakerState] = mapped_column(str_enum(BreakerState, "breaker_state"), default=BreakerState.CLOSED)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Open: no sends before this time. Half-open: the probe's lease (another probe may start after it).
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    throttled_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # 429 Retry-After
    # The rate limit's token bucket, shared by every worker: tokens left at `rate_at`.
    rate_tokens: Mapped[float | None] = mapped_column(Float, default=None)
    rate_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OAuthToken(Base):
    """A connector's OAuth2 tokens, encrypted (the integrations layer holds the key), shared by every worker."""

    __tablename__ = "oauth_tokens"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


__all__ = ["BreakerState", "ConnectorCursor", "ConnectorState", "Delivery", "DeliveryStatus", "OAuthToken"]
