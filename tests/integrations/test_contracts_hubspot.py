"""Every HubSpot payload we send loads into the request models of the official `hubspot-api-client`.

The models are generated from HubSpot's own specs. Loading is strict: each JSON key must be one of
the model's attributes (unknown keys fail), primitives must have the declared type (properties are
`dict[str, str]`), and the models' own client-side validation checks required fields and enums.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hubspot.crm.associations.v4 as associations_v4
import hubspot.crm.companies as companies
import hubspot.crm.contacts as contacts
import hubspot.crm.deals as deals
import hubspot.crm.objects.notes as notes
import hubspot.crm.tickets as tickets
import pytest

from data.db import Database
from data.services.crm_sync import link_external
from integrations.connectors.hubspot import HubSpotConnector
from tests.factories import ADMIN, build_world
from tests.integrations.fakes.hubspot import VERSION, HubSpotState, build_app
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import completed_job, connector_config, context, deliver

PRIMITIVES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,), "float": (float, int)}


class ContractViolation(Exception):
    pass


def load(type_name: str, value: Any, module: Any, where: str = "$") -> Any:
    """Build the model (or primitive) `type_name` from a JSON value, refusing anything it does not declare."""
    if value is None:
        return None
    if match := re.fullmatch(r"list\[(.+)\]", type_name):
        if not isinstance(value, list):
            raise ContractViolation(f"{where}: expected a list")
        return [load(match.group(1), v, module, f"{where}[{i}]") for i, v in enumerate(value)]
    if match := re.fullmatch(r"dict\(str, (.+)\)|dict\[str, (.+)\]", type_name):
        inner = match.group(1) or match.group(2)
        if not isinstance(value, dict):
            raise ContractViolation(f"{where}: expected an object")
        return {k: load(inner, v, module, f"{where}.{k}") for k, v in value.items()}
    if type_name in PRIMITIVES:
        if not isinstance(value, PRIMITIVES[type_name]) or (type_name != "bool" and isinstance(value, bool)):
            raise ContractViolation(f"{where}: expected {type_name}, got {type(value).__name__} {value!r}")
        return value
    cls = getattr(module, type_name)
    if not isinstance(value, dict):
        raise ContractViolation(f"{where}: expected a {type_name} object")
    by_json = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    unknown = sorted(set(value) - set(by_json))
    if unknown:
        raise ContractViolation(f"{where}: {type_name} has no field {unknown[0]!r}")
    kwargs = {by_json[k]: load(cls.openapi_types[by_json[k]], v, module, f"{where}.{k}") for k, v in value.items()}
    config = module.Configuration()
    config.client_side_validation = True  # required fields and enums, as the models define them
    try:
        return cls(**kwargs, local_vars_configuration=config)
    except (TypeError, ValueError) as err:
        raise ContractViolation(f"{where}: {type_name}: {err}") from err


MODELS: dict[tuple[str, str], tuple[Any, str]] = {
    ("POST", f"/crm/objects/{VERSION}/tickets/batch/upsert"): (tickets, "BatchInputSimplePublicObjectBatchInputUpsert"),
    ("POST", f"/crm/objects/{VERSION}/notes"): (notes, "SimplePublicObjectInputForCreate"),
    ("POST", f"/crm/objects/{VERSION}/notes/search"): (notes, "PublicObjectSearchRequest"),
    ("POST", f"/crm/objects/{VERSION}/contacts/search"): (contacts, "PublicObjectSearchRequest"),
    ("POST", f"/crm/objects/{VERSION}/companies/search"): (companies, "PublicObjectSearchRequest"),
    ("POST", f"/crm/objects/{VERSION}/deals/search"): (deals, "PublicObjectSearchRequest"),
    ("POST", f"/crm/objects/{VERSION}/tickets/search"): (tickets, "PublicObjectSearchRequest"),
}


def check(entry: dict[str, Any]) -> Any:
    module, model = MODELS[(entry["method"], entry["path"])]
    return load(model, entry["json"], module)


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[HubSpotState, str]]:
    state = HubSpotState()
    with serve(build_app(state)) as url:
        yield state, url


@pytest.fixture
def sent(sqlite_db: Database, fake: tuple[HubSpotState, str], tmp_path: Path) -> list[dict[str, Any]]:
    state, url = fake
    state.reset()
    connector = HubSpotConnector(
        connector_config(tmp_path, "crm", "hubspot", {"base_url": url, "token_url": f"{url}/oauth/v1/token"})
    )
    job = completed_job(sqlite_db)
    contact_id = state.add_crm("contacts", {"firstname": "Anna", "lastmodifieddate": "2026-11-25T08:00:00Z"})
    link_external(sqlite_db, ADMIN, "contact", 1, "crm", contact_id)

    async def run() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await deliver(connector, connector.map(job.completed, context(sqlite_db, connector.config)), client)
            await connector.pull(sqlite_db, None, client)

    asyncio.run(run())
    return [e for e in state.received if e["method"] == "POST" and not e["path"].startswith("/oauth/")]


def test_every_payload_loads_into_the_official_request_models(sent: list[dict[str, Any]]) -> None:
    paths = {e["path"].rsplit("/", 2)[-2] + "/" + e["path"].rsplit("/", 1)[-1] for e in sent}
    assert {"batch/upsert", f"{VERSION}/notes", "notes/search", "contacts/search", "companies/search"} <= paths
    loaded = [check(e) for e in sent]
    upsert = next(m for m in loaded if isinstance(m, tickets.BatchInputSimplePublicObjectBatchInputUpsert))
    assert upsert.inputs[0].id_property == "dispatch_job_ref"
    note = next(m for m in loaded if isinstance(m, notes.SimplePublicObjectInputForCreate))
    assert {a.types[0].association_type_id for a in note.associations} == {228, 202}


def test_unknown_keys_and_wrong_types_are_refused(sent: list[dict[str, Any]]) -> None:
    upsert = next(e for e in sent if e["path"].endswith("/batch/upsert"))
    bad = {"inputs": [{**upsert["json"]["inputs"][0], "idproperty": "x"}]}
    with pytest.raises(ContractViolation, match="no field 'idproperty'"):
        check({**upsert, "json": bad})
    note = next(e for e in sent if e["path"].endswith("/notes"))
    numeric = {**note["json"], "properties": {**note["json"]["properties"], "hs_timestamp": 1795000000000}}
    with pytest.raises(ContractViolation, match="expected str"):
        check({**note, "json": numeric})
    category = {
        **note["json"],
        "associations": [{"to": {"id": "1"}, "types": [{"associationCategory": "HUBSPOT", "associationTypeId": 1}]}],
    }
    with pytest.raises(ContractViolation, match="association_category"):
        check({**note, "json": category})


DEAL_MODELS: dict[tuple[str, str], tuple[Any, str]] = {
    ("POST", f"/crm/objects/{VERSION}/deals/search"): (deals, "PublicObjectSearchRequest"),
    ("POST", f"/crm/associations/{VERSION}/deals/companies/batch/read"): (
        associations_v4,
        "BatchInputPublicFetchAssociationsBatchRequest",
    ),
    ("PATCH", f"/crm/objects/{VERSION}/deals/{{dealId}}"): (deals, "SimplePublicObjectInput"),
}


def test_field_offers_load_into_the_deal_and_association_models(
    sqlite_db: Database, fake: tuple[HubSpotState, str], tmp_path: Path
) -> None:
    """Deals search, the v4 associations batch read (deals -> companies) and the deal update by id, as
    `hubspot-api-client`'s deals and associations.v4 models declare them."""
    state, url = fake
    state.reset()
    connector = HubSpotConnector(
        connector_config(tmp_path, "crm", "hubspot", {"base_url": url, "token_url": f"{url}/oauth/v1/token"})
    )
    build_world(sqlite_db)
    company = state.add_crm("companies", {"name": "Kallio Bakery Oy", "hs_lastmodifieddate": "2026-11-25T08:00:00Z"})
    deal = state.add_deal(
        company,
        {"dealname": "Service plan", "dispatch_field_followup": "true", "hs_lastmodifieddate": "2026-11-25T08:00:00Z"},
    )
    answer = {
        "system": "crm",
        "kind": "deal",
        "external_id": deal,
        "response": "accepted",
        "job_ref": "J000001",
        "responded_by": "t1",
        "responded_at": "2026-11-25T09:00:00+00:00",
        "note": "From January",
    }

    async def run() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await connector.pull(sqlite_db, None, client)
            await deliver(connector, connector.offer_requests(answer), client)

    asyncio.run(run())
    sent = [e for e in state.received if not e["path"].startswith("/oauth/")]
    loaded = []
    for entry in sent:
        path = re.sub(rf"/deals/{deal}$", "/deals/{dealId}", entry["path"])
        if (entry["method"], path) in DEAL_MODELS:
            module, model = DEAL_MODELS[(entry["method"], path)]
            loaded.append(load(model, entry["json"], module))
    assert {type(m).__name__ for m in loaded} == {
        "PublicObjectSearchRequest",
        "BatchInputPublicFetchAssociationsBatchRequest",
        "SimplePublicObjectInput",
    }
    assert state.deals[deal]["properties"]["dispatch_field_response"] == "accepted"
    assert "From January" in state.deals[deal]["properties"]["dispatch_field_note"]


