"""Messages between the office and the field: a thread per job and per technician, internal or customer-facing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.jobs import NoteAuthorKind
from data.models.org import str_enum
from data.models.types import UTCDateTime


class MessageAudience(StrEnum):
    INTERNAL = "internal"  # office and technicians only
    CUSTOMER = "customer"  # meant for the customer: connectors may forward it (SMS, CRM case)


class Message(Base):
    """One message on a job's thread (`job_id`) or a technician's (`technician_id`, no job)."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread", "job_id", "technician_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), default=None)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), default=None)
    audience: Mapped[MessageAudience] = mapped_column(str_enum(MessageAudience, "message_audience"))
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    author_kind: Mapped[NoteAuthorKind] = mapped_column(str_enum(NoteAuthorKind, "message_author_kind"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageRead(Base):
    """How far a person has read a thread (bookkeeping, not an event): what their unread counts start from."""

    __tablename__ = "message_reads"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread: Mapped[str] = mapped_column(String(40), primary_key=True)  # "job:<id>" or "technician:<id>"
    last_read_id: Mapped[int] = mapped_column(default=0)


__all__ = ["Message", "MessageAudience", "MessageRead"]
