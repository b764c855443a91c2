"""A local HubSpot: tickets upserted by a unique property or updated by id, notes with associations, search, labels,
OAuth2; deals (field offers) and tickets (field service) searched, read with their company associations."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.integrations.fakes.server import FakeVendor

VERSION = "2026-03"
TICKET_PROPERTIES = {
    "subject",
    "content",
    "hs_pipeline",
    "hs_pipeline_stage",
    "dispatch_resolution",
    "dispatch_job_ref",
    "hs_ticket_priority",
    "dispatch_field_service",
}
UNIQUE_TICKET_PROPERTY = "dispatch_job_ref"
# Deal properties HubSpot defines (dealname, amount, dealstage, ...) and the three custom ones for field offers.
DEAL_PROPERTIES = {
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "closedate",
    "description",
    "deal_currency_code",
    "dispatch_field_followup",
    "dispatch_field_response",
    "dispatch_field_note",
}
DEAL_STAGES = {"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "closedwon", "closedlost"}
ASSOCIATION_TYPES = {"tickets": 228, "contacts": 202}


def _error(status: int, category: str, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "category": category, "message": message}, status_code=status)


@dataclass
class HubSpotState(FakeVendor):
    ids: Any = field(default_factory=lambda: itertools.count(1001))
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)  # by dispatch_job_ref, else by id
    ticket_companies: dict[str, str] = field(default_factory=dict)  # ticket id -> associated company id
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)
    deal_companies: dict[str, str] = field(default_factory=dict)  # deal id -> associated company id
    ticket_writes: int = 0

    def throttled(self) -> Response:
        return JSONResponse(
            {"status": "error", "category": "RATE_LIMITS", "message": "You have reached your secondly limit."},
            status_code=429,
            headers={
                "X-HubSpot-RateLimit-Interval-Milliseconds": "1000",
                "X-HubSpot-RateLimit-Max": "100",
                "X-HubSpot-RateLimit-Remaining": "0",
            },
        )

    def add_deal(self, company_id: str | None, properties: dict[str, str]) -> str:
        deal_id = str(next(self.ids))
        self.deals[deal_id] = {"id": deal_id, "properties": {"hs_is_closed": "false", **properties}}
        if company_id:
            self.deal_companies[deal_id] = company_id
        return deal_id

    def add_ticket(self, company_id: str | None, properties: dict[str, str]) -> str:
        """A ticket someone opened in HubSpot (no dispatch_job_ref yet)."""
        ticket_id = str(next(self.ids))
        self.tickets[ticket_id] = {"id": ticket_id, "properties": {"hs_pipeline_stage": "1", **properties}}
        if company_id:
            self.ticket_companies[ticket_id] = company_id
        return ticket_id

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        return next(t for t in self.tickets.values() if t["id"] == ticket_id)

    def add_crm(self, kind: str, properties: dict[str, str]) -> str:
        object_id = str(next(self.ids))
        (self.contacts if kind == "contacts" else self.companies)[object_id] = {
            "id": object_id,
            "properties": dict(properties),
        }
        return object_id


def build_app(state: HubSpotState) -> Starlette:
    async def guard(request: Request) -> Response | None:
        await state.record(request)
        if not state.authorised(request):
            return _error(401, "EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired")
        return await state.fault(request, state.throttled())

    async def upsert_tickets(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        body = state.received[-1]["json"]
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
            return _error(400, "VALIDATION_ERROR", "inputs is required")
        results = []
        for item in body["inputs"]:
            if item.get("idProperty") != UNIQUE_TICKET_PROPERTY:
                return _error(400, "VALIDATION_ERROR", f"{item.get('idProperty')} is not a unique property")
            unknown = set(item.get("properties", {})) - TICKET_PROPERTIES
            if unknown:
                return _error(400, "VALIDATION_ERROR", f"Property values were not valid: {sorted(unknown)}")
            ref = str(item["id"])
            ticket = state.tickets.get(ref)
            if ticket is None:
                ticket = {"id": str(next(state.ids)), "properties": {UNIQUE_TICKET_PROPERTY: ref}}
                state.tickets[ref] = ticket
            ticket["properties"].update(item["properties"])
            state.ticket_writes += 1
            results.append({"id": ticket["id"], "properties": ticket["properties"], "new": False})
        if (lost := await state.after_effect()) is not None:
            return lost
        return JSONResponse({"status": "COMPLETE", "results": results})

    async def read_ticket(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        key = request.path_params["key"]
        if request.query_params.get("idProperty") == UNIQUE_TICKET_PROPERTY:
            ticket = state.tickets.get(key)
        else:
            ticket = next((t for t in state.tickets.values() if t["id"] == key), None)
        if ticket is None:
            return _error(404, "OBJECT_NOT_FOUND", "Object not found")
        return JSONResponse(ticket)

    async def labels(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        to = request.path_params["to"]
        if request.path_params["frm"] != "notes" or to not in ASSOCIATION_TYPES:
            return _error(400, "VALIDATION_ERROR", "unknown object types")
        return JSONResponse(
            {
                "results": [
                    {"category": "HUBSPOT_DEFINED", "typeId": ASSOCIATION_TYPES[to], "label": None},
                    {"category": "USER_DEFINED", "typeId": 9001, "label": "Follow-up"},
                ]
            }
        )

    async def create_note(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        body = state.received[-1]["json"]
        props = body.get("properties", {}) if isinstance(body, dict) else {}
        if not props.get("hs_timestamp") or not props.get("hs_note_body"):
            return _error(400, "VALIDATION_ERROR", "hs_timestamp and hs_note_body are required")
        for assoc in body.get("associations", []):
            to_id = str(assoc["to"]["id"])
            type_ids = {t["associationTypeId"] for t in assoc["types"]}
            if to_id in {t["id"] for t in state.tickets.values()}:
                expected = ASSOCIATION_TYPES["tickets"]
            elif to_id in state.contacts:
                expected = ASSOCIATION_TYPES["contacts"]
            else:
                return _error(400, "VALIDATION_ERROR", f"object {to_id} does not exist")
            if type_ids != {expected}:
                return _error(400, "VALIDATION_ERROR", f"association type {type_ids} is not valid for {to_id}")
        note_id = str(next(state.ids))
        state.notes[note_id] = {"id": note_id, "properties": props, "associations": body.get("associations", [])}
        if (lost := await state.after_effect()) is not None:
            return lost
        return JSONResponse(state.notes[note_id], status_code=201)

    async def search(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        kind = request.path_params["kind"]
        body = state.received[-1]["json"] or {}
        filters = [f for g in body.get("filterGroups", []) for f in g.get("filters", [])]
        pool = {
            "notes": state.notes,
            "contacts": state.contacts,
            "companies": state.companies,
            "deals": state.deals,
            "tickets": state.tickets,
        }.get(kind)
        if pool is None:
            return _error(400, "VALIDATION_ERROR", f"cannot search {kind}")
        items = list(pool.values())
        for f in filters:
            name, op, value = f["propertyName"], f["operator"], f["value"]
            if op == "CONTAINS_TOKEN":
                items = [
                    i
                    for i in items
                    if value in str(i["properties"].get(name, "")).replace("<", " ").split()
                    or f"<p>{value}</p>" in str(i["properties"].get(name, ""))
                ]
            elif op == "EQ":
                items = [i for i in items if str(i["properties"].get(name, "")) == str(value)]
            elif op == "GTE":
                items = [i for i in items if _epoch_ms(i["properties"].get(name)) >= int(value)]
            else:
                return _error(400, "VALIDATION_ERROR", f"operator {op} not supported by the fake")
        for sort in body.get("sorts", []):
            if not isinstance(sort, str):
                return _error(400, "VALIDATION_ERROR", "sorts are property names")
            name, reverse = sort.lstrip("-"), sort.startswith("-")
            items.sort(key=lambda i, n=name: _epoch_ms(i["properties"].get(n)), reverse=reverse)
        start = int(body.get("after") or 0)
        limit = int(body.get("limit", 10))
        if start + limit > 10_000:
            return _error(400, "VALIDATION_ERROR", "search is capped at 10,000 results")
        page = items[start : start + limit]
        result: dict[str, Any] = {"total": len(items), "results": page}
        if start + limit < len(items):
            result["paging"] = {"next": {"after": str(start + limit)}}
        return JSONResponse(result)

    async def update_deal(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        deal = state.deals.get(request.path_params["key"])
        if deal is None:
            return _error(404, "OBJECT_NOT_FOUND", "Object not found")
        props = (state.received[-1]["json"] or {}).get("properties")
        if not isinstance(props, dict) or not props:
            return _error(400, "VALIDATION_ERROR", "properties is required")
        unknown = sorted(set(props) - DEAL_PROPERTIES)
        if unknown:
            return _error(400, "VALIDATION_ERROR", f"Property values were not valid: {unknown}")
        if "dealstage" in props and props["dealstage"] not in DEAL_STAGES:
            return _error(400, "VALIDATION_ERROR", f"{props['dealstage']} is not a valid dealstage")
        deal["properties"].update(props)
        if props.get("dealstage") in ("closedwon", "closedlost"):
            deal["properties"]["hs_is_closed"] = "true"
        if (lost := await state.after_effect()) is not None:
            return lost
        return JSONResponse(deal)

    async def update_ticket(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        key = request.path_params["key"]
        found = next(((k, t) for k, t in state.tickets.items() if t["id"] == key), None)
        if found is None:
            return _error(404, "OBJECT_NOT_FOUND", "Object not found")
        props = (state.received[-1]["json"] or {}).get("properties")
        if not isinstance(props, dict) or not props:
            return _error(400, "VALIDATION_ERROR", "properties is required")
        unknown = sorted(set(props) - TICKET_PROPERTIES)
        if unknown:
            return _error(400, "VALIDATION_ERROR", f"Property values were not valid: {unknown}")
        old_key, ticket = found
        ticket["properties"].update(props)
        state.ticket_writes += 1
        ref = ticket["properties"].get(UNIQUE_TICKET_PROPERTY)
        if ref and ref != old_key:  # now findable by the unique property
            state.tickets[ref] = state.tickets.pop(old_key)
        if (lost := await state.after_effect()) is not None:
            return lost
        return JSONResponse(ticket)

    async def deal_companies(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        links = state.deal_companies if request.path_params["frm"] == "deals" else state.ticket_companies
        inputs = (state.received[-1]["json"] or {}).get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
            return _error(400, "VALIDATION_ERROR", "inputs of {id} are required")
        results = [
            {
                "from": {"id": str(i["id"])},
                "to": [
                    {
                        "toObjectId": int(links[str(i["id"])]),
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}],
                    }
                ],
            }
            for i in inputs
            if str(i["id"]) in links
        ]
        return JSONResponse({"status": "COMPLETE", "results": results})

    return Starlette(
        routes=[
            Route("/oauth/v1/token", state.token_endpoint, methods=["POST"]),
            Route(f"/crm/objects/{VERSION}/tickets/batch/upsert", upsert_tickets, methods=["POST"]),
            Route(f"/crm/objects/{VERSION}/tickets/{{key}}", read_ticket, methods=["GET"]),
            Route(f"/crm/objects/{VERSION}/tickets/{{key}}", update_ticket, methods=["PATCH"]),
            Route(f"/crm/objects/{VERSION}/notes", create_note, methods=["POST"]),
            Route(f"/crm/objects/{VERSION}/{{kind}}/search", search, methods=["POST"]),
            Route(f"/crm/objects/{VERSION}/deals/{{key}}", update_deal, methods=["PATCH"]),
            Route(f"/crm/associations/{VERSION}/{{frm:str}}/companies/batch/read", deal_companies, methods=["POST"]),
            Route(f"/crm/associations/{VERSION}/{{frm}}/{{to}}/labels", labels, methods=["GET"]),
        ]
    )


def _epoch_ms(value: Any) -> int:
    from datetime import datetime

    if not value:
        return 0
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)
