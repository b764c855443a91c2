"""CRM offers on site: pulled from each CRM, shown on the job in the field API, answered, sent back by the worker.

The fakes check each request as their modules say (HubSpot's deal properties, Salesforce's updateable
Opportunity fields, Dataverse's opportunity columns); the contract tests check the shapes further.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from data.feed import tail
from data.models.deliveries import Delivery, DeliveryStatus
from data.models.field import Quote
from data.models.offers import CrmOffer
from data.services.crm_offers import PulledOffer, upsert_offers
from integrations.config import parse_config
from integrations.delivery.worker import Worker
from integrations.registry import build_connector
from tests.factories import ADMIN, link_customer
from tests.integrations.fake_receiver import Clock
from tests.integrations.fakes import hubspot, salesforce
from tests.integrations.fakes.dynamics365 import TENANT, running
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import write_credentials
from tests.integrations.test_field_api_world import FieldWorld, arrive, field_world

STAMP = "2026-11-25T08:00:00Z"


@dataclass
class Vendor:
    """One CRM fake with an offer of Kallio Bakery's in it, and where the answer lands."""

    kind: str
    table: dict[str, Any]
    offer_kind: str
    answer: Callable[[], Any]  # what the CRM record holds in its response field now


@contextlib.contextmanager
def hubspot_vendor() -> Iterator[Vendor]:
    state = hubspot.HubSpotState()
    with serve(hubspot.build_app(state)) as url:
        company = state.add_crm("companies", {"name": "Kallio Bakery Oy", "hs_lastmodifieddate": STAMP})
        deal = state.add_deal(
            company,
            {
                "dealname": "Heat pump service plan",
                "amount": "480.00",
                "deal_currency_code": "EUR",
                "dispatch_field_followup": "true",
                "hs_lastmodifieddate": STAMP,
            },
        )
        state.add_deal(company, {"dealname": "Not for the field", "hs_lastmodifieddate": STAMP})
        table = {"type": "hubspot", "base_url": url, "token_url": f"{url}/oauth/v1/token"}
        yield Vendor("hubspot", table, "deal", lambda: state.deals[deal]["properties"].get("dispatch_field_response"))


@contextlib.contextmanager
def salesforce_vendor() -> Iterator[Vendor]:
    state = salesforce.SalesforceState()
    with serve(salesforce.build_app(state)) as url:
        stamp = "2026-11-25T08:00:00.000+0000"
        account = state.add("Account", {"Name": "Kallio Bakery Oy", "SystemModstamp": stamp})
        opportunity = state.add(
            "Opportunity",
            {
                "AccountId": account,
                "Name": "Heat pump service plan",
                "Amount": 480.0,
                "IsClosed": False,
                "Dispatch_Field_Follow_Up__c": True,
                "SystemModstamp": stamp,
            },
        )
        state.add("Opportunity", {"AccountId": account, "Name": "Not for the field", "SystemModstamp": stamp})
        table = {
            "type": "salesforce",
            "instance_url": url,
            "token_url": f"{url}/services/oauth2/token",
        }
        yield Vendor(
            "salesforce",
            table,
            "opportunity",
            lambda: state.records["Opportunity"][opportunity].get("Dispatch_Field_Response__c"),
        )


@contextlib.contextmanager
def dynamics_vendor() -> Iterator[Vendor]:
    with running() as (state, url):
        account = state.add("accounts", {"name": "Kallio Bakery Oy", "accountnumber": "C1"})
        opportunity = state.add(
            "opportunities",
            {
                "name": "Heat pump service plan",
                "estimatedvalue": 480.0,
                "statecode": 0,
                "dsp_fieldfollowup": True,
                "_customerid_value": account,
            },
        )
        state.add("opportunities", {"name": "Not for the field", "statecode": 0, "_customerid_value": account})
        table = {"type": "dynamics365", "org_url": url, "token_url": f"{url}/{TENANT}/oauth2/v2.0/token"}
        yield Vendor(
            "dynamics365",
            table,
            "opportunity",
            lambda: state.records["opportunities"][opportunity].get("dsp_fieldresponse"),
        )


VENDORS = {"hubspot": hubspot_vendor, "salesforce": salesforce_vendor, "dynamics365": dynamics_vendor}


@pytest.fixture
def world(sqlite_db: Any) -> Iterator[FieldWorld]:
    yield from field_world(sqlite_db)


def integrations(vendor: Vendor, tmp_path: Path) -> Any:
    access = "" if vendor.kind == "dynamics365" else "token-0"
    table = {
        **vendor.table,
        "credentials_file": str(write_credentials(tmp_path, "crm", access_token=access)),
        "oauth_state_file": str(tmp_path / "crm-oauth.json"),
    }
    return parse_config({"delivery": {"backoff_base_seconds": 1.0}, "connectors": {"crm": table}})


async def deliver_all(world: FieldWorld, config: Any) -> list[Delivery]:
    clock = Clock()
    worker = Worker(world.db, config, worker_id="w1", concurrency=2, clock=clock, uniform=lambda _lo, hi: hi)
    rows: list[Delivery] = []
    for _ in range(20):
        await worker.run(once=True)
        with world.db.read() as s:
            rows = list(s.scalars(select(Delivery).order_by(Delivery.id)))
        if rows and all(d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD) for d in rows):
            break
        clock.advance(5)
    return rows


