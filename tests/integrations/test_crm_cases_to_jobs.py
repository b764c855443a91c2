"""HubSpot tickets and Salesforce cases marked for field service become jobs, once each; their updates (summary,
priority, closing) flow in on later pulls; the job's completion closes the CRM's own ticket or case by its id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from data.db import Database
from data.feed import EventRecord, tail
from data.models import ExternalRef, Job, JobStatus
from data.models.customers import Customer
from data.services.completion import complete_job
from data.services.crm_sync import link_external
from data.services.jobs import assign_job, change_status
from data.services.reopen import reopen_job
from integrations.connector import Outcome
from integrations.connectors.hubspot import HubSpotConnector
from integrations.connectors.salesforce import SalesforceConnector
from integrations.mapping import ConfigError
from tests.data.test_field_completion import report
from tests.factories import ADMIN, DISPATCHER, build_world, local
from tests.integrations.fakes import hubspot as hubspot_fake
from tests.integrations.fakes import salesforce as salesforce_fake
from tests.integrations.fakes.hubspot import HubSpotState
from tests.integrations.fakes.salesforce import EXTERNAL_ID, SalesforceState
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import connector_config, context, deliver

NOW = datetime.now(UTC)


def stamp(minutes_ago: int) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


def jobs_of(db: Database, system: str) -> list[Job]:
    with db.read() as s:
        ids = s.scalars(select(ExternalRef.entity_id).where(ExternalRef.entity == "job", ExternalRef.system == system))
        return list(s.scalars(select(Job).where(Job.id.in_(list(ids))).order_by(Job.id)))


def customer_id(db: Database, code: str = "C1") -> int:
    with db.read() as s:
        found = s.scalar(select(Customer.id).where(Customer.code == code))
        assert found is not None
        return found


def complete(db: Database, ref: str) -> EventRecord:
    assign_job(db, DISPATCHER, ref, "T1", local(9))
    change_status(db, DISPATCHER, ref, JobStatus.DISPATCHED, at=local(8, 30))
    change_status(db, DISPATCHER, ref, JobStatus.ON_SITE, at=local(9))
    complete_job(db, DISPATCHER, ref, report(notes="Valve replaced"))
    return next(e for e in reversed(tail(db, 0, 10_000)) if e.type == "job.completed")


# -- HubSpot ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hubspot_server() -> Iterator[tuple[HubSpotState, str]]:
    state = HubSpotState()
    with serve(hubspot_fake.build_app(state)) as url:
        yield state, url


@pytest.fixture
def hubspot(hubspot_server: tuple[HubSpotState, str], tmp_path: Path) -> tuple[HubSpotState, HubSpotConnector]:
    state, url = hubspot_server
    state.reset()
    config = connector_config(
        tmp_path, "crm", "hubspot", {"base_url": url, "token_url": f"{url}/oauth/v1/token", "closed_stage": "4"}
    )
    return state, HubSpotConnector(config)


async def test_a_hubspot_ticket_becomes_one_job_its_updates_flow_in_and_completion_closes_it(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector]
) -> None:
    state, connector = hubspot
    build_world(sqlite_db)
    company = state.add_crm("companies", {"name": "Customer C1", "hs_lastmodifieddate": stamp(60)})
    link_external(sqlite_db, ADMIN, "customer", customer_id(sqlite_db), "crm", company)
    ticket = state.add_ticket(
        company,
        {
            "subject": "Boiler leaking",
            "content": "Water under the boiler since Monday",
            "hs_ticket_priority": "HIGH",
            "dispatch_field_service": "true",
            "hs_lastmodifieddate": stamp(30),
        },
    )
    state.add_ticket(company, {"subject": "Invoice question", "hs_lastmodifieddate": stamp(30)})  # not field service
    async with httpx.AsyncClient(timeout=5) as client:
        first = await connector.pull(sqlite_db, None, client)
        again = await connector.pull(sqlite_db, None, client)
        state.ticket(ticket)["properties"].update(
            subject="Boiler leaking badly", hs_ticket_priority="URGENT", hs_lastmodifieddate=stamp(1)
        )
        assert first.cursor is not None
        updated = await connector.pull(sqlite_db, datetime.fromisoformat(first.cursor), client)
    assert first.errors == [] and first.created == 1
    assert (again.created, again.updated) == (0, 0)
    assert updated.updated == 1
    [job] = jobs_of(sqlite_db, "crm")
    assert (job.summary, job.priority, job.description) == (
        "Boiler leaking badly",
        1,
        "Water under the boiler since Monday",
    )
    # The completion goes back to the same ticket, by id: no second ticket, and the ref is written on it.
    event = complete(sqlite_db, job.ref)
    requests = connector.map(event, context(sqlite_db, connector.config))
    assert requests[0].method == "PATCH" and requests[0].url.endswith(f"/tickets/{ticket}")
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, requests, client)
        assert [r.outcome for r in results] == [Outcome.DELIVERED] * len(requests)
        after = await connector.pull(sqlite_db, None, client)
    closed = state.ticket(ticket)["properties"]
    assert closed["hs_pipeline_stage"] == "4" and closed["dispatch_job_ref"] == job.ref
    assert closed["subject"] == "Boiler leaking badly"  # the customer's words stay
    assert len(state.tickets) == 2 and len(state.notes) == 1
    assert after.created == 0 and len(jobs_of(sqlite_db, "crm")) == 1
    # Reopened by the office: the same ticket goes back to the reopened stage (found by the ref written on it).
    reopen_job(sqlite_db, ADMIN, job.ref, "Leak came back")
    reopened = next(e for e in reversed(tail(sqlite_db, 0, 10_000)) if e.type == "job.reopened")
    async with httpx.AsyncClient(timeout=5) as client:
        [result] = await deliver(connector, connector.map(reopened, context(sqlite_db, connector.config)), client)
    assert result.outcome is Outcome.DELIVERED and len(state.tickets) == 2
    assert state.ticket(ticket)["properties"]["hs_pipeline_stage"] == "1"


async def test_a_hubspot_ticket_closed_before_the_visit_cancels_its_job_and_unknown_customers_are_named(
    sqlite_db: Database, hubspot: tuple[HubSpotState, HubSpotConnector]
) -> None:
    state, connector = hubspot
    build_world(sqlite_db)
    company = state.add_crm("companies", {"name": "Customer C1", "hs_lastmodifieddate": stamp(60)})
    link_external(sqlite_db, ADMIN, "customer", customer_id(sqlite_db), "crm", company)
    flag = {"dispatch_field_service": "true", "hs_lastmodifieddate": stamp(30)}
    ticket = state.add_ticket(company, {"subject": "Radiator cold", **flag})
    state.add_ticket(None, {"subject": "No company", **flag})
    async with httpx.AsyncClient(timeout=5) as client:
        first = await connector.pull(sqlite_db, None, client)
        state.ticket(ticket)["properties"].update(hs_pipeline_stage="4", hs_lastmodifieddate=stamp(1))
        closed = await connector.pull(sqlite_db, None, client)
    assert first.created == 1 and first.skipped == 1
    assert any(
        f"crm case ticket {int(ticket) + 1}: its customer (none) is not a known customer" in e for e in first.errors
    )
    [job] = jobs_of(sqlite_db, "crm")
    assert closed.updated == 1 and job.status is JobStatus.CANCELLED


def test_a_bad_job_type_setting_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="job_type"):
        HubSpotConnector(connector_config(tmp_path, "crm", "hubspot", {"job_type": "picnic"}))
    with pytest.raises(ConfigError, match="job_minutes"):
        SalesforceConnector(connector_config(tmp_path, "sf", "salesforce", {"job_minutes": "an hour"}))


# -- Salesforce ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def salesforce_server() -> Iterator[tuple[SalesforceState, str]]:
    state = SalesforceState()
    with serve(salesforce_fake.build_app(state)) as url:
        yield state, url


@pytest.fixture
def salesforce(
    salesforce_server: tuple[SalesforceState, str], tmp_path: Path
) -> tuple[SalesforceState, SalesforceConnector]:
    state, url = salesforce_server
    state.reset()
    config = connector_config(
        tmp_path, "sf", "salesforce", {"instance_url": url, "token_url": f"{url}/services/oauth2/token"}
    )
    return state, SalesforceConnector(config)


async def test_a_salesforce_case_becomes_one_job_its_updates_flow_in_and_completion_closes_it(
    sqlite_db: Database, salesforce: tuple[SalesforceState, SalesforceConnector]
) -> None:
    state, connector = salesforce
    build_world(sqlite_db)
    modstamp = "2026-11-25T08:00:00.000+0000"
    account = state.add("Account", {"Name": "Customer C1", "SystemModstamp": modstamp})
    link_external(sqlite_db, ADMIN, "customer", customer_id(sqlite_db), "sf", account)
    fields = {"AccountId": account, "IsClosed": False, "Description": "No hot water", "SystemModstamp": modstamp}
    case = state.add(
        "Case", {"CaseNumber": "00001026", "Subject": "Water heater", "Priority": "Medium", "Status": "New",
                 "Dispatch_Field_Service__c": True, **fields},
    )  # fmt: skip
    state.add("Case", {"CaseNumber": "00001027", "Subject": "Billing", "Priority": "Low", **fields})
    async with httpx.AsyncClient(timeout=5) as client:
        first = await connector.pull(sqlite_db, None, client)
        again = await connector.pull(sqlite_db, None, client)
        state.records["Case"][case].update(Priority="High", SystemModstamp="2026-11-25T09:00:00.000+0000")
        updated = await connector.pull(sqlite_db, datetime(2026, 11, 25, 8, 30, tzinfo=UTC), client)
    assert first.errors == [] and first.created == 1  # the case's job (the account is a known customer)
    assert again.created == 0 and updated.updated == 1
    [job] = jobs_of(sqlite_db, "sf")
    assert (job.summary, job.priority, job.description) == ("Water heater", 2, "No hot water")
    event = complete(sqlite_db, job.ref)
    requests = connector.map(event, context(sqlite_db, connector.config))
    assert requests[0].method == "PATCH" and requests[0].url.endswith(f"/sobjects/Case/{case}")
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, requests, client)
        assert [r.outcome for r in results] == [Outcome.DELIVERED, Outcome.DELIVERED]
        after = await connector.pull(sqlite_db, None, client)
    closed = state.records["Case"][case]
    assert closed["Status"] == "Closed" and closed[EXTERNAL_ID] == job.ref and closed["IsClosed"]
    assert "WorkOrder" not in state.records  # no second record for the same visit
    [note] = state.records["Note"].values()
    assert note["ParentId"] == case and "Valve replaced" in note["Body"]
    assert after.created == 0 and len(jobs_of(sqlite_db, "sf")) == 1
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 1
    # Reopened by the office: the Case goes back to a Case status (WorkOrder's "In Progress" is not one).
    reopen_job(sqlite_db, ADMIN, job.ref, "Heater failed again")
    reopened = next(e for e in reversed(tail(sqlite_db, 0, 10_000)) if e.type == "job.reopened")
    requests = connector.map(reopened, context(sqlite_db, connector.config))
    async with httpx.AsyncClient(timeout=5) as client:
        assert [r.outcome for r in await deliver(connector, requests, client)] == [Outcome.DELIVERED]
    assert closed["Status"] == "Working" and "Heater failed again" in closed["Comments"]
    assert "WorkOrder" not in state.records
