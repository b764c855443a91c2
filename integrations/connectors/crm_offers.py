"""What every CRM connector does the same way with offers: read an amount, word the technician's answer."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


def decimal_or_none(value: Any) -> Decimal | None:
    """A CRM amount (number or numeric text) as a Decimal; blank or unreadable is no amount."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def offer_note(offer: Mapping[str, Any]) -> str:
    """One line for the CRM record: who heard what, on which job, and the quote it became."""
    parts = [
        f"Customer {offer['response']} on site",
        f"job {offer.get('job_ref')}",
        f"by {offer.get('responded_by')}",
        f"at {offer.get('responded_at')}",
    ]
    if offer.get("quote_ref"):
        parts.append(f"quote {offer['quote_ref']}")
    text = ", ".join(parts)
    return f"{text}: {offer['note']}" if offer.get("note") else text
