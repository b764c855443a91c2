"""Xero accounting and Payroll UK end to end against the local fake: once despite faults, refresh, idempotent pulls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from data.db import Database
from data.feed import EventRecord
from data.models import Absence
from data.models.field import InvoiceDraft, InvoiceStatus
from data.models.payments import Payment
from integrations.connector import Outcome
from integrations.connectors.xero import XeroConnector
from integrations.connectors.xero_payroll import XeroPayrollConnector
from integrations.mapping import MappingError
from tests.factories import ADMIN, build_world, link_customer
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import closed_timesheet, completed_job, connector_config, context, deliver
from tests.integrations.fakes.xero import ANNUAL_LEAVE, CALENDAR, RATES, SICK_LEAVE, TENANT, XeroState, build_app

ACCOUNTING_LOOKUPS = {
    "accounts": {"labour": "200", "callout": "200", "part": "260", "expense": "200"},
    "items": {"part:FLT-01": "FLT-01"},
    "tax_types": {"0.255": "OUTPUT2", "0": "NONE"},
}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[XeroState, str]]:
    state = XeroState()
    with serve(build_app(state)) as url:
        yield state, url


def accounting(url: str, tmp_path: Path, lookups: dict[str, dict[str, str]] = ACCOUNTING_LOOKUPS) -> XeroConnector:
    config = connector_config(
        tmp_path,
        "xero",
        "xero",
        {"base_url": f"{url}/api.xro/2.0", "token_url": f"{url}/connect/token", "tenant_id": TENANT},
        {"lookups": lookups},
    )
    return XeroConnector(config)


def payroll(url: str, tmp_path: Path, employees: dict[str, str], approve: bool = True) -> XeroPayrollConnector:
    config = connector_config(
        tmp_path,
        "payroll",
        "xero_payroll",
        {
            "base_url": f"{url}/payroll.xro/2.0",
            "token_url": f"{url}/connect/token",
            "tenant_id": TENANT,
            "payroll_calendar_id": CALENDAR,
            "approve": approve,
        },
        {"lookups": {"earnings_rates": RATES, "employees": employees, "leave_types": {SICK_LEAVE: "sick"}}},
    )
    return XeroPayrollConnector(config)


@pytest.fixture
def state(fake: tuple[XeroState, str]) -> XeroState:
    fake[0].reset()
    return fake[0]


async def test_invoice_sent_once_despite_faults(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    connector = accounting(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    requests = connector.map(job.drafted, context(sqlite_db, connector.config))
    assert requests[0].headers["Idempotency-Key"] == requests[0].idempotency_key
    state.inject("429", "500-after", "timeout", "malformed")
    async with httpx.AsyncClient(timeout=0.5) as client:
        results = await deliver(connector, requests, client)
        again = await deliver(connector, requests, client)
    assert results[0].outcome is Outcome.DELIVERED and again[0].external_id == results[0].external_id
    assert len(state.invoices) == 1 and len(state.contacts) == 1
    invoice = next(iter(state.invoices.values()))
    assert invoice["InvoiceNumber"] == "HEL-2026-000001" and invoice["Reference"] == job.ref
    covered = [li for li in invoice["LineItems"] if "covered:" in li["Description"]]
    assert covered and all(li["UnitAmount"] == 0 and li["LineAmount"] == 0 for li in covered)
    assert any(li.get("ItemCode") == "FLT-01" for li in invoice["LineItems"])


async def test_known_contact_is_referenced_by_id(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    connector = accounting(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    contact_id = state.add_contact("Somebody Else Oy")
    link_customer(sqlite_db, system="xero", external_id=contact_id)
    requests = connector.map(job.drafted, context(sqlite_db, connector.config))
    assert requests[0].json["Invoices"][0]["Contact"] == {"ContactID": contact_id}


async def test_rate_limit_is_a_retry_after_the_header(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    connector = accounting(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    state.inject("throttle")
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.send(connector.map(job.drafted, context(sqlite_db, connector.config))[0], client)
    assert result.outcome is Outcome.RETRY and result.retry_after == 2.0 and "X-MinLimit-Remaining=0" in result.message


async def test_missing_account_lookup_names_the_key(
    sqlite_db: Database, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    connector = accounting(fake[1], tmp_path, {"accounts": {"labour": "200"}})
    job = completed_job(sqlite_db)
    with pytest.raises(MappingError, match=r"connectors\.xero\.lookups\.accounts"):
        connector.map(job.drafted, context(sqlite_db, connector.config))


async def test_pull_contacts_and_payments_is_idempotent(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("integrations.connectors.xero.PAGE_SIZE", 5)
    connector = accounting(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    async with httpx.AsyncClient(timeout=5) as client:
        sent = await deliver(connector, connector.map(job.drafted, context(sqlite_db, connector.config)), client)
        invoice = state.invoices[str(sent[0].external_id)]
        invoice["Payments"] = [{"PaymentID": "p-1", "Amount": invoice["Total"], "Date": "/Date(1795132800000+0000)/"}]
        invoice["AmountDue"], invoice["Status"] = 0.0, "PAID"
        for i in range(12):  # more than two pages
            state.add_contact(f"Customer {i:03d} Oy")
        first = await connector.pull(sqlite_db, None, client)
        second = await connector.pull(sqlite_db, None, client)
    assert not first.errors and first.created == 14  # 12 contacts, the invoice and its payment
    assert first.updated == 1  # C1's contact, created by the invoice, linked to C1 by name
    pages = [e["query"]["page"] for e in state.received if e["path"].endswith("/Contacts")]
    assert pages[:3] == ["1", "2", "3"]
    assert second.created == 0 and second.updated == 0
    assert any(e["headers"].get("if-modified-since") is None for e in state.received if e["method"] == "GET")
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
        draft = s.scalar(select(InvoiceDraft))
        assert draft is not None and draft.status is InvoiceStatus.PAID


async def test_pull_sends_if_modified_since_with_a_z(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    connector = accounting(fake[1], tmp_path)
    build_world(sqlite_db)
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.pull(sqlite_db, datetime(2026, 11, 20, 8, 0, tzinfo=UTC), client)
    assert not result.errors
    assert {e["headers"]["if-modified-since"] for e in state.received} == {"2026-11-20T08:00:00Z"}


def timesheet_event(db: Database) -> EventRecord:
    completed_job(db)
    return closed_timesheet(db)


async def test_timesheet_posted_once_and_approved(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    employee = state.add_employee()
    connector = payroll(fake[1], tmp_path, {"T1": employee})
    event = timesheet_event(sqlite_db)
    requests = connector.map(event, context(sqlite_db, connector.config))
    body = requests[0].json
    assert body["employeeID"] == employee and body["startDate"] == body["endDate"] == "2026-11-25"
    units = {ln["earningsRateID"]: ln["numberOfUnits"] for ln in body["timesheetLines"]}
    assert units == {RATES["regular"]: round(70 / 60, 2), RATES["travel"]: round(20 / 60, 2)}
    state.inject("500-after", "401", "429")
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, requests, client)
        again = await deliver(connector, requests, client)
    assert results[0].outcome is Outcome.DELIVERED and again[0].external_id == results[0].external_id
    assert len(state.timesheets) == 1 and state.approvals == 1
    assert next(iter(state.timesheets.values()))["status"] == "Approved"
    assert connector.auth.refreshes == 1


async def test_an_approved_public_holiday_is_posted_at_the_holiday_rate(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    """A week approved in Dispatch reaches Xero by default; a clocked holiday is all `overtime_holiday` hours."""
    from data.services.attendance import ClockAct, record_act
    from data.services.record_kinds import BRANCH
    from data.services.records import edit_record
    from tests.factories import DAY, DISPATCHER, local
    from tests.integrations.fakes.world import approved_timesheet

    build_world(sqlite_db)
    edit_record(sqlite_db, DISPATCHER, BRANCH, "HEL", {"holiday_dates": DAY.isoformat()})
    record_act(sqlite_db, DISPATCHER, "T1", ClockAct.CLOCK_IN, local(8))
    record_act(sqlite_db, DISPATCHER, "T1", ClockAct.CLOCK_OUT, local(12, 30))
    employee = state.add_employee()
    connector = payroll(fake[1], tmp_path, {"T1": employee})
    event = approved_timesheet(sqlite_db)
    assert event.type in connector.subscribes()
    requests = connector.map(event, context(sqlite_db, connector.config))
    lines = {ln["earningsRateID"]: ln["numberOfUnits"] for ln in requests[0].json["timesheetLines"]}
    assert lines == {RATES["overtime_holiday"]: 4.5}
    async with httpx.AsyncClient(timeout=5) as client:
        [result] = await deliver(connector, requests, client)
    assert result.outcome is Outcome.DELIVERED and len(state.timesheets) == 1


async def test_timesheet_without_employee_names_the_lookup(
    sqlite_db: Database, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    connector = payroll(fake[1], tmp_path, {})
    event = timesheet_event(sqlite_db)
    with pytest.raises(MappingError, match="T1 has no Xero employee"):
        connector.map(event, context(sqlite_db, connector.config))


async def test_leave_pulled_as_absences_once(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    build_world(sqlite_db)
    employee = state.add_employee()
    connector = payroll(fake[1], tmp_path, {"T2": employee})
    state.leave[employee] = [
        {
            "leaveID": "lv-1",
            "leaveTypeID": SICK_LEAVE,
            "description": "Flu",
            "startDate": "2026-11-26T00:00:00",
            "endDate": "2026-11-27T00:00:00",
            "updatedDateUTC": "2026-11-25T07:00:00",
        },
        {
            "leaveID": "lv-2",
            "leaveTypeID": ANNUAL_LEAVE,
            "description": "Holiday",
            "startDate": "2026-12-21",
            "endDate": "2026-12-31",
            "updatedDateUTC": "2026-11-20T07:00:00",
        },
    ]
    async with httpx.AsyncClient(timeout=5) as client:
        first = await connector.pull(sqlite_db, None, client)
        second = await connector.pull(sqlite_db, None, client)
    assert (first.created, second.created, second.skipped) == (2, 0, 2) and not first.errors
    with sqlite_db.read() as s:
        rows = list(s.scalars(select(Absence).order_by(Absence.starts_at)))
    assert [(a.kind.value, a.source, a.external_id) for a in rows] == [
        ("sick", "xero", "lv-1"),
        ("leave", "xero", "lv-2"),
    ]
    # Helsinki midnight of the first day to midnight after the last: two whole local days.
    assert (rows[0].ends_at - rows[0].starts_at).days == 2


def _undone(db: Database, credit: bool) -> list[EventRecord]:
    """The job reopened: its invoice voided (a draft) or, once sent, credited by a credit note."""
    from data.feed import tail
    from data.services.invoicing import credit_invoice

    with db.read() as s:
        ref = s.scalars(select(InvoiceDraft.ref)).one()
    if credit:
        credit_invoice(db, ADMIN, ref, "price agreed lower")
        return [e for e in tail(db, 0, 10_000) if e.type == "credit_note.issued"]
    from data.services.reopen import reopen_job

    job_ref = next(e.payload["job_ref"] for e in tail(db, 0, 10_000) if e.type == "invoice.drafted")
    reopen_job(db, ADMIN, job_ref, "completed the wrong job")
    return [e for e in tail(db, 0, 10_000) if e.type == "invoice.voided"]


async def test_a_voided_draft_voids_the_xero_invoice_and_a_credit_note_becomes_an_accreccredit(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    connector = accounting(fake[1], tmp_path)
    assert {"invoice.voided", "credit_note.issued"} <= connector.subscribes()
    job = completed_job(sqlite_db)
    async with httpx.AsyncClient(timeout=2) as client:
        await deliver(connector, connector.map(job.drafted, context(sqlite_db, connector.config)), client)
        [noted] = _undone(sqlite_db, credit=True)
        [sent] = await deliver(connector, connector.map(noted, context(sqlite_db, connector.config)), client)
    assert sent.outcome is Outcome.DELIVERED, sent.message
    [note] = state.credit_notes.values()
    [invoice] = state.invoices.values()
    assert note["Type"] == "ACCRECCREDIT" and note["CreditNoteNumber"] == "HEL-CN-2026-000001"
    assert note["Contact"] == {"ContactID": invoice["Contact"]["ContactID"]} or note["Contact"]["Name"]
    assert note["LineItems"] == invoice["LineItems"] and note["Reference"].startswith(invoice["InvoiceNumber"])


async def test_reopening_a_job_voids_its_invoice_in_xero(
    sqlite_db: Database, state: XeroState, fake: tuple[XeroState, str], tmp_path: Path
) -> None:
    connector = accounting(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    async with httpx.AsyncClient(timeout=2) as client:
        await deliver(connector, connector.map(job.drafted, context(sqlite_db, connector.config)), client)
        [voided] = _undone(sqlite_db, credit=False)
        [sent] = await deliver(connector, connector.map(voided, context(sqlite_db, connector.config)), client)
    assert sent.outcome is Outcome.DELIVERED, sent.message
    [invoice] = state.invoices.values()
    assert invoice["Status"] == "VOIDED" and invoice["InvoiceNumber"] == "HEL-2026-000001"
