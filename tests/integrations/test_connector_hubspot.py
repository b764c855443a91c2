"""HubSpot end to end against the local fake: ticket closed once, note once, token refresh, idempotent pull."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from data.db import Database
from data.models import Contact, Customer, ExternalRef
from data.services.crm_sync import link_external
from integrations.connector import Outcome
from integrations.connectors.hubspot import HubSpotConnector
from integrations.connectors.hubspot import _parse_time as parse_time
from tests.factories import ADMIN
from tests.integrations.fakes.hubspot import HubSpotState, build_app
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import completed_job, connector_config, context, deliver


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[HubSpotState, str]]:
    state = HubSpotState()
    with serve(build_app(state)) as url:
        yield state, url


@pytest.fixture
def hubspot(fake: tuple[HubSpotState, str], tmp_path: Path) -> tuple[HubSpotState, HubSpotConnector]:
    state, url = fake
    state.reset()
    config = connector_config(
        tmp_path,
        "crm",
        "hubspot",
        {"base_url": url, "token_url": f"{url}/oauth/v1/token", "closed_stage": "4", "events": ["job.completed"]},
    )
    return state, HubSpotConnector(config)


async def test_completion_closes_ticket_and_adds_note_once_despite_faults(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector]
) -> None:
    state, connector = hubspot
    job = completed_job(sqlite_db)
    contact_id = state.add_crm("contacts", {"firstname": "Anna", "email": "anna@example.com"})
    with sqlite_db.read() as s:
        contact = s.scalar(select(Contact).order_by(Contact.id))
        assert contact is not None
        contact_pk = contact.id
    link_external(sqlite_db, ADMIN, "contact", contact_pk, "crm", contact_id)
    requests = connector.map(job.completed, context(sqlite_db, connector.config))
    assert [r.url.rsplit("/", 1)[-1] for r in requests] == ["upsert", "notes"]
    state.inject("500", "429", "500-after", "malformed")
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, requests, client)
        assert [r.outcome for r in results] == [Outcome.DELIVERED, Outcome.DELIVERED]
        # The engine may resend after a crash: the receiver's effect stays single.
        again = await deliver(connector, requests, client)
    assert [r.outcome for r in again] == [Outcome.DELIVERED, Outcome.DELIVERED]
    assert list(state.tickets) == [job.ref]
    ticket = state.tickets[job.ref]
    assert ticket["properties"]["hs_pipeline_stage"] == "4"
    assert "FIXED" in ticket["properties"]["dispatch_resolution"]
    assert len(state.notes) == 1
    note = next(iter(state.notes.values()))
    assert "Replaced the filter" in note["properties"]["hs_note_body"]
    assert "outdoor unit" in note["properties"]["hs_note_body"]
    targets = {a["to"]["id"]: a["types"][0]["associationTypeId"] for a in note["associations"]}
    assert targets == {ticket["id"]: 228, contact_id: 202}
    assert results[0].external_id == ticket["id"] and results[1].external_id is None


async def test_rate_limit_answer_carries_retry_after(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector]
) -> None:
    state, connector = hubspot
    job = completed_job(sqlite_db)
    ticket = connector.map(job.completed, context(sqlite_db, connector.config))[0]
    state.inject("throttle")
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.send(ticket, client)
    assert result.outcome is Outcome.RETRY and result.status_code == 429
    assert result.retry_after == 1.0 and "remaining 0" in result.message


async def test_expired_token_is_refreshed_once_and_stored(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector], tmp_path: Path
) -> None:
    state, connector = hubspot
    job = completed_job(sqlite_db)
    ticket = connector.map(job.completed, context(sqlite_db, connector.config))[0]
    state.inject("401")
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.send(ticket, client)
    assert result.outcome is Outcome.DELIVERED
    assert connector.auth.refreshes == 1 and state.refresh_token == "refresh-2"
    stored = (tmp_path / "crm-oauth.json").read_text()
    assert "refresh-2" in stored and oct((tmp_path / "crm-oauth.json").stat().st_mode & 0o777) == "0o600"


async def test_refused_refresh_fails_the_delivery(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector]
) -> None:
    state, connector = hubspot
    job = completed_job(sqlite_db)
    ticket = connector.map(job.completed, context(sqlite_db, connector.config))[0]
    state.refresh_token = "revoked"
    state.inject("401")
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.send(ticket, client)
    # The token endpoint's refusal (invalid_grant) is the verdict: authorising again is the fix.
    assert result.outcome is Outcome.FAILED and "authentication refused" in (result.message or "")
    assert state.tickets == {}


async def test_pull_creates_customers_and_contacts_once(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector]
) -> None:
    state, connector = hubspot
    from tests.factories import build_world

    build_world(sqlite_db)
    now = datetime.now(UTC)
    stamp = lambda minutes: (now - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    acme = state.add_crm("companies", {"name": "Acme Oy", "phone": "+358 9 123", "hs_lastmodifieddate": stamp(30)})
    for i in range(3):
        state.add_crm(
            "contacts",
            {
                "firstname": f"P{i}",
                "lastname": "Person",
                "email": f"p{i}@acme.fi",
                "associatedcompanyid": acme,
                "lastmodifieddate": stamp(20 - i),
            },
        )
    state.add_crm("contacts", {"firstname": "Lone", "email": "lone@x.fi", "lastmodifieddate": stamp(5)})
    async with httpx.AsyncClient(timeout=5) as client:
        first = await connector.pull(sqlite_db, None, client)
        second = await connector.pull(sqlite_db, None, client)
        state.companies[acme]["properties"].update(phone="+358 9 999", hs_lastmodifieddate=stamp(1))
        assert first.cursor is not None
        third = await connector.pull(sqlite_db, datetime.fromisoformat(first.cursor), client)
    assert (first.created, first.updated) == (4, 0) and first.skipped == 1  # the contact without a company
    assert (second.created, second.updated) == (0, 0)
    assert (third.created, third.updated) == (0, 1)
    with sqlite_db.read() as s:
        customer = s.scalar(select(Customer).where(Customer.name == "Acme Oy"))
        assert customer is not None and customer.phone == "+358 9 999"
        assert s.scalar(select(func.count()).select_from(Contact).where(Contact.customer_id == customer.id)) == 3
        refs = s.scalar(select(func.count()).select_from(ExternalRef).where(ExternalRef.system == "crm"))
        assert refs == 4


async def test_check_reads_association_labels(hubspot: tuple[HubSpotState, HubSpotConnector]) -> None:
    _state, connector = hubspot
    async with httpx.AsyncClient(timeout=5) as client:
        assert await connector.check(client) == "authorised; notes->tickets association type 228"


async def test_pull_restarts_its_search_at_the_result_cap(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, connector = hubspot
    from tests.factories import build_world

    build_world(sqlite_db)
    monkeypatch.setattr("integrations.connectors.hubspot.SEARCH_CAP", 4)
    monkeypatch.setattr("integrations.connectors.hubspot.PAGE_SIZE", 2)
    for i in range(7):
        state.add_crm("companies", {"name": f"Company {i}", "hs_lastmodifieddate": f"2026-11-2{i}T08:00:00Z"})
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.pull(sqlite_db, None, client)
    assert result.created == 7 and not result.errors
    afters = [int(e["json"].get("after", 0)) for e in state.received if e["path"].endswith("/companies/search")]
    assert max(afters) + 2 <= 4  # never paged past the cap
    assert result.cursor == "2026-11-26T08:00:00+00:00"


def test_a_modification_date_without_a_zone_is_read_as_utc() -> None:
    """A bare date (a date-only property) must compare with the zoned ones, not crash the pull's max()."""
    assert parse_time("2026-11-25") == datetime(2026, 11, 25, tzinfo=UTC)
    assert parse_time("2026-11-25T08:00:00Z") == datetime(2026, 11, 25, 8, tzinfo=UTC)


async def test_a_reopened_job_moves_its_ticket_back_with_the_reason(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector]
) -> None:
    from data.feed import tail
    from data.services.reopen import reopen_job

    state, connector = hubspot
    job = completed_job(sqlite_db)
    async with httpx.AsyncClient(timeout=5) as client:
        await deliver(connector, connector.map(job.completed, context(sqlite_db, connector.config)), client)
        assert state.tickets[job.ref]["properties"]["hs_pipeline_stage"] == "4"
        reopen_job(sqlite_db, ADMIN, job.ref, "completed the wrong job")
        [reopened] = [e for e in tail(sqlite_db, 0, 10_000) if e.type == "job.reopened"]
        [sent] = await deliver(connector, connector.map(reopened, context(sqlite_db, connector.config)), client)
    assert sent.outcome is Outcome.DELIVERED, sent.message
    properties = state.tickets[job.ref]["properties"]
    assert (
        properties["hs_pipeline_stage"] == "1"
        and properties["dispatch_resolution"] == "Reopened: completed the wrong job"
    )
