"""A completed job through the real delivery worker to the vendor fakes: ticket, note, invoice, timesheet, once each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from data.db import Database
from data.models import ExternalRef, Job
from data.models.deliveries import Delivery, DeliveryStatus
from integrations.config import parse_config
from integrations.delivery.worker import Worker
from tests.integrations.fake_receiver import Clock
from tests.integrations.fakes import hubspot, quickbooks, xero
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import approved_timesheet, completed_job, write_credentials


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, Any]]:
    states = {"crm": hubspot.HubSpotState(), "qbo": quickbooks.QuickBooksState(), "xero": xero.XeroState()}
    with ExitStack() as stack:
        urls = {
            "crm": stack.enter_context(serve(hubspot.build_app(states["crm"]))),
            "qbo": stack.enter_context(serve(quickbooks.build_app(states["qbo"]))),
            "xero": stack.enter_context(serve(xero.build_app(states["xero"]))),
        }
        yield {"states": states, "urls": urls}


async def test_one_completion_reaches_every_system_exactly_once(
    sqlite_db: Database, fakes: dict[str, Any], tmp_path: Path
) -> None:
    states, urls = fakes["states"], fakes["urls"]
    for state in states.values():
        state.reset()
    employee = states["xero"].add_employee()
    job = completed_job(sqlite_db)
    approved_timesheet(sqlite_db)

    def creds(name: str) -> dict[str, str]:
        return {
            "credentials_file": str(write_credentials(tmp_path, name)),
            "oauth_state_file": str(tmp_path / f"{name}-oauth.json"),
        }

    config = parse_config(
        {
            "delivery": {"backoff_base_seconds": 1.0, "backoff_cap_seconds": 30.0, "request_timeout_seconds": 2.0},
            "connectors": {
                "crm": {
                    "type": "hubspot",
                    "base_url": urls["crm"],
                    "token_url": f"{urls['crm']}/oauth/v1/token",
                    **creds("crm"),
                },
                "qbo": {
                    "type": "quickbooks",
                    "base_url": urls["qbo"],
                    "realm_id": quickbooks.REALM,
                    "token_url": f"{urls['qbo']}/oauth2/v1/tokens/bearer",
                    **creds("qbo"),
                    "lookups": {
                        "items": {"labour": "1", "callout": "2", "part": "3", "expense": "4"},
                        "tax_codes": {"0.255": "TAX", "0": "NON"},
                    },
                },
                "payroll": {
                    "type": "xero_payroll",
                    "base_url": f"{urls['xero']}/payroll.xro/2.0",
                    "token_url": f"{urls['xero']}/connect/token",
                    "tenant_id": xero.TENANT,
                    "payroll_calendar_id": xero.CALENDAR,
                    "approve": True,
                    **creds("payroll"),
                    "lookups": {"earnings_rates": xero.RATES, "employees": {"T1": employee}},
                },
            },
        }
    )
    states["crm"].inject("500", "429")
    states["qbo"].inject("500-after", "fault200-system")
    states["xero"].inject("429", "500-after")
    clock = Clock()
    worker = Worker(sqlite_db, config, worker_id="w1", concurrency=4, clock=clock, uniform=lambda _lo, hi: hi)
    for _ in range(60):
        await worker.run(once=True)
        with sqlite_db.read() as s:
            rows = list(s.scalars(select(Delivery).order_by(Delivery.id)))
        if rows and all(d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD) for d in rows):
            break
        clock.now += timedelta(seconds=5)
    summary = sorted((d.connector, d.event_type, d.status.value) for d in rows)
    assert summary == [
        ("crm", "job.completed", "delivered"),
        ("crm", "job.completed", "delivered"),
        ("payroll", "timesheet.approved", "delivered"),
        ("qbo", "invoice.drafted", "delivered"),
    ], [(d.connector, d.last_error) for d in rows]
    assert list(states["crm"].tickets) == [job.ref] and len(states["crm"].notes) == 1
    assert len(states["qbo"].invoices) == 1 and len(states["qbo"].customers) == 1
    assert len(states["xero"].timesheets) == 1 and states["xero"].approvals == 1
    with sqlite_db.read() as s:
        job_id = s.scalar(select(Job.id).where(Job.ref == job.ref))
        refs = {
            r.system: r.external_id
            for r in s.scalars(select(ExternalRef).where(ExternalRef.entity_id == job_id, ExternalRef.entity == "job"))
        }
    assert refs == {"crm": states["crm"].tickets[job.ref]["id"]}  # the ticket's id, not the note's
