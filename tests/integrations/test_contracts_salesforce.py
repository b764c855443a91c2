"""Every request the Salesforce connector sends for field offers and field-service cases matches Salesforce's
documented shapes.

Sources (Salesforce developer documentation): REST API Developer Guide, "Update a Record" (`PATCH
/services/data/vXX.X/sobjects/{SObject}/{id}` with a JSON object of the fields to change, answered
204 with no body; a field that does not exist fails the request) and "Execute a SOQL Query"
(`GET .../query?q=`, `nextRecordsUrl` for the next batch); Object Reference for the Salesforce
Platform, "Opportunity" (Name string(120), AccountId reference, Amount currency, Description
textarea(32000), StageName picklist, IsClosed boolean and SystemModstamp datetime, both not
updateable). The three `Dispatch_Field_*__c` custom fields are the ones docs/integrations.md asks
the administrator to add (a checkbox, a restricted picklist Interested/Accepted, a long text area).
"Case" (CaseNumber string(30) and IsClosed not updateable, Subject string(255), Description textarea(32000),
Comments textarea(4000), Priority and Status picklists); `Dispatch_Field_Service__c` (checkbox) and
`Dispatch_Job_Ref__c` (text 32, external id) are the fields docs/integrations.md asks for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from data.db import Database
from integrations.connectors.salesforce import SalesforceConnector
from tests.factories import build_world
from tests.integrations.fakes.salesforce import VERSION, SalesforceState, build_app
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import connector_config, deliver


@dataclass(frozen=True)
class Field:
    type: str  # string, textarea, reference, currency, picklist, boolean, datetime, id
    length: int | None = None
    updateable: bool = True


OPPORTUNITY = {
    "Id": Field("id", updateable=False),
    "Name": Field("string", 120),
    "AccountId": Field("reference"),
    "Amount": Field("currency"),
    "Description": Field("textarea", 32000),
    "StageName": Field("picklist", 255),
    "IsClosed": Field("boolean", updateable=False),
    "SystemModstamp": Field("datetime", updateable=False),
    "Dispatch_Field_Follow_Up__c": Field("boolean"),
    "Dispatch_Field_Response__c": Field("picklist", 255),
    "Dispatch_Field_Note__c": Field("textarea", 32768),
}
CASE = {
    "Id": Field("id", updateable=False),
    "CaseNumber": Field("string", 30, updateable=False),
    "AccountId": Field("reference"),
    "Subject": Field("string", 255),
    "Description": Field("textarea", 32000),
    "Comments": Field("textarea", 4000),
    "Priority": Field("picklist", 255),
    "Status": Field("picklist", 255),
    "IsClosed": Field("boolean", updateable=False),
    "SystemModstamp": Field("datetime", updateable=False),
    "Dispatch_Field_Service__c": Field("boolean"),
    "Dispatch_Job_Ref__c": Field("string", 32),
}
OBJECTS = {"Opportunity": OPPORTUNITY, "Case": CASE}
RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
SOQL = re.compile(
    r"^SELECT (?P<fields>[\w, ]+) FROM (?P<object>Opportunity|Case) WHERE (?P<where>.+?) ORDER BY SystemModstamp$"
)


def problems(entry: dict[str, Any]) -> list[str]:
    where = f"{entry['method']} {entry['path']}"
    base = f"/services/data/{VERSION}"
    found = [] if entry["headers"].get("authorization", "").startswith("Bearer ") else [f"{where}: no bearer token"]
    patch = re.fullmatch(rf"{base}/sobjects/(Opportunity|Case)/(\w+)", entry["path"])
    if entry["method"] == "PATCH" and patch:
        sobject, fields = patch[1], OBJECTS[patch[1]]
        if not RECORD_ID.match(patch[2]):
            found.append(f"{where}: {patch[2]!r} is not a record id")
        if entry["headers"].get("content-type") != "application/json":
            found.append(f"{where}: body must be application/json")
        body = entry["json"]
        if not isinstance(body, dict) or not body:
            return [*found, f"{where}: the body is an object of the fields to change"]
        for name, value in body.items():
            spec = fields.get(name)
            if spec is None:
                found.append(f"{where}: {sobject} has no field {name!r}")
            elif not spec.updateable:
                found.append(f"{where}: {sobject}.{name} is not updateable")
            elif not isinstance(value, str) or (spec.length is not None and len(value) > spec.length):
                found.append(f"{where}: {sobject}.{name} must be text of at most {spec.length}")
        return found
    if entry["method"] == "GET" and entry["path"] == f"{base}/query":
        soql = entry["query"].get("q", "")
        if " FROM Opportunity " not in soql and " FROM Case " not in soql:
            return found
        match = SOQL.match(soql)
        if match is None:
            return [*found, f"{where}: unexpected SOQL {soql!r}"]
        fields = OBJECTS[match["object"]]
        found += [f"{where}: no field {f!r}" for f in match["fields"].split(", ") if f not in fields]
        for clause in match["where"].split(" AND "):
            name, _op, value = clause.split(" ", 2)
            if name not in fields:
                found.append(f"{where}: filter on unknown field {name!r}")
            elif fields[name].type == "boolean" and value not in ("true", "false"):
                found.append(f"{where}: {name} compares with true or false")
            elif fields[name].type == "datetime" and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value):
                found.append(f"{where}: {value!r} is not a SOQL dateTime literal")
        return found
    return found


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[SalesforceState, str]]:
    state = SalesforceState()
    with serve(build_app(state)) as url:
        yield state, url


async def test_offer_pull_and_answer_match_the_documented_shapes(
    sqlite_db: Database, fake: tuple[SalesforceState, str], tmp_path: Path
) -> None:
    state, url = fake
    state.reset()
    connector = SalesforceConnector(
        connector_config(
            tmp_path, "sf", "salesforce", {"instance_url": url, "token_url": f"{url}/services/oauth2/token"}
        )
    )
    build_world(sqlite_db)
    stamp = "2026-11-25T08:00:00.000+0000"
    account = state.add("Account", {"Name": "Kallio Bakery Oy", "SystemModstamp": stamp})
    opportunity = state.add(
        "Opportunity",
        {"AccountId": account, "Name": "Service plan", "Dispatch_Field_Follow_Up__c": True, "SystemModstamp": stamp},
    )
    answer = {
        "system": "sf",
        "kind": "opportunity",
        "external_id": opportunity,
        "response": "interested",
        "job_ref": "J000001",
        "responded_by": "t1",
        "responded_at": "2026-11-25T09:00:00+00:00",
        "note": "Call back in spring",
    }
    async with httpx.AsyncClient(timeout=5) as client:
        await connector.pull(sqlite_db, None, client)
        await connector.pull(sqlite_db, datetime(2026, 11, 25, 7, tzinfo=UTC), client)
        results = await deliver(connector, connector.offer_requests(answer), client)
    assert [r.outcome.value for r in results] == ["delivered"]
    sent = [e for e in state.received if not e["path"].startswith("/services/oauth2/")]
    assert any(e["method"] == "PATCH" for e in sent)
    assert sum(" FROM Opportunity " in e["query"].get("q", "") for e in sent) == 2
    assert [p for e in sent for p in problems(e)] == []
    assert state.records["Opportunity"][opportunity]["Dispatch_Field_Response__c"] == "Interested"


def test_the_contract_check_catches_what_salesforce_refuses() -> None:
    base = {"headers": {"authorization": "Bearer x", "content-type": "application/json"}, "query": {}}
    path = f"/services/data/{VERSION}/sobjects/Opportunity/006000000000001AAA"
    for body in ({"IsClosed": "true"}, {"Stage": "Won"}, {"Dispatch_Field_Note__c": "x" * 40000}, {}):
        assert problems({**base, "method": "PATCH", "path": path, "json": body}), body
    case_path = f"/services/data/{VERSION}/sobjects/Case/500000000000001AAA"
    for body in ({"CaseNumber": "1"}, {"IsClosed": "true"}, {"Comments": "x" * 4001}, {"Resolution": "done"}):
        assert problems({**base, "method": "PATCH", "path": case_path, "json": body}), body
    query = "SELECT Id, Title FROM Opportunity WHERE IsClosed = 1 ORDER BY SystemModstamp"
    assert problems({**base, "method": "GET", "path": f"/services/data/{VERSION}/query", "query": {"q": query}})


async def test_case_pull_and_closing_match_the_documented_shapes(
    sqlite_db: Database, fake: tuple[SalesforceState, str], tmp_path: Path
) -> None:
    from data.services.crm_sync import link_external
    from integrations.connector import MappingContext
    from tests.factories import ADMIN
    from tests.integrations.test_crm_cases_to_jobs import complete, customer_id, jobs_of

    state, url = fake
    state.reset()
    connector = SalesforceConnector(
        connector_config(
            tmp_path, "sf", "salesforce", {"instance_url": url, "token_url": f"{url}/services/oauth2/token"}
        )
    )
    build_world(sqlite_db)
    stamp = "2026-11-25T08:00:00.000+0000"
    account = state.add("Account", {"Name": "Kallio Bakery Oy", "SystemModstamp": stamp})
    link_external(sqlite_db, ADMIN, "customer", customer_id(sqlite_db), "sf", account)
    case = state.add(
        "Case",
        {"AccountId": account, "CaseNumber": "00001026", "Subject": "Oven cold", "Priority": "High",
         "IsClosed": False, "Dispatch_Field_Service__c": True, "SystemModstamp": stamp},
    )  # fmt: skip
    async with httpx.AsyncClient(timeout=5) as client:
        await connector.pull(sqlite_db, None, client)
        await connector.pull(sqlite_db, datetime(2026, 11, 25, 7, tzinfo=UTC), client)
        [job] = jobs_of(sqlite_db, "sf")
        event = complete(sqlite_db, job.ref)
        requests = connector.map(event, MappingContext(db=sqlite_db, connector="sf", settings={}))
        results = await deliver(connector, requests, client)
    assert [r.outcome.value for r in results] == ["delivered", "delivered"]
    sent = [e for e in state.received if not e["path"].startswith("/services/oauth2/")]
    assert any(e["method"] == "PATCH" and e["path"].endswith(f"/sobjects/Case/{case}") for e in sent)
    assert sum(" FROM Case " in e["query"].get("q", "") for e in sent) == 2
    assert [p for e in sent for p in problems(e)] == []
