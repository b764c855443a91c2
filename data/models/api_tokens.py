"""Revocable API tokens that let a technician's phone app act for that technician, stored only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.types import UTCDateTime


class ApiToken(Base):
    """One issued token; the secret itself is never stored, only its digest.

    `peppered` digests are HMAC-SHA256 under the pepper sealed in the database (a stolen backup
    cannot check guesses without the key); tokens issued before the pepper keep a plain SHA-256.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    peppered: Mapped[bool] = mapped_column(default=False, server_default=false())
    label: Mapped[str | None] = mapped_column(String(120), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(64), default=None)

    @property
    def active(self) -> bool:
        return self.revoked_at is None
