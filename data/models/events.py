"""The append-only event log: the spine that consoles, the integration worker and audit read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.types import UTCDateTime


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject_type", "subject_id"),)

    # BIGINT on PostgreSQL; SQLite needs INTEGER PRIMARY KEY for its rowid alias.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(40), default="cli")  # console, cli, api, worker, simulator
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
