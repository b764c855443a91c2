"""Every request our Xero connectors send (accounting and Payroll UK) conforms to Xero's OpenAPI specs and to ours."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from data.db import Database
from integrations.connectors.xero import XeroConnector
from integrations.connectors.xero_payroll import XeroPayrollConnector
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import closed_timesheet, completed_job, connector_config, context, deliver
from tests.integrations.fakes.xero import CALENDAR, RATES, TENANT, XeroState, build_app
from tests.integrations.fakes.xero_contract import (
    OUR_INVOICE,
    OUR_TIMESHEET,
    contract_errors,
    strict_errors,
)

pytestmark = [
    # openapi-core does not check OAuth2 itself (the fake does): it says so once per request.
    pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning"),
]


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[XeroState, str]]:
    state = XeroState()
    with serve(build_app(state)) as url:
        yield state, url


def _kind(path: str) -> str:
    return "payroll" if path.startswith("/payroll.xro/") else "accounting"


def _api_requests(state: XeroState) -> list[dict[str, Any]]:
    return [e for e in state.received if not e["path"].startswith("/connect/")]


def _with_body(entry: dict[str, Any], body: Any) -> dict[str, Any]:
    changed = copy.deepcopy(entry)
    changed["json"] = body
    changed["raw"] = json.dumps(body).encode()
    return changed


@pytest.fixture
def sent(sqlite_db: Database, fake: tuple[XeroState, str], tmp_path: Path) -> list[dict[str, Any]]:
    """Everything the connectors send for a completed job, its timesheet, and a pull of each kind."""
    state, url = fake
    state.reset()
    employee = state.add_employee()
    state.leave[employee] = [
        {
            "leaveID": "lv-1",
            "leaveTypeID": "x",
            "description": "Holiday",
            "startDate": "2026-12-01",
            "endDate": "2026-12-02",
        }
    ]
    common = {"token_url": f"{url}/connect/token", "tenant_id": TENANT}
    xero = XeroConnector(
        connector_config(
            tmp_path,
            "xero",
            "xero",
            {"base_url": f"{url}/api.xro/2.0", **common},
            {
                "lookups": {
                    "accounts": {"labour": "200", "callout": "200", "part": "260", "expense": "200"},
                    "items": {"part:FLT-01": "FLT-01"},
                    "tax_types": {"0.255": "OUTPUT2", "0": "NONE"},
                }
            },
        )
    )
    payroll = XeroPayrollConnector(
        connector_config(
            tmp_path,
            "payroll",
            "xero_payroll",
            {"base_url": f"{url}/payroll.xro/2.0", "payroll_calendar_id": CALENDAR, "approve": True, **common},
            {"lookups": {"earnings_rates": RATES, "employees": {"T1": employee}}},
        )
    )
    job = completed_job(sqlite_db)
    sheet = closed_timesheet(sqlite_db)

    async def run() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await deliver(xero, xero.map(job.drafted, context(sqlite_db, xero.config)), client)
            await deliver(payroll, payroll.map(sheet, context(sqlite_db, payroll.config)), client)
            await xero.pull(sqlite_db, datetime(2026, 11, 1, tzinfo=UTC), client)
            await payroll.pull(sqlite_db, None, client)

    import asyncio

    asyncio.run(run())
    return _api_requests(state)


def test_every_request_conforms_to_xero_specs(sent: list[dict[str, Any]]) -> None:
    kinds = {(e["method"], e["path"].split("/")[-1] if "Timesheets" not in e["path"] else e["path"]) for e in sent}
    assert ("PUT", "Invoices") in kinds and ("GET", "Contacts") in kinds and ("GET", "Leave") in kinds
    assert any(p.endswith("/Approve") for _, p in kinds) and ("POST", "/payroll.xro/2.0/Timesheets") in kinds
    errors = [msg for entry in sent for msg in contract_errors(entry, _kind(entry["path"]))]
    assert errors == []


def test_invoice_and_timesheet_meet_our_stricter_schema(sent: list[dict[str, Any]]) -> None:
    invoice = next(e for e in sent if e["method"] == "PUT")
    timesheet = next(e for e in sent if e["path"] == "/payroll.xro/2.0/Timesheets")
    assert strict_errors(invoice["json"], OUR_INVOICE) == []
    assert strict_errors(timesheet["json"], OUR_TIMESHEET) == []
    assert len(invoice["headers"]["idempotency-key"]) <= 128 and invoice["headers"]["xero-tenant-id"] == TENANT


def test_the_spec_check_rejects_a_misspelt_field_and_a_wrong_type(sent: list[dict[str, Any]]) -> None:
    invoice = next(e for e in sent if e["method"] == "PUT")
    misspelt = copy.deepcopy(invoice["json"])
    misspelt["Invoices"][0]["LineItems"][0]["Quantiy"] = 1
    assert contract_errors(_with_body(invoice, misspelt), "accounting")
    wrong_type = copy.deepcopy(invoice["json"])
    wrong_type["Invoices"][0]["LineItems"][0]["Quantity"] = "two"
    assert contract_errors(_with_body(invoice, wrong_type), "accounting")
    timesheet = next(e for e in sent if e["path"] == "/payroll.xro/2.0/Timesheets")
    missing = {k: v for k, v in timesheet["json"].items() if k != "employeeID"}
    assert contract_errors(_with_body(timesheet, missing), "payroll")


def test_our_schema_rejects_what_xero_would_accept(sent: list[dict[str, Any]]) -> None:
    invoice = next(e for e in sent if e["method"] == "PUT")
    empty = {"Invoices": [{}]}
    assert contract_errors(_with_body(invoice, empty), "accounting") == []  # Xero's spec requires nothing
    assert strict_errors(empty, OUR_INVOICE)
