"""A local Salesforce org: WorkOrder/Case upsert by external id, classic Notes, SOQL with paging, OAuth2.

Bodies are checked against the documented fields of each sObject (an unknown field answers
INVALID_FIELD, a bad Status answers INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST). The API limit is
signalled the Salesforce way: 403 with REQUEST_LIMIT_EXCEEDED, and `Sforce-Limit-Info` on every answer.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.integrations.fakes.server import FakeVendor

VERSION = "v62.0"
EXTERNAL_ID = "Dispatch_Job_Ref__c"
FIELDS = {
    "WorkOrder": {
        "Status",
        "Subject",
        "Description",
        "Priority",
        "StartDate",
        "EndDate",
        "AccountId",
        "ContactId",
        "CaseId",
        "Duration",
        "DurationType",
        EXTERNAL_ID,
    },
    "Case": {
        "Status",
        "Subject",
        "Description",
        "Comments",
        "Priority",
        "Origin",
        "AccountId",
        "ContactId",
        "Reason",
        "Dispatch_Field_Service__c",
        EXTERNAL_ID,
    },
    "Note": {"ParentId", "Title", "Body", "IsPrivate", "OwnerId"},
    # Updateable Opportunity fields (Object Reference); IsClosed, IsWon and SystemModstamp are read-only.
    "Opportunity": {
        "Name",
        "AccountId",
        "Amount",
        "CloseDate",
        "Description",
        "NextStep",
        "StageName",
        "Probability",
        "Dispatch_Field_Follow_Up__c",
        "Dispatch_Field_Response__c",
        "Dispatch_Field_Note__c",
    },
}
OPPORTUNITY_STAGES = {"Prospecting", "Qualification", "Proposal/Price Quote", "Closed Won", "Closed Lost"}
RESPONSES = {"Interested", "Accepted"}  # the Dispatch_Field_Response__c restricted picklist
STATUSES = {
    "WorkOrder": {"New", "In Progress", "On Hold", "Completed", "Closed", "Cannot Complete", "Canceled"},
    "Case": {"New", "Working", "Escalated", "Closed", "On Hold"},
}
PREFIX = {"WorkOrder": "0WO", "Case": "500", "Note": "002", "Account": "001", "Contact": "003", "Opportunity": "006"}


def _errors(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code}], status_code=status, headers=headers)


@dataclass
class SalesforceState(FakeVendor):
    ids: Any = field(default_factory=lambda: itertools.count(1))
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # sobject -> id -> fields
    api_used: int = 0
    api_limit: int = 15000
    page_size: int = 2000
    writes: int = 0

    def new_id(self, sobject: str) -> str:
        return f"{PREFIX[sobject]}{next(self.ids):015d}"[:18]

    def add(self, sobject: str, fields: dict[str, Any]) -> str:
        rid = self.new_id(sobject)
        self.records.setdefault(sobject, {})[rid] = {"Id": rid, **fields}
        return rid

    def by_external_id(self, sobject: str, ref: str) -> dict[str, Any] | None:
        return next((r for r in self.records.get(sobject, {}).values() if r.get(EXTERNAL_ID) == ref), None)

    def limit_headers(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_limit}"}

    def throttled(self) -> Response:
        return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", self.limit_headers())


def _soql_value(text: str) -> Any:
    text = text.strip()
    if text.startswith("'"):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def build_app(state: SalesforceState) -> Starlette:
    base = f"/services/data/{VERSION}"

    async def guard(request: Request) -> Response | None:
        await state.record(request)
        state.api_used += 1
        if not state.authorised(request):
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return await state.fault(request, state.throttled())

    def reply(payload: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(payload, status_code=status, headers=state.limit_headers())

    async def upsert(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        sobject, field_name, ref = (request.path_params[k] for k in ("sobject", "field", "ref"))
        if sobject not in ("WorkOrder", "Case") or field_name != EXTERNAL_ID:
            return _errors(404, "NOT_FOUND", f"{sobject}.{field_name} is not an external id field")
        body = state.received[-1]["json"] or {}
        if request.method == "GET":
            found = state.by_external_id(sobject, ref)
            if found is None:
                return _errors(404, "NOT_FOUND", "The requested resource does not exist")
            return reply({"attributes": {"type": sobject}, **found})
        unknown = sorted(set(body) - FIELDS[sobject])
        if unknown:
            return _errors(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {sobject}")
        if "Status" in body and body["Status"] not in STATUSES[sobject]:
            return _errors(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Status: bad value for restricted picklist field: {body['Status']}",
            )
        state.writes += 1
        found = state.by_external_id(sobject, ref)
        if found is None:
            rid = state.add(sobject, {**body, EXTERNAL_ID: ref})
            payload, status = {"id": rid, "success": True, "errors": [], "created": True}, 201
        else:
            found.update(body)
            payload, status = {"id": found["Id"], "success": True, "errors": [], "created": False}, 200
        if (lost := await state.after_effect()) is not None:
            return lost
        return reply(payload, status)

    async def create(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        sobject = request.path_params["sobject"]
        body = state.received[-1]["json"] or {}
        if sobject not in FIELDS:
            return _errors(404, "NOT_FOUND", f"sObject type '{sobject}' is not supported")
        unknown = sorted(set(body) - FIELDS[sobject])
        if unknown:
            return _errors(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {sobject}")
        if sobject == "Note":
            if not body.get("Title") or not body.get("ParentId"):
                return _errors(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [ParentId, Title]")
            if len(body["Title"]) > 80:
                return _errors(400, "STRING_TOO_LONG", "Title: data value too large")
            if not any(body["ParentId"] in recs for recs in state.records.values()):
                return _errors(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        rid = state.add(sobject, body)
        if (lost := await state.after_effect()) is not None:
            return lost
        return reply({"id": rid, "success": True, "errors": []}, 201)

    def run_query(soql: str) -> list[dict[str, Any]] | str:
        match = re.fullmatch(
            r"SELECT (?P<fields>[\w, ]+) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))?(?: ORDER BY (?P<order>\w+))?",
            soql.strip(),
        )
        if match is None:
            return f"unexpected token in {soql!r}"
        fields = [f.strip() for f in match["fields"].split(",")]
        rows = list(state.records.get(match["obj"], {}).values())
        for cond in re.split(r"\s+AND\s+", match["where"] or "") if match["where"] else []:
            name, op, value = re.fullmatch(r"(\w+)\s*(=|>)\s*(.+)", cond.strip()).groups()  # type: ignore[union-attr]
            if op == "=" and value.strip() in ("true", "false"):
                rows = [r for r in rows if bool(r.get(name)) == (value.strip() == "true")]
            elif op == "=":
                rows = [r for r in rows if str(r.get(name)) == _soql_value(value)]
            else:
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", value.strip()):
                    return f"value of filter criterion for field '{name}' must be of type dateTime"
                rows = [r for r in rows if str(r.get(name, "")) > value.strip().replace("Z", ".000+0000")]
        if match["order"]:
            rows.sort(key=lambda r: str(r.get(match["order"], "")))
        return [{"attributes": {"type": match["obj"]}, **{f: r.get(f) for f in fields}} for r in rows]

    cursors: dict[str, list[dict[str, Any]]] = {}

    def page(rows: list[dict[str, Any]]) -> JSONResponse:
        head, rest = rows[: state.page_size], rows[state.page_size :]
        payload: dict[str, Any] = {"totalSize": len(rows), "done": not rest, "records": head}
        if rest:
            token = f"01g{next(state.ids):015d}-{state.page_size}"
            cursors[token] = rest
            payload["nextRecordsUrl"] = f"{base}/query/{token}"
        return reply(payload)

    async def query(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        rows = run_query(request.query_params.get("q", ""))
        if isinstance(rows, str):
            return _errors(400, "MALFORMED_QUERY", rows)
        return page(rows)

    async def query_more(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        rows = cursors.pop(request.path_params["token"], None)
        if rows is None:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return page(rows)

    async def update(request: Request) -> Response:
        """`PATCH /sobjects/{SObject}/{id}`: 204 No Content (REST API Developer Guide, "Update a Record")."""
        if (early := await guard(request)) is not None:
            return early
        sobject, rid = request.path_params["sobject"], request.path_params["rid"]
        found = state.records.get(sobject, {}).get(rid)
        if sobject not in FIELDS or found is None:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        body = state.received[-1]["json"] or {}
        unknown = sorted(set(body) - FIELDS[sobject])
        if unknown:
            return _errors(400, "INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {unknown[0]}")
        if "Status" in body and sobject in STATUSES and body["Status"] not in STATUSES[sobject]:
            return _errors(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Status: bad value for restricted picklist field: {body['Status']}",
            )
        if "StageName" in body and body["StageName"] not in OPPORTUNITY_STAGES:
            return _errors(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"Stage: bad value {body['StageName']}")
        response = body.get("Dispatch_Field_Response__c")
        if response is not None and response not in RESPONSES:
            return _errors(
                400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"bad value for restricted picklist {response}"
            )
        state.writes += 1
        found.update(body)
        if body.get("StageName", "").startswith("Closed") or (sobject == "Case" and body.get("Status") == "Closed"):
            found["IsClosed"] = True
        if (lost := await state.after_effect()) is not None:
            return lost
        return Response(status_code=204, headers=state.limit_headers())

    return Starlette(
        routes=[
            Route("/services/oauth2/token", state.token_endpoint, methods=["POST"]),
            Route(f"{base}/sobjects/{{sobject}}/{{field}}/{{ref}}", upsert, methods=["PATCH", "GET"]),
            Route(f"{base}/sobjects/{{sobject}}", create, methods=["POST"]),
            Route(f"{base}/sobjects/{{sobject}}/{{rid}}", update, methods=["PATCH"]),
            Route(f"{base}/query", query, methods=["GET"]),
            Route(f"{base}/query/{{token}}", query_more, methods=["GET"]),
        ]
    )
