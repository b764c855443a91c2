"""The synchronous checks where the office decides: a job for a customer on credit hold, a quote's price, a job
whose parts are not in the van.

Each asks `sync_calls.SyncCalls` (answered within its deadline, or "system unavailable, decision needed") and turns
the answer into a `Verdict` the command shows: go ahead, or stop and let the dispatcher decide (`decide` is the text
of the option that overrides). `data` never asks an outside system; the command asks here, then calls the service.

The answering system is the first enabled connector with `sync_calls = true` in `integrations.toml` (QuickBooks
answers natively; any other type uses its `credit_check_url`, `price_quote_url` and `stock_url` settings). With none,
nothing is asked and every check lets the work go ahead (the van check still looks at the van).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select

from data.db import Database
from data.models.customers import Customer, ExternalRef, Site
from data.services.stock import van_shortfall
from integrations.config import IntegrationsConfig
from integrations.sync_calls import CreditDecision, CustomerQuery, PriceQuote, SyncCalls, Unavailable

T = TypeVar("T")


@dataclass(frozen=True)
class Verdict:
    """Go ahead (`ok`), or stop and say why; `unavailable` when the system did not answer in time."""

    ok: bool
    message: str = ""
    unavailable: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Answerer:
    """The configured answering system, by connector name (its external ids are looked up under that name)."""

    name: str
    calls: SyncCalls


def answerer(config: IntegrationsConfig) -> Answerer | None:
    from integrations.registry import build_connector

    for connector in config.enabled():
        if connector.setting("sync_calls") is True:
            if connector.type == "quickbooks":
                return Answerer(connector.name, SyncCalls.for_connector(build_connector(connector)))
            return Answerer(connector.name, SyncCalls(connector.settings))
    return None


def _ask(call: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(call())  # type: ignore[arg-type]


def credit_for_site(db: Database, who: Answerer | None, site_code: str) -> Verdict:
    """Before a job is created at `site_code`: is its customer on credit hold?"""
    if who is None:
        return Verdict(True)
    with db.read() as s:
        row = s.execute(
            select(Customer.id, Customer.code, Customer.name).join(Site, Site.customer_id == Customer.id)
            .where(Site.code == site_code)
        ).first()  # fmt: skip
        if row is None:
            return Verdict(True)  # the service names the unknown site
        external = s.scalar(
            select(ExternalRef.external_id).where(
                ExternalRef.entity == "customer", ExternalRef.entity_id == row.id, ExternalRef.system == who.name
            )
        )
    answer = _ask(lambda: who.calls.credit_check(CustomerQuery(row.code, row.name, external)))
    if isinstance(answer, Unavailable):
        return Verdict(False, f"credit check of {row.code}: {answer.reason} ({answer.detail})", unavailable=True)
    assert isinstance(answer, CreditDecision)
    if answer.approved:
        return Verdict(True)
    owed = f"balance {answer.balance} {answer.currency or ''}".strip() if answer.balance is not None else "over limit"
    limit = f" over a limit of {answer.credit_limit}" if answer.credit_limit is not None else ""
    return Verdict(False, f"customer {row.code} {row.name} is on credit hold ({owed}{limit})")


def remote_price(who: Answerer | None, item: str) -> Decimal | Verdict:
    """The price the accounting system quotes for a part SKU or job type, or why there is none."""
    if who is None:
        return Verdict(False, f"no price for {item!r}: no system answers price quotes (give the price)")
    answer = _ask(lambda: who.calls.price_quote(item))
    if isinstance(answer, Unavailable):
        return Verdict(False, f"price quote for {item}: {answer.reason} ({answer.detail})", unavailable=True)
    assert isinstance(answer, PriceQuote)
    return answer.unit_price


def parts_for_assignment(db: Database, who: Answerer | None, job_ref: str, technician_code: str) -> Verdict:
    """Before a job goes to a technician: does the van hold its parts, and if not, can they be had in time?"""
    short = van_shortfall(db, job_ref, technician_code)
    if not short:
        return Verdict(True)
    warnings = []
    for gap in short:
        missing = gap.needed - gap.in_van
        said = f"{gap.van or technician_code + ' (no van)'} holds {gap.in_van} x {gap.sku}, the job needs {gap.needed}"
        if who is None:
            warnings.append(f"{said}: restock the van (`dispatch stock move {gap.sku} {missing} --to {gap.van}`)")
            continue
        answer = _ask(lambda sku=gap.sku: who.calls.stock_availability(sku))  # type: ignore[misc]
        if isinstance(answer, Unavailable):
            return Verdict(False, f"{said}; stock of {gap.sku}: {answer.reason} ({answer.detail})", unavailable=True)
        if answer.available < missing:
            where = f" at {answer.location}" if answer.location else ""
            return Verdict(False, f"{said}; only {answer.available}{where} to restock it from")
        where = f" from {answer.location}" if answer.location else ""
        warnings.append(f"{said}: restock {missing}{where} before the visit")
    return Verdict(True, warnings=warnings)
