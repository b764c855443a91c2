"""Money for those allowed to see it: the `see_money` permission applied to what read models return.

Prices, costs, invoice and quote totals, balances, revenue and hourly costs are money. For an actor
without `see_money`, each money field of a read model's output is replaced by `hidden: <reason>`
(never by zero, which would read as a real figure), so every surface that prints a read model
(the CLI's tables and JSON, the field API) hides the same fields for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from data.jsonable import jsonable
from data.permissions import Permission, refusal

if TYPE_CHECKING:
    from data.actor import Actor

MONEY_FIELDS = frozenset(
    {
        "amount",
        "balance",
        "balance_due",
        "cost",
        "hourly_cost",
        "invoice_total",
        "list_price",
        "price",
        "revenue",
        "revenue_per_customer",
        "revenue_per_technician",
        "subtotal",
        "tax",
        "tax_amount",
        "total",
        "unit_price",
    }
)


def money_refusal(actor: Actor) -> str | None:
    """Why `actor` may not see money (None when they may)."""
    return refusal(actor, Permission.SEE_MONEY, "see money")


def hidden(reason: str) -> str:
    return f"hidden: {reason}"


def has_money(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k in MONEY_FIELDS or has_money(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_money(v) for v in value)
    return False


def without_money(value: Any, reason: str) -> Any:
    """`value` (made JSON-like) with every money field's value replaced by `hidden: reason`."""
    value = jsonable(value)
    if isinstance(value, dict):
        return {
            k: (hidden(reason) if k in MONEY_FIELDS and v is not None else without_money(v, reason))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [without_money(v, reason) for v in value]
    return value


def for_actor(value: Any, actor: Actor) -> Any:
    """`value` as `actor` may see it: unchanged with `see_money`, its money fields hidden without."""
    reason = money_refusal(actor)
    return value if reason is None else without_money(value, reason)
