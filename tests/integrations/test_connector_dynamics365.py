"""Dynamics 365 end to end against the local Dataverse: case upsert and close once, notes once, 429, cases in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from data.actor import Actor
from data.db import Database
from data.feed import tail
from data.models import Contact, Customer, Job, JobStatus, Role
from data.models.customers import ExternalRef
from data.models.workforce import Technician
from data.services.completion import CompletionInput, complete_job
from data.services.crm_sync import link_external
from data.services.jobs import assign_job, change_status
from dispatch_tui.cli.main import app
from integrations.connector import Outcome
from integrations.connectors.dynamics365 import Dynamics365Connector
from integrations.mapping import ConfigError
from tests.factories import ADMIN, DISPATCHER, build_world, local
from tests.integrations.fakes.dynamics365 import TENANT, DataverseState, running, write_config
from tests.integrations.fakes.world import completed_job, connector_config, context, deliver


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[DataverseState, str]]:
    with running() as served:
        yield served


@pytest.fixture
def state(fake: tuple[DataverseState, str]) -> DataverseState:
    fake[0].reset()
    return fake[0]


def make(url: str, tmp_path: Path, *, access_token: str = "", **settings: object) -> Dynamics365Connector:
    return Dynamics365Connector(
        connector_config(
            tmp_path,
            "d365",
            "dynamics365",
            {"org_url": url, "token_url": f"{url}/{TENANT}/oauth2/v2.0/token", **settings},
            access_token=access_token,
        )
    )


async def test_case_upserted_noted_and_closed_once_despite_faults(
    sqlite_db: Database, state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    requests = connector.map(job.completed, context(sqlite_db, connector.config))
    assert [r.method for r in requests] == ["PATCH", "PATCH", "POST", "POST"]
    assert requests[0].url.endswith("/accounts(accountnumber='C1')") and requests[0].headers["If-None-Match"] == "*"
    assert requests[1].url.endswith(f"/incidents(dsp_jobref='{job.ref}')") and "If-Match" not in requests[1].headers
    state.inject("throttle", "500-after", "401", "malformed", "timeout", "500-after", "429", "500-after")
    async with httpx.AsyncClient(timeout=0.5) as client:
        results = await deliver(connector, requests, client)
        again = await deliver(connector, requests, client)
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 4, [r.message for r in results]
    assert [r.outcome for r in again] == [Outcome.DELIVERED] * 4, [r.message for r in again]
    accounts, cases = state.rows("accounts"), state.rows("incidents")
    assert len(accounts) == 1 and accounts[0]["accountnumber"] == "C1" and accounts[0]["name"] == "Kallio Bakery Oy"
    assert (
        len(cases) == 1
        and cases[0]["dsp_jobref"] == job.ref
        and cases[0]["_customerid_value"] == accounts[0]["accountid"]
    )
    assert (cases[0]["statecode"], cases[0]["statuscode"]) == (1, 5) and "FIXED" in cases[0]["description"]
    notes = state.rows("annotations")  # the report's notes and the technician's note: one change set
    assert sorted(n["notetext"] for n in notes) == [
        "Customer asks to check the outdoor unit next spring",
        "Replaced the filter; fan bearing worn",
    ]
    assert {n["_objectid_value"] for n in notes} == {cases[0]["incidentid"]}
    assert sum(e["path"].endswith("/$batch") for e in state.received) == 1  # the repeat found them
    assert len(state.rows("incidentresolutions")) == 1
    assert results[1].external_id == cases[0]["incidentid"]
    assert state.tokens_issued == 2  # the first token, and one more after the injected 401


async def test_an_existing_account_is_matched_not_overwritten(
    sqlite_db: Database, state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path, account_key="accountnumber")
    job = completed_job(sqlite_db)
    state.add("accounts", {"name": "Kallio Bakery (CRM name)", "accountnumber": "C1"})
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, connector.map(job.completed, context(sqlite_db, connector.config)), client)
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 4
    assert results[0].status_code == 412 and "matched" in results[0].message
    assert [a["name"] for a in state.rows("accounts")] == ["Kallio Bakery (CRM name)"]


async def test_service_protection_429_is_a_retry_after_the_servers_wait(
    sqlite_db: Database, state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    state.inject("throttle")
    async with httpx.AsyncClient(timeout=5) as client:
        result = await connector.send(connector.map(job.completed, context(sqlite_db, connector.config))[0], client)
    assert result.outcome is Outcome.RETRY and result.status_code == 429 and result.retry_after == 2
    assert state.rows("accounts") == []


async def test_a_job_from_a_case_updates_that_case_by_id_and_a_deleted_case_fails(
    sqlite_db: Database, state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    case_id = state.add("incidents", {"title": "Noisy heat pump", "statecode": 0, "statuscode": 1})
    with sqlite_db.read() as s:
        job_id = s.scalar(select(Job.id).where(Job.ref == job.ref))
    assert job_id is not None
    link_external(sqlite_db, ADMIN, "job", job_id, "d365", case_id)
    requests = connector.map(job.completed, context(sqlite_db, connector.config))
    case_request = requests[1]
    assert case_request.url.endswith(f"/incidents({case_id})") and case_request.headers["If-Match"] == "*"
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, requests, client)
        assert [r.outcome for r in results] == [Outcome.DELIVERED] * 4
        case = state.records["incidents"][case_id]
        assert case["dsp_jobref"] == job.ref and case["statecode"] == 1 and len(state.rows("incidents")) == 1
        del state.records["incidents"][case_id]
        gone = await connector.send(case_request, client)
    assert gone.outcome is Outcome.FAILED and gone.status_code == 404 and state.rows("incidents") == []


async def test_pull_pages_and_turns_field_service_cases_into_jobs_once(
    sqlite_db: Database, state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    completed_job(sqlite_db)  # the world: customer C1 "Kallio Bakery Oy" with site S1
    connector = make(fake[1], tmp_path, field_service_attribute="dsp_fieldservice", page_size=2)
    account = state.add("accounts", {"name": "Kallio Bakery Oy", "accountnumber": "C1"})
    others = [state.add("accounts", {"name": f"Account {i}"}) for i in range(2)]
    for i in range(3):
        state.add(
            "contacts",
            {
                "firstname": f"C{i}",
                "lastname": "Contact",
                "jobtitle": "Owner",
                "_parentcustomerid_value": others[i % 2],
            },
        )
    flagged = state.add(
        "incidents",
        {
            "title": "Oven will not heat",
            "ticketnumber": "CAS-01001",
            "prioritycode": 1,
            "statecode": 0,
            "dsp_fieldservice": True,
            "_customerid_value": account,
        },
    )
    state.add(
        "incidents",
        {
            "title": "Billing question",
            "ticketnumber": "CAS-01002",
            "statecode": 0,
            "dsp_fieldservice": False,
            "_customerid_value": account,
        },
    )
    async with httpx.AsyncClient(timeout=5) as client:
        first = await connector.pull(sqlite_db, None, client)
        again = await connector.pull(sqlite_db, datetime(2026, 11, 25, 5, 0, tzinfo=UTC), client)
        state.records["incidents"][flagged].update(title="Oven will not heat at all", modifiedon=state.stamp())
        assert first.cursor is not None
        later = await connector.pull(sqlite_db, datetime.fromisoformat(first.cursor), client)
    assert first.errors == [] and first.created == 2 + 3 + 1 and first.updated == 1  # C1 matched by name
    assert again.created == 0 and again.updated == 0
    assert (later.created, later.updated) == (0, 1)
    assert any("$skiptoken" in e["query"] for e in state.received)  # paged through @odata.nextLink
    assert all(e["headers"].get("prefer") == "odata.maxpagesize=2" for e in state.received if e["method"] == "GET")
    filters = [e["query"].get("$filter", "") for e in state.received if e["path"].endswith("/incidents")]
    assert "dsp_fieldservice eq true" in filters[0] and "modifiedon gt 2026-11-25T05:00:00Z" in filters[1]
    with sqlite_db.read() as s:
        jobs = list(
            s.scalars(
                select(Job)
                .join(ExternalRef, (ExternalRef.entity_id == Job.id) & (ExternalRef.entity == "job"))
                .where(ExternalRef.system == "d365", ExternalRef.external_id == flagged)
            )
        )
        assert len(jobs) == 1 and jobs[0].summary == "Oven will not heat at all" and jobs[0].priority == 2
        assert jobs[0].status is JobStatus.NEW
        assert s.scalar(select(func.count()).select_from(Customer).where(Customer.name.like("Account %"))) == 2
        assert s.scalar(select(func.count()).select_from(Contact).where(Contact.role == "Owner")) == 3
    # The case is cancelled in the CRM: the job that has not started is cancelled with it.
    state.records["incidents"][flagged].update(statecode=2, modifiedon=state.stamp())
    async with httpx.AsyncClient(timeout=5) as client:
        cancelled = await connector.pull(sqlite_db, datetime.fromisoformat(later.cursor or first.cursor), client)
    assert cancelled.updated == 1
    with sqlite_db.read() as s:
        assert s.get(Job, jobs[0].id).status is JobStatus.CANCELLED  # type: ignore[union-attr]


async def test_check_names_the_application_user(
    state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        message = await make(fake[1], tmp_path).check(client)
    assert "application user 00000000-0000-0000-0000-0000000000a1" in message


def test_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"connectors\.d365\.org_url"):
        Dynamics365Connector(connector_config(tmp_path, "d365", "dynamics365", {"tenant": "t"}))
    with pytest.raises(ConfigError, match=r"connectors\.d365\.tenant"):
        Dynamics365Connector(
            connector_config(tmp_path, "d365", "dynamics365", {"org_url": "https://x.crm.dynamics.com"})
        )
    made = Dynamics365Connector(
        connector_config(tmp_path, "d365", "dynamics365", {"org_url": "https://x.crm4.dynamics.com/", "tenant": "t1"})
    )
    assert made.auth.token_url == "https://login.microsoftonline.com/t1/oauth2/v2.0/token"
    assert made.auth.scope == "https://x.crm4.dynamics.com/.default"
    with pytest.raises(ConfigError, match=r"connectors\.d365\.job_type"):
        Dynamics365Connector(
            connector_config(tmp_path, "d365", "dynamics365", {"org_url": "https://x", "tenant": "t", "job_type": "x"})
        )


def test_integrations_check_command_reports_the_application_user(
    sqlite_db: Database, state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    build_world(sqlite_db)
    config = write_config(tmp_path, fake[1])
    checked = CliRunner().invoke(
        app, ["--db", sqlite_db.url, "--as", "ada", "integrations", "check", "--config", str(config), "--json"]
    )
    assert checked.exit_code == 0, checked.output
    (row,) = json.loads(checked.output)["connectors"]
    assert row["ok"] is True and row["type"] == "dynamics365" and "application user" in row["detail"]


async def test_a_case_sent_before_its_account_landed_is_retried_not_dead_lettered(
    sqlite_db: Database, state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    connector = make(fake[1], tmp_path)
    job = completed_job(sqlite_db)
    account, case = connector.map(job.completed, context(sqlite_db, connector.config))[:2]
    async with httpx.AsyncClient(timeout=5) as client:
        early = await connector.send(case, client)  # the account's delivery has not been sent yet
        assert early.outcome is Outcome.RETRY and early.status_code == 404 and state.rows("incidents") == []
        results = await deliver(connector, [account, case], client)
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 2 and len(state.rows("incidents")) == 1


async def test_a_pulled_field_service_case_becomes_a_job_whose_completion_closes_that_case(
    sqlite_db: Database, state: DataverseState, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    build_world(sqlite_db)
    connector = make(fake[1], tmp_path)
    account = state.add("accounts", {"name": "Kallio Bakery Oy", "accountnumber": "C1"})
    case_id = state.add(
        "incidents",
        {"title": "Oven will not heat", "statecode": 0, "statuscode": 1, "dsp_fieldservice": True},
    )
    state.records["incidents"][case_id]["_customerid_value"] = account
    async with httpx.AsyncClient(timeout=5) as client:
        pulled = await connector.pull(sqlite_db, None, client)
    assert pulled.errors == []
    with sqlite_db.read() as s:
        ref = s.scalar(
            select(Job.ref)
            .join(ExternalRef, (ExternalRef.entity_id == Job.id) & (ExternalRef.entity == "job"))
            .where(ExternalRef.system == "d365", ExternalRef.external_id == case_id)
        )
        tech_id = s.scalar(select(Technician.id).where(Technician.code == "T1"))
    assert ref is not None and tech_id is not None
    tech = Actor("t1", Role.TECHNICIAN, "api", technician_id=tech_id)
    assign_job(sqlite_db, DISPATCHER, ref, "T1", local(9))
    change_status(sqlite_db, DISPATCHER, ref, JobStatus.DISPATCHED, at=local(8, 30))
    change_status(sqlite_db, tech, ref, JobStatus.EN_ROUTE, at=local(8, 40))
    change_status(sqlite_db, tech, ref, JobStatus.ON_SITE, at=local(9))
    complete_job(sqlite_db, tech, ref, CompletionInput(local(9), local(10), 60, 10, "FIXED", notes="New element"))
    completed = next(e for e in tail(sqlite_db, 0, 10_000) if e.type == "job.completed")
    async with httpx.AsyncClient(timeout=5) as client:
        results = await deliver(connector, connector.map(completed, context(sqlite_db, connector.config)), client)
    # The account is bound by the id the pull stored, so only the case, its note and the close go out.
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 3, [r.message for r in results]
    case = state.records["incidents"][case_id]
    assert (case["statecode"], case["statuscode"], case["dsp_jobref"]) == (1, 5, ref)
    assert len(state.rows("incidents")) == 1  # the case itself was closed, no second one made
