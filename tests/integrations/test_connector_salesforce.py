"""Salesforce end to end against the local fake: upsert by external id, one note, 403 throttle, SOQL pull."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from data.db import Database
from data.models import Contact, Customer
from integrations.connector import Outcome
from integrations.connectors.salesforce import SalesforceConnector, limit_usage
from integrations.mapping import ConfigError
from tests.factories import build_world
from tests.integrations.fakes.salesforce import EXTERNAL_ID, SalesforceState, build_app
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import completed_job, connector_config, context, deliver


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[SalesforceState, str]]:
    state = SalesforceState()
    with serve(build_app(state)) as url:
        yield state, url


def make(url: str, tmp_path: Path, **settings: object) -> SalesforceConnector:
    return SalesforceConnector(
        connector_config(
            tmp_path,
            "sf",
            "salesforce",
            {"instance_url": url, "token_url": f"{url}/services/oauth2/token", **settings},
        )
    )


@pytest.fixture
def state(fake: tuple[SalesforceState, str]) -> SalesforceState:
    fake[0].reset()
    return fake[0]


async def test_work_order_upserted_and_note_added_once_despite_faults(
    sqlite_db: Database, state: SalesforceState, fake: tuple[SalesforceState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    requests = connector.map(job.completed, context(sqlite_db, connector.config))
    assert requests[0].method == "PATCH" and requests[0].url.endswith(f"/WorkOrder/{EXTERNAL_ID}/{job.ref}")
    state.inject("throttle", "500-after", "401", "malformed", "timeout")
    async with httpx.AsyncClient(timeout=0.5) as client:
        results = await deliver(connector, requests, client)
        again = await deliver(connector, requests, client)
    assert [r.outcome for r in results] == [Outcome.DELIVERED, Outcome.DELIVERED]
    assert [r.outcome for r in again] == [Outcome.DELIVERED, Outcome.DELIVERED]
    orders = list(state.records["WorkOrder"].values())
    assert len(orders) == 1 and orders[0]["Status"] == "Completed" and orders[0][EXTERNAL_ID] == job.ref
    assert "FIXED" in orders[0]["Description"]
    notes = list(state.records["Note"].values())
    assert len(notes) == 1 and notes[0]["ParentId"] == orders[0]["Id"] and "outdoor unit" in notes[0]["Body"]
    assert results[0].external_id == orders[0]["Id"] and connector.auth.refreshes == 1


async def test_request_limit_403_is_a_throttle_with_usage(
    sqlite_db: Database, state: SalesforceState, fake: tuple[SalesforceState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path, throttle_seconds=120)
    job = completed_job(sqlite_db)
    state.api_used = 14_999
    state.inject("throttle")
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.send(connector.map(job.completed, context(sqlite_db, connector.config))[0], client)
    assert result.outcome is Outcome.RETRY and result.status_code == 403 and result.retry_after == 120
    assert "15000/15000" in result.message and connector.last_usage == (15000, 15000)


async def test_a_real_403_is_not_mistaken_for_a_throttle(
    sqlite_db: Database, state: SalesforceState, fake: tuple[SalesforceState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path, completed_status="Done")  # not in the picklist
    job = completed_job(sqlite_db)
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.send(connector.map(job.completed, context(sqlite_db, connector.config))[0], client)
    assert result.outcome is Outcome.FAILED and "RESTRICTED_PICKLIST" in (result.response_body or "")


async def test_case_object_and_bad_object_setting(
    sqlite_db: Database, state: SalesforceState, fake: tuple[SalesforceState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path, object="Case", completed_status="Closed")
    job = completed_job(sqlite_db)
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, connector.map(job.completed, context(sqlite_db, connector.config)), client)
    assert [r.outcome for r in results] == [Outcome.DELIVERED, Outcome.DELIVERED]
    assert next(iter(state.records["Case"].values()))["Comments"].startswith("FIXED")
    with pytest.raises(ConfigError, match=r"connectors\.sf\.object"):
        make(fake[1], tmp_path, object="Opportunity")


def test_limit_info_parsing() -> None:
    assert limit_usage({"Sforce-Limit-Info": "api-usage=25/15000"}) == (25, 15000)
    assert limit_usage({}) is None


async def test_pull_follows_next_records_url_and_is_idempotent(
    sqlite_db: Database, state: SalesforceState, fake: tuple[SalesforceState, str], tmp_path: Path
) -> None:
    build_world(sqlite_db)
    connector = make(fake[1], tmp_path)
    state.page_size = 2
    stamp = "2026-11-25T08:00:00.000+0000"
    accounts = [
        state.add("Account", {"Name": f"Account {i}", "Phone": "+358 40 1", "SystemModstamp": stamp}) for i in range(3)
    ]
    for i in range(5):
        state.add(
            "Contact",
            {
                "AccountId": accounts[i % 3],
                "FirstName": f"C{i}",
                "LastName": "Contact",
                "Email": f"c{i}@x.fi",
                "Phone": None,
                "Title": "Owner",
                "SystemModstamp": stamp,
            },
        )
    async with httpx.AsyncClient(timeout=5) as client:
        first = await connector.pull(sqlite_db, None, client)
        assert first.cursor is not None
        second = await connector.pull(sqlite_db, datetime(2026, 11, 25, 7, 0, tzinfo=UTC), client)
        later = await connector.pull(sqlite_db, datetime.fromisoformat(first.cursor), client)
    assert (first.created, first.updated, first.errors) == (8, 0, [])
    assert (second.created, second.updated) == (0, 0) and second.skipped == 8
    assert later.created == later.updated == later.skipped == 0
    assert any("/query/" in e["path"] for e in state.received)  # paged through nextRecordsUrl
    assert any("SystemModstamp > 2026-11-25T07:00:00Z" in e["query"].get("q", "") for e in state.received)
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Customer).where(Customer.name.like("Account %"))) == 3
        assert s.scalar(select(func.count()).select_from(Contact).where(Contact.role == "Owner")) == 5


async def test_a_reopened_job_puts_its_work_order_back_in_progress_with_the_reason(
    sqlite_db: Database, state: SalesforceState, fake: tuple[SalesforceState, str], tmp_path: Path
) -> None:
    from data.feed import tail
    from data.services.reopen import reopen_job
    from tests.factories import ADMIN

    connector = make(fake[1], tmp_path)
    assert "job.reopened" in connector.subscribes()
    job = completed_job(sqlite_db)
    async with httpx.AsyncClient(timeout=2) as client:
        await deliver(connector, connector.map(job.completed, context(sqlite_db, connector.config)), client)
        reopen_job(sqlite_db, ADMIN, job.ref, "completed the wrong job")
        [reopened] = [e for e in tail(sqlite_db, 0, 10_000) if e.type == "job.reopened"]
        requests = connector.map(reopened, context(sqlite_db, connector.config))
        assert len(requests) == 1  # the record only: the technician's notes went with the completion
        [sent] = await deliver(connector, requests, client)
    assert sent.outcome is Outcome.DELIVERED, sent.message
    [order] = state.records["WorkOrder"].values()
    assert order["Status"] == "In Progress" and order["Description"] == "Reopened: completed the wrong job"
