"""Secrets Dispatch keeps in the database (webhook signing secrets, the field API tokens' pepper), encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.types import UTCDateTime


class SealedSecret(Base):
    """One named secret; `ciphertext` is a Fernet token made with the key of `data.secret_key`."""

    __tablename__ = "sealed_secrets"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="system")


__all__ = ["SealedSecret"]
