"""Every request the Dynamics 365 connector sends is checked against the Dataverse entity definitions.

The definitions (entity set names, primary keys, alternate keys, column names, types and lengths,
navigation properties, the CloseIncident parameters) are written down in
`tests/integrations/fakes/dataverse_contract.py` from Microsoft Learn's Dataverse developer pages:
the Web API table/column reference for incident, account, contact, annotation and
incidentresolution, and Dynamics 365 Sales' opportunity and quote table references; "Use Upsert to
Create or Update a record"; "Perform conditional operations using the Web API"; "Use an alternate
key to reference a record"; "CloseIncident Action"; "Page results" (`Prefer: odata.maxpagesize`,
`@odata.nextLink`); and "Service protection API limits".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from data.db import Database
from integrations.connectors.dynamics365 import Dynamics365Connector
from tests.integrations.fakes.dataverse_contract import (
    ACTIONS,
    FUNCTIONS,
    TABLES,
    TARGET,
    VERSION,
    batch_entries,
    problems_with_body,
    problems_with_filter,
    problems_with_key,
    problems_with_select,
)
from tests.integrations.fakes.dynamics365 import TENANT, DataverseState, running
from tests.integrations.fakes.world import completed_job, connector_config, context, deliver

QUERY_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$skiptoken"}


def problems_with_request(entry: dict[str, Any], origin: str = "") -> list[str]:
    """What in one received request the Dataverse Web API would not accept as documented."""
    where = f"{entry['method']} {entry['path']}"
    prefix = f"/api/data/{VERSION}/"
    if not entry["path"].startswith(prefix):
        return [f"{where}: not under {prefix}"]
    headers = entry["headers"]
    found: list[str] = []
    if not headers.get("authorization", "").startswith("Bearer "):
        found.append(f"{where}: no bearer token")
    if headers.get("odata-version") != "4.0" or headers.get("odata-maxversion") != "4.0":
        found.append(f"{where}: OData-Version / OData-MaxVersion 4.0 missing")
    unknown = set(entry["query"]) - QUERY_OPTIONS
    if unknown:
        found.append(f"{where}: unknown query options {sorted(unknown)}")
    target = entry["path"][len(prefix) :]
    if target == "$batch":
        if entry["method"] != "POST":
            return [*found, f"{where}: $batch is a POST"]
        inner, problems = batch_entries(entry, origin)
        outer = {h: headers[h] for h in ("authorization", "odata-version", "odata-maxversion") if h in headers}
        return (
            found
            + problems
            + [p for op in inner for p in problems_with_request({**op, "headers": {**outer, **op["headers"]}}, origin)]
        )
    if target in FUNCTIONS:
        return found + ([] if entry["method"] == "GET" else [f"{where}: a function is called with GET"])
    if target in ACTIONS:
        body = entry["json"]
        params = ACTIONS[target]
        if entry["method"] != "POST" or not isinstance(body, dict) or set(body) != set(params):
            return [*found, f"{where}: an action is a POST with exactly {sorted(params)}"]
        for name, kind in params.items():
            if kind == "Edm.Int32":
                if not isinstance(body[name], int) or isinstance(body[name], bool):
                    found.append(f"{where}: {name} must be Edm.Int32")
            else:
                table = next(t for t in TABLES.values() if t.logical_name == kind)
                found.extend(problems_with_body(table, body[name], f"{where} {name}", action_parameter=True))
        return found
    match = TARGET.match(target)
    if match is None or match["set"] not in TABLES:
        return [*found, f"{where}: {target!r} is not an entity set"]
    table = TABLES[match["set"]]
    query = entry["query"]
    found += problems_with_select(table, query.get("$select"), where)
    found += problems_with_filter(table, query.get("$filter"), where)
    if "$orderby" in query:
        column, _, direction = query["$orderby"].partition(" ")
        if column not in table.columns or direction not in ("", "asc", "desc"):
            found.append(f"{where}: bad $orderby {query['$orderby']!r}")
    if "$top" in query and not query["$top"].isdigit():
        found.append(f"{where}: $top must be a number")
    if match["key"]:
        found += problems_with_key(table, match["key"])
    conditional = [h for h in ("if-match", "if-none-match") if h in headers]
    if entry["method"] == "PATCH":
        if not match["key"]:
            found.append(f"{where}: PATCH needs a record key")
        if len(conditional) > 1 or any(headers[h] != "*" for h in conditional):
            found.append(f"{where}: use If-Match: * or If-None-Match: *, not both")
        found += problems_with_body(table, entry["json"], where)
    elif entry["method"] == "POST":
        if match["key"]:
            found.append(f"{where}: create with POST on the entity set")
        found += problems_with_body(table, entry["json"], where)
    elif entry["method"] == "GET":
        if "prefer" in headers and not headers["prefer"].startswith("odata.maxpagesize="):
            found.append(f"{where}: unexpected Prefer {headers['prefer']!r}")
    else:
        found.append(f"{where}: method not used by this contract")
    return found


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[DataverseState, str]]:
    with running() as served:
        yield served


async def test_every_request_matches_the_entity_definitions(
    sqlite_db: Database, fake: tuple[DataverseState, str], tmp_path: Path
) -> None:
    state, url = fake
    state.reset()
    connector = Dynamics365Connector(
        connector_config(
            tmp_path,
            "d365",
            "dynamics365",
            {
                "org_url": url,
                "token_url": f"{url}/{TENANT}/oauth2/v2.0/token",
                "page_size": 1,
                "offer_tables": ["opportunities", "quotes"],
            },
            access_token="",
        )
    )
    job = completed_job(sqlite_db)
    account = state.add("accounts", {"name": "Kallio Bakery Oy", "accountnumber": "C9"})
    state.add("contacts", {"firstname": "Anna", "lastname": "A", "_parentcustomerid_value": account})
    state.add(
        "incidents",
        {"title": "Oven", "statecode": 0, "dsp_fieldservice": True, "_customerid_value": account},
    )
    state.add("incidents", {"title": "Oven 2", "statecode": 0, "dsp_fieldservice": True, "_customerid_value": account})
    opportunity = state.add(
        "opportunities",
        {"name": "Service plan", "estimatedvalue": 480.0, "statecode": 0, "dsp_fieldfollowup": True},
    )
    state.add("quotes", {"name": "Q-1", "totalamount": 99.5, "statecode": 1, "dsp_fieldfollowup": True})
    answer = {
        "system": "d365",
        "kind": "opportunity",
        "external_id": opportunity,
        "response": "accepted",
        "job_ref": job.ref,
        "responded_by": "t1",
        "responded_at": "2026-11-25T09:00:00+00:00",
        "note": None,
    }
    async with httpx.AsyncClient(timeout=5) as client:
        await connector.check(client)
        requests = connector.map(job.completed, context(sqlite_db, connector.config))
        await deliver(connector, requests, client)
        await deliver(connector, requests, client)  # the repeat's look-ups too
        await connector.pull(sqlite_db, None, client)
        await connector.pull(sqlite_db, datetime(2026, 11, 25, 5, tzinfo=UTC), client)
        assert [r.outcome.value for r in await deliver(connector, connector.offer_requests(answer), client)] == [
            "delivered"
        ]
    kinds = {(e["method"], e["path"].rsplit("/", 1)[1].split("(")[0]) for e in state.received}
    assert {("PATCH", "accounts"), ("PATCH", "incidents"), ("POST", "$batch"), ("POST", "CloseIncident")} <= kinds
    assert {("GET", "opportunities"), ("GET", "quotes"), ("PATCH", "opportunities")} <= kinds
    assert state.records["opportunities"][opportunity]["dsp_fieldresponse"] == "accepted"
    assert any("$skiptoken" in e["query"] for e in state.received)
    problems = [p for entry in state.received for p in problems_with_request(entry, url)]
    assert problems == []


def test_the_contract_check_catches_what_dataverse_refuses() -> None:
    base = {"headers": {"authorization": "Bearer x", "odata-version": "4.0", "odata-maxversion": "4.0"}, "query": {}}
    bad = [
        {**base, "method": "PATCH", "path": f"/api/data/{VERSION}/incidents(ticketnumber='X')", "json": {}},
        {**base, "method": "PATCH", "path": f"/api/data/{VERSION}/incidents(dsp_jobref='X')", "json": {"Title": "x"}},
        {**base, "method": "POST", "path": f"/api/data/{VERSION}/annotations", "json": {"subject": 5}},
        {
            **base,
            "method": "POST",
            "path": f"/api/data/{VERSION}/annotations",
            "json": {"objectid_incident@odata.bind": "/accounts(00000000-0000-0000-0000-000000000001)"},
        },
        {**base, "method": "POST", "path": f"/api/data/{VERSION}/CloseIncident", "json": {"Status": 5}},
        {**base, "method": "PATCH", "path": f"/api/data/{VERSION}/incident(dsp_jobref='X')", "json": {}},
        {
            **base,
            "method": "GET",
            "path": f"/api/data/{VERSION}/accounts",
            "query": {"$filter": "modifiedon gt '2026-11-25'"},
            "json": None,
        },
        {
            **base,
            "method": "PATCH",
            "path": f"/api/data/{VERSION}/accounts(accountnumber='C1')",
            "json": {"name": "x" * 161},
        },
    ]
    for entry in bad:
        assert problems_with_request(entry), entry
