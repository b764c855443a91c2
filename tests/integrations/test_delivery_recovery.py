"""Recovery at scale: `deliveries retry --all` in one statement, `retry` says it queues; Xero Payroll's check."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select, update
from typer.testing import CliRunner

from data.db import Database
from data.errors import PermissionDenied
from data.models.base import utcnow
from data.models.deliveries import Delivery, DeliveryStatus
from dispatch_tui.cli.main import app
from integrations.connectors.xero_payroll import XeroPayrollConnector
from integrations.delivery.store import retry_dead_letters
from tests.factories import ADMIN, SUPERVISOR, build_world
from tests.integrations.fakes.vendor_specs import spec_text
from tests.integrations.fakes.world import connector_config


def dead_rows(db: Database, rows: list[tuple[str, int]]) -> None:
    """Dead deliveries: (connector, hours ago it was dead-lettered)."""
    now = utcnow()
    with db.engine.begin() as conn:
        for i, (connector, hours) in enumerate(rows, start=1):
            at = now - timedelta(hours=hours)
            conn.execute(
                Delivery.__table__.insert().values(  # type: ignore[attr-defined]
                    connector=connector,
                    event_seq=i,
                    request_index=0,
                    subject_key=f"job:{i}",
                    event_type="job.completed",
                    request={"method": "POST", "url": "http://x"},
                    idempotency_key=f"k-{i}",
                    status=DeliveryStatus.DEAD,
                    attempts=10,
                    next_attempt_at=at,
                    budget_from=at,
                    created_at=at,
                    updated_at=at,
                )
            )


def by_status(db: Database) -> dict[int, str]:
    with db.read() as s:
        return {d.id: d.status.value for d in s.scalars(select(Delivery).order_by(Delivery.id))}


def test_retry_all_requeues_dead_letters_by_connector_and_age(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    dead_rows(sqlite_db, [("xero", 1), ("xero", 30), ("hook", 1), ("xero", 2)])
    with sqlite_db.engine.begin() as conn:  # a dead letter whose mapping failed has no request to retry
        conn.execute(update(Delivery).where(Delivery.id == 4).values(request=None))
    with pytest.raises(PermissionDenied):
        retry_dead_letters(sqlite_db, SUPERVISOR)  # read-only
    assert retry_dead_letters(sqlite_db, ADMIN, connector="xero", since=utcnow() - timedelta(hours=5)) == 1
    assert by_status(sqlite_db) == {1: "pending", 2: "dead", 3: "dead", 4: "dead"}
    assert retry_dead_letters(sqlite_db, ADMIN) == 2
    assert by_status(sqlite_db) == {1: "pending", 2: "pending", 3: "pending", 4: "dead"}
    with sqlite_db.read() as s:
        row = s.get(Delivery, 2)
        assert row is not None and row.attempts == 0 and row.locked_by is None


def run(db: Database, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", db.url, "--as", "ada", *args])


def test_the_cli_says_retry_queues_and_retries_all(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    dead_rows(sqlite_db, [("xero", 1), ("hook", 1), ("xero", 48)])
    one = run(sqlite_db, "deliveries", "retry", "1")
    assert one.exit_code == 0, one.output
    assert "queued" in one.output and "send now" not in one.output
    many = run(sqlite_db, "deliveries", "retry", "--all", "--connector", "xero", "--json")
    assert many.exit_code == 0, many.output
    assert json.loads(many.output) == {"queued": 1}
    since = (utcnow() - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    assert "1 dead deliveries queued" in run(sqlite_db, "deliveries", "retry", "--all", "--since", since).output
    assert run(sqlite_db, "deliveries", "retry", "--all", "--since", "yesterday").exit_code == 2
    assert run(sqlite_db, "deliveries", "retry").exit_code == 2  # neither an id nor --all
    assert run(sqlite_db, "deliveries", "retry", "1", "--all").exit_code == 2


async def test_xero_payroll_check_reads_the_pay_run_calendars_of_the_uk_api(tmp_path: Path) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/PayRunCalendars"):
            return httpx.Response(200, json={"payRunCalendars": [{"payrollCalendarID": "c-1"}]})
        return httpx.Response(404, json={"title": "not found"})

    config = connector_config(
        tmp_path,
        "payroll",
        "xero_payroll",
        {
            "base_url": "https://api.xero.example/payroll.xro/2.0",
            "token_url": "https://identity.xero.example/connect/token",
            "tenant_id": "t-1",
            "payroll_calendar_id": "c-1",
        },
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        assert await XeroPayrollConnector(config).check(client) == "authorised; 1 payroll calendar(s)"
    assert seen == ["/payroll.xro/2.0/PayRunCalendars"]
    spec = yaml.safe_load(spec_text("xero", "xero-payroll-uk.yaml"))
    assert "/PayRunCalendars" in spec["paths"] and "/PayrollCalendars" not in spec["paths"]
