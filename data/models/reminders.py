"""Customer reminders already sent (or being sent), so no customer ever hears the same thing twice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.org import str_enum
from data.models.types import UTCDateTime


class ReminderKind(StrEnum):
    DAY_BEFORE = "day_before"
    MORNING_OF = "morning_of"
    ON_THE_WAY = "on_the_way"


class ReminderChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class ReminderStatus(StrEnum):
    SENDING = "sending"  # claimed; the send may or may not have happened (a crash leaves it here)
    SENT = "sent"
    FAILED = "failed"  # the server refused or was unreachable: retried
    UNKNOWN = "unknown"  # a crash mid-send; never resent blindly (see integrations/reminders)


class ReminderSent(Base):
    """One reminder of one kind on one channel for one job: the unique key is the never-twice promise."""

    __tablename__ = "reminders_sent"
    __table_args__ = (
        UniqueConstraint("job_id", "kind", "channel", name="one_reminder_per_job_kind_channel"),
        Index("ix_reminders_sent_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, "reminder_kind"))
    channel: Mapped[ReminderChannel] = mapped_column(str_enum(ReminderChannel, "reminder_channel"))
    status: Mapped[ReminderStatus] = mapped_column(str_enum(ReminderStatus, "reminder_status"))
    recipient: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(200))  # Message-ID / webhook-id: stable across retries
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class ReminderCursor(Base):
    """How far the reminder runner has read the event log (for "technician on the way" messages)."""

    __tablename__ = "reminder_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
