"""QuickBooks end to end against the local fake: one invoice despite faults, customers matched or created, payments."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from data.db import Database
from data.models import ExternalRef
from data.models.field import InvoiceDraft, InvoiceStatus
from data.models.payments import AccountingInvoice, AccountingInvoiceStatus, Payment
from data.services.crm_sync import payment_history
from integrations.connector import Outcome
from integrations.connectors.quickbooks import QuickBooksConnector
from integrations.mapping import MappingError
from integrations.oauth import TokenRefreshError
from tests.integrations.fakes.quickbooks import REALM, QuickBooksState, build_app
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import completed_job, connector_config, context, deliver

LOOKUPS = {
    "items": {"labour": "1", "callout": "2", "part": "3", "expense": "4"},
    "tax_codes": {"0.255": "TAX", "0": "NON"},
}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[QuickBooksState, str]]:
    state = QuickBooksState()
    with serve(build_app(state)) as url:
        yield state, url


def make(url: str, tmp_path: Path, lookups: dict[str, dict[str, str]] = LOOKUPS) -> QuickBooksConnector:
    config = connector_config(
        tmp_path,
        "qbo",
        "quickbooks",
        {"base_url": url, "token_url": f"{url}/oauth2/v1/tokens/bearer", "realm_id": REALM},
        {"lookups": lookups},
    )
    return QuickBooksConnector(config)


@pytest.fixture
def qbo(fake: tuple[QuickBooksState, str], tmp_path: Path) -> tuple[QuickBooksState, QuickBooksConnector]:
    state, url = fake
    state.reset()
    return state, make(url, tmp_path)


async def test_invoice_created_once_with_covered_lines_at_zero(
    sqlite_db: Database, qbo: tuple[QuickBooksState, QuickBooksConnector]
) -> None:
    state, connector = qbo
    job = completed_job(sqlite_db)
    requests = connector.map(job.drafted, context(sqlite_db, connector.config))
    assert len(requests) == 1 and len(requests[0].params["requestid"]) <= 50
    state.inject("500", "429", "timeout", "500-after", "malformed")
    async with httpx.AsyncClient(timeout=0.5) as client:
        results = await deliver(connector, requests, client)
        again = await deliver(connector, requests, client)
    assert results[0].outcome is Outcome.DELIVERED and again[0].external_id == results[0].external_id
    assert len(state.invoices) == 1 and len(state.customers) == 1  # customer C1 created, once
    invoice = next(iter(state.invoices.values()))
    assert invoice["DocNumber"] == "HEL-2026-000001"
    covered = [ln for ln in invoice["Line"] if "covered:" in ln["Description"]]
    assert covered and all(ln["Amount"] == 0 for ln in covered)  # the part under warranty
    assert any("warranty" in ln["Description"] for ln in covered)
    with sqlite_db.read() as s:
        draft = s.scalar(select(InvoiceDraft))
        assert draft is not None
        assert Decimal(str(invoice["TotalAmt"])) == draft.total


async def test_existing_customer_is_matched_by_display_name(
    sqlite_db: Database, qbo: tuple[QuickBooksState, QuickBooksConnector]
) -> None:
    state, connector = qbo
    job = completed_job(sqlite_db)
    with sqlite_db.read() as s:
        from data.models import Customer

        name = s.scalar(select(Customer.name).where(Customer.code == "C1"))
    assert name is not None
    cid = state.add_customer(name)
    requests = connector.map(job.drafted, context(sqlite_db, connector.config))
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, requests, client)
    assert results[0].outcome is Outcome.DELIVERED
    assert len(state.customers) == 1 and next(iter(state.invoices.values()))["CustomerRef"]["value"] == cid


async def test_fault_in_a_200_is_not_a_delivery(
    sqlite_db: Database, qbo: tuple[QuickBooksState, QuickBooksConnector]
) -> None:
    state, connector = qbo
    job = completed_job(sqlite_db)
    state.add_customer("placeholder")
    requests = connector.map(job.drafted, context(sqlite_db, connector.config))
    async with httpx.AsyncClient(timeout=5) as client:
        state.inject("fault200-system")
        system = await connector.send(requests[0], client)
        state.inject("fault200-validation")
        validation = await connector.send(requests[0], client)
    assert system.outcome is Outcome.RETRY and system.status_code == 200 and "SystemFault" in system.message
    assert validation.outcome is Outcome.FAILED and "ValidationFault" in validation.message
    assert state.invoices == {}


async def test_unknown_item_is_a_mapping_error_naming_the_lookup(
    sqlite_db: Database, fake: tuple[QuickBooksState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path, {"items": {"labour": "1"}})
    job = completed_job(sqlite_db)
    with pytest.raises(MappingError, match=r"lookups\.items"):
        connector.map(job.drafted, context(sqlite_db, connector.config))


async def test_token_refresh_on_401(sqlite_db: Database, qbo: tuple[QuickBooksState, QuickBooksConnector]) -> None:
    state, connector = qbo
    job = completed_job(sqlite_db)
    requests = connector.map(job.drafted, context(sqlite_db, connector.config))
    state.inject("401")
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, requests, client)
    assert results[0].outcome is Outcome.DELIVERED and connector.auth.refreshes == 1


async def test_payments_pulled_mark_the_draft_paid_once(
    sqlite_db: Database, qbo: tuple[QuickBooksState, QuickBooksConnector]
) -> None:
    state, connector = qbo
    job = completed_job(sqlite_db)
    requests = connector.map(job.drafted, context(sqlite_db, connector.config))
    async with httpx.AsyncClient(timeout=5) as client:
        sent = await deliver(connector, requests, client)
        invoice_id = sent[0].external_id
        assert invoice_id is not None
        total = state.invoices[invoice_id]["TotalAmt"]
        state.pay(invoice_id, "5.00", on="2026-11-26")
        partial = await connector.pull(sqlite_db, None, client)
        state.pay(invoice_id, str(Decimal(str(total)) - Decimal("5.00")), on="2026-11-27")
        full = await connector.pull(sqlite_db, None, client)
        again = await connector.pull(sqlite_db, None, client)
    assert partial.created == 2 and full.created == 1 and again.created == 0 and again.updated == 0
    with sqlite_db.read() as s:
        remote = s.scalar(select(AccountingInvoice))
        draft = s.scalar(select(InvoiceDraft))
        assert remote is not None and draft is not None
        assert remote.status is AccountingInvoiceStatus.PAID and remote.invoice_id == draft.id
        assert draft.status is InvoiceStatus.PAID
        assert len(list(s.scalars(select(Payment)))) == 2
        customer_id = draft.customer_id
        ref = s.scalar(
            select(ExternalRef.external_id).where(ExternalRef.entity == "customer", ExternalRef.system == "qbo")
        )
        assert ref == state.invoices[invoice_id]["CustomerRef"]["value"]  # the next invoice refers to it directly
    history = payment_history(sqlite_db, customer_id)
    assert [str(p.paid_on) for p in history] == ["2026-11-27", "2026-11-26"]


async def test_check_reports_the_company(qbo: tuple[QuickBooksState, QuickBooksConnector]) -> None:
    state, connector = qbo
    async with httpx.AsyncClient(timeout=5) as client:
        assert await connector.check(client) == "authorised for Kallio Heat Oy"
        state.refresh_token = "revoked"
        state.inject("401")
        with pytest.raises(TokenRefreshError, match="authentication refused"):
            await connector.check(client)


async def test_a_credit_note_becomes_a_credit_memo_and_a_voided_draft_voids_the_qbo_invoice(
    sqlite_db: Database, qbo: tuple[QuickBooksState, QuickBooksConnector]
) -> None:
    from data.feed import tail
    from data.services.invoicing import credit_invoice
    from data.services.reopen import reopen_job
    from tests.factories import ADMIN

    state, connector = qbo
    assert {"invoice.voided", "credit_note.issued"} <= connector.subscribes()
    job = completed_job(sqlite_db)
    async with httpx.AsyncClient(timeout=2) as client:
        await deliver(connector, connector.map(job.drafted, context(sqlite_db, connector.config)), client)
        [invoice] = state.invoices.values()
        reopen_job(sqlite_db, ADMIN, job.ref, "completed the wrong job")
        [voided] = [e for e in tail(sqlite_db, 0, 10_000) if e.type == "invoice.voided"]
        [sent] = await deliver(connector, connector.map(voided, context(sqlite_db, connector.config)), client)
        assert sent.outcome is Outcome.DELIVERED, sent.message
        assert invoice["Balance"] == 0.0 and invoice["SyncToken"] == "1"
        from data.services.completion import CompletionInput, complete_from_office
        from tests.factories import local

        again = complete_from_office(
            sqlite_db, ADMIN, job.ref, CompletionInput(local(13), local(14), 60, 10, "FIXED")
        ).invoice_ref
        assert again == "HEL-2026-000002"
        credit_invoice(sqlite_db, ADMIN, again, "price agreed lower")
        events = list(tail(sqlite_db, 0, 10_000))
        [drafted] = [e for e in events if e.type == "invoice.drafted" and e.payload["ref"] == again]
        [noted] = [e for e in events if e.type == "credit_note.issued"]
        await deliver(connector, connector.map(drafted, context(sqlite_db, connector.config)), client)
        [memo_sent] = await deliver(connector, connector.map(noted, context(sqlite_db, connector.config)), client)
    assert memo_sent.outcome is Outcome.DELIVERED, memo_sent.message
    [memo] = state.credit_memos.values()
    assert memo["DocNumber"] == "HEL-CN-2026-000001" and memo["CustomerRef"] == invoice["CustomerRef"]
