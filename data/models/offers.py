"""Open offers a CRM marks for field follow-up (deals, opportunities, quotes), and what the technician heard on site."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.org import str_enum
from data.models.types import Money, UTCDateTime


class OfferResponse(StrEnum):
    """What the customer told the technician; only ever moves forward (none -> interested -> accepted)."""

    NONE = "none"
    INTERESTED = "interested"
    ACCEPTED = "accepted"


class CrmOffer(Base):
    """One offer as its CRM has it; the CRM owns title, amount and whether it is still open."""

    __tablename__ = "crm_offers"
    __table_args__ = (UniqueConstraint("system", "external_id", name="one_row_per_remote_offer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(40))  # the connector's name
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))  # deal, opportunity, quote: the CRM's word for it
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    amount: Mapped[Decimal | None] = mapped_column(Money, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    open: Mapped[bool] = mapped_column(default=True)  # still open and marked for field follow-up in the CRM
    response: Mapped[OfferResponse] = mapped_column(
        str_enum(OfferResponse, "offer_response"), default=OfferResponse.NONE
    )
    response_note: Mapped[str | None] = mapped_column(Text, default=None)
    responded_by: Mapped[str | None] = mapped_column(String(64), default=None)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    response_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), default=None)
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