@pytest.mark.parametrize("kind", sorted(VENDORS))
async def test_an_offer_pulled_from_the_crm_shows_on_the_job_and_its_acceptance_reaches_the_crm(
    kind: str, world: FieldWorld, tmp_path: Path
) -> None:
    ref = world.jobs["t1_morning"]
    with VENDORS[kind]() as vendor:
        config = integrations(vendor, tmp_path)
        connector = build_connector(config.connector("crm"))
        async with httpx.AsyncClient(timeout=5) as client:
            pulled = await connector.pull(world.db, None, client)
            again = await connector.pull(world.db, None, client)
        assert pulled.errors == [] and again.errors == []
        with world.db.read() as s:
            offers = list(s.scalars(select(CrmOffer)))
        assert [(o.kind, o.title, o.open) for o in offers] == [(vendor.offer_kind, "Heat pump service plan", True)]

        shown = world.client.get(f"/v1/jobs/{ref}", headers=world.auth()).json()["offers"]
        assert [(o["title"], o["amount"], o["response"]) for o in shown] == [
            ("Heat pump service plan", "480.00" if kind == "hubspot" else "480.0", "none")
        ]
        arrive(world, ref)
        answer = {"offer_id": shown[0]["id"], "response": "accepted", "note": "Wants it from January"}
        r = world.client.post(f"/v1/jobs/{ref}/offers", json=answer, headers=world.auth())
        assert r.status_code == 200, r.text
        assert r.json()["response"] == "accepted" and r.json()["quote_ref"] == f"Q-{ref}-1"

        rows = await deliver_all(world, config)
        assert [(d.event_type, d.status) for d in rows] == [("offer.responded", DeliveryStatus.DELIVERED)], [
            d.last_error for d in rows
        ]
        assert str(vendor.answer()).lower() == "accepted"
    with world.db.read() as s:
        quote = s.scalar(select(Quote))
    assert quote is not None and quote.summary == "Heat pump service plan" and quote.status.value == "proposed"


def test_answers_move_forward_only_and_a_repeat_sends_nothing_new(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    upsert_offers(world.db, ADMIN, "crm", [PulledOffer("D1", "deal", None, "Filters for a year")])
    link_customer(world.db)  # the customer is known to the CRM by its ref
    counts = upsert_offers(world.db, ADMIN, "crm", [PulledOffer("D1", "deal", "CO1", "Filters for a year")])
    assert counts.created == 1
    offer_id = world.client.get(f"/v1/jobs/{ref}", headers=world.auth()).json()["offers"][0]["id"]

    def answer(response: str) -> httpx.Response:
        return world.client.post(
            f"/v1/jobs/{ref}/offers", json={"offer_id": offer_id, "response": response}, headers=world.auth()
        )

    assert answer("interested").json()["response"] == "interested"
    assert answer("interested").status_code == 200  # the phone sent it twice
    assert answer("accepted").json()["quote_ref"] is None  # not on site yet, and no price: no quote
    assert answer("interested").status_code == 409
    responded = [e.payload["response"] for e in tail(world.db) if e.type == "offer.responded"]
    assert responded == ["interested", "accepted"]
    someone_else = world.client.post(
        f"/v1/jobs/{ref}/offers", json={"offer_id": offer_id, "response": "accepted"}, headers=world.auth("T2")
    )
    assert someone_else.status_code == 403  # another technician's job


def test_an_offer_closed_in_the_crm_leaves_the_job_unless_answered_there(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    link_customer(world.db)
    upsert_offers(world.db, ADMIN, "crm", [PulledOffer("D2", "deal", "CO1", "Spare remote", amount=None)])
    assert len(world.client.get(f"/v1/jobs/{ref}", headers=world.auth()).json()["offers"]) == 1
    closed = upsert_offers(world.db, ADMIN, "crm", [PulledOffer("D2", "deal", "CO1", "Spare remote", open=False)])
    assert closed.updated == 1
    assert world.client.get(f"/v1/jobs/{ref}", headers=world.auth()).json()["offers"] == []
    unknown = upsert_offers(world.db, ADMIN, "crm", [PulledOffer("D3", "deal", "nobody", "x")])
    assert unknown.skipped == 1 and "nobody" in unknown.errors[0]


def test_an_offer_answer_travels_in_an_offline_batch(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    link_customer(world.db)
    upsert_offers(world.db, ADMIN, "crm", [PulledOffer("D4", "deal", "CO1", "Service plan")])
    offer_id = world.client.get(f"/v1/jobs/{ref}", headers=world.auth()).json()["offers"][0]["id"]
    when = datetime.now(UTC) - timedelta(minutes=5)
    item = {
        "client_event_id": "offer-1",
        "type": "offer",
        "occurred_at": when.isoformat(),
        "job_ref": ref,
        "payload": {"offer_id": offer_id, "response": "interested"},
    }
    r = world.client.post("/v1/sync", json={"events": [item, item]}, headers=world.auth())
    assert [x["outcome"] for x in r.json()["results"]] == ["applied", "duplicate"], r.text