TICKET_MODELS: dict[tuple[str, str], tuple[Any, str]] = {
    ("POST", f"/crm/objects/{VERSION}/tickets/search"): (tickets, "PublicObjectSearchRequest"),
    ("POST", f"/crm/associations/{VERSION}/tickets/companies/batch/read"): (
        associations_v4,
        "BatchInputPublicFetchAssociationsBatchRequest",
    ),
    ("PATCH", f"/crm/objects/{VERSION}/tickets/{{ticketId}}"): (tickets, "SimplePublicObjectInput"),
}


def test_field_service_tickets_load_into_the_ticket_and_association_models(
    sqlite_db: Database, fake: tuple[HubSpotState, str], tmp_path: Path
) -> None:
    """A ticket marked for field service pulled into a job, and that job's completion closing the ticket by id:
    tickets search, the v4 associations batch read (tickets -> companies) and the ticket update by id."""
    from data.feed import tail
    from tests.integrations.test_crm_cases_to_jobs import complete, customer_id, jobs_of

    state, url = fake
    state.reset()
    connector = HubSpotConnector(
        connector_config(tmp_path, "crm", "hubspot", {"base_url": url, "token_url": f"{url}/oauth/v1/token"})
    )
    build_world(sqlite_db)
    company = state.add_crm("companies", {"name": "Customer C1", "hs_lastmodifieddate": "2026-11-25T08:00:00Z"})
    link_external(sqlite_db, ADMIN, "customer", customer_id(sqlite_db), "crm", company)
    ticket = state.add_ticket(
        company,
        {"subject": "Leak", "dispatch_field_service": "true", "hs_lastmodifieddate": "2026-11-25T08:00:00Z"},
    )

    async def pull() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await connector.pull(sqlite_db, None, client)

    asyncio.run(pull())
    [job] = jobs_of(sqlite_db, "crm")
    ref = job.ref
    complete(sqlite_db, ref)
    event = next(e for e in reversed(tail(sqlite_db, 0, 10_000)) if e.type == "job.completed")

    async def close() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await deliver(connector, connector.map(event, context(sqlite_db, connector.config)), client)

    asyncio.run(close())
    loaded = []
    for entry in state.received:
        path = re.sub(rf"/tickets/{ticket}$", "/tickets/{ticketId}", entry["path"])
        if (entry["method"], path) in TICKET_MODELS:
            module, model = TICKET_MODELS[(entry["method"], path)]
            loaded.append(load(model, entry["json"], module))
    assert {type(m).__name__ for m in loaded} == {
        "PublicObjectSearchRequest",
        "BatchInputPublicFetchAssociationsBatchRequest",
        "SimplePublicObjectInput",
    }
    assert state.ticket(ticket)["properties"]["dispatch_job_ref"] == ref
