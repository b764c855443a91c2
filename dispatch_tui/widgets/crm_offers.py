"""The job detail's "CRM offers" section: the customer's open offers and what the technician answered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text

from data.queries.offers import OfferLine

ANSWERS = {"interested": "interested", "accepted": "ACCEPTED"}


def render_crm_offers(offers: Sequence[OfferLine], when: Callable[[datetime | None], str]) -> Text:
    """Empty when the customer has no offer, so most jobs look as they always did."""
    if not offers:
        return Text("")
    text = Text("CRM offers\n", style="bold")
    for o in offers:
        price = f" {o.amount} {o.currency or ''}".rstrip() if o.amount is not None else ""
        text.append(f"{o.kind} in {o.system}: ", style="dim")
        text.append(f"{o.title}{price}")
        if not o.open:
            text.append("  closed in the CRM", style="dim")
        if o.response in ANSWERS:
            text.append(f"  {ANSWERS[o.response]} ", style="bold green" if o.response == "accepted" else "yellow")
            text.append(f"by {o.responded_by} {when(o.responded_at)}", style="dim")
            if o.quote_ref:
                text.append(f" -> quote {o.quote_ref}", style="dim")
        text.append("\n")
        if o.note:
            text.append(f"    {o.note}\n", style="italic")
    return text
