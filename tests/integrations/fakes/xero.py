"""A local Xero: accounting (invoices, contacts) and Payroll UK (timesheets, leave) behind one OAuth2 server.

It enforces the tenant header, bearer tokens, `Idempotency-Key` (a repeat answers the first result
and changes nothing), 429 with `Retry-After`, and the required fields Xero checks; every request it
receives is kept so contract tests can validate it against Xero's OpenAPI specifications.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.integrations.fakes.server import FakeVendor

TENANT = "2ad12d5e-6b0a-4b42-8d7f-1c6c4f1e7a11"
CALENDAR = "216d80e6-af55-47b1-b718-9457c3f5d2fe"
RATES = {
    "regular": "87d0ec3a-7f0a-4d4a-9a23-6a6d4a7c0001",
    "travel": "87d0ec3a-7f0a-4d4a-9a23-6a6d4a7c0002",
    "overtime_daily": "87d0ec3a-7f0a-4d4a-9a23-6a6d4a7c0003",
    "overtime_weekly": "87d0ec3a-7f0a-4d4a-9a23-6a6d4a7c0004",
    "overtime_rest_day": "87d0ec3a-7f0a-4d4a-9a23-6a6d4a7c0005",
}
SICK_LEAVE = "1d2778ee-86ea-45c0-bbf8-1045485f6b3f"
ANNUAL_LEAVE = "1d2778ee-86ea-45c0-bbf8-1045485f6b40"
ACCOUNTS = {"200", "260"}
TAX_TYPES = {"OUTPUT2", "NONE"}


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail}, status_code=status)


def _validation(message: str) -> JSONResponse:
    return JSONResponse(
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": message}]}],
        },
        status_code=400,
    )


@dataclass
class XeroState(FakeVendor):
    ids: Any = field(default_factory=lambda: itertools.count(1))
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    timesheets: dict[str, dict[str, Any]] = field(default_factory=dict)
    leave: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by employeeID
    employees: set[str] = field(default_factory=set)
    approvals: int = 0
    by_key: dict[str, tuple[int, Any]] = field(default_factory=dict)

    def throttled(self) -> Response:
        return JSONResponse(
            {"Title": "Too Many Requests"},
            status_code=429,
            headers={"Retry-After": "2", "X-Rate-Limit-Problem": "minute", "X-MinLimit-Remaining": "0"},
        )

    def uuid(self) -> str:
        return str(uuid.UUID(int=next(self.ids)))

    def add_contact(self, name: str, updated: str = "/Date(1795000000000+0000)/") -> str:
        cid = self.uuid()
        self.contacts[cid] = {
            "ContactID": cid,
            "Name": name,
            "ContactStatus": "ACTIVE",
            "IsCustomer": True,
            "UpdatedDateUTC": updated,
            "EmailAddress": f"billing@{name.split()[0].lower()}.example",
            "Phones": [],
        }
        return cid

    def add_employee(self) -> str:
        eid = self.uuid()
        self.employees.add(eid)
        self.leave[eid] = []
        return eid


def build_app(state: XeroState) -> Starlette:
    async def guard(request: Request) -> Response | None:
        await state.record(request)
        if not state.authorised(request):
            return _problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        if request.headers.get("xero-tenant-id") != TENANT:
            return _problem(403, "Forbidden", "AuthorizationUnsuccessful: unknown Xero-tenant-id")
        return await state.fault(request, state.throttled())

    def replayed(request: Request) -> tuple[str | None, Response | None]:
        key = request.headers.get("idempotency-key")
        if key is not None and len(key) > 128:
            return key, _problem(400, "Bad Request", "Idempotency-Key is longer than 128 characters")
        if key is not None and key in state.by_key:
            status, payload = state.by_key[key]
            return key, JSONResponse(payload, status_code=status)
        return key, None

    async def put_invoices(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        key, again = replayed(request)
        if again is not None:
            return again
        body = state.received[-1]["json"]
        created = []
        for inv in (body or {}).get("Invoices") or []:
            if request.method == "POST" and "Type" not in inv and inv.get("Status") == "VOIDED":
                found = next(
                    (i for i in state.invoices.values() if i["InvoiceNumber"] == inv.get("InvoiceNumber")), None
                )
                if found is None:
                    return _validation(f"Invoice number {inv.get('InvoiceNumber')} could not be found")
                if found.get("Payments"):
                    return _validation("Invoice not of valid status for modification: it has payments")
                found["Status"] = "VOIDED"
                created.append(found)
                continue
            if inv.get("Type") != "ACCREC":
                return _validation("Invoice Type must be ACCREC or ACCPAY")
            contact = inv.get("Contact") or {}
            if contact.get("ContactID"):
                if contact["ContactID"] not in state.contacts:
                    return _validation("The contact does not exist")
                cid = contact["ContactID"]
            elif contact.get("Name"):
                cid = next((c for c, v in state.contacts.items() if v["Name"] == contact["Name"]), None)
                cid = cid or state.add_contact(contact["Name"])
            else:
                return _validation("A Contact must be specified")
            if not inv.get("LineItems"):
                return _validation("At least one line item is required")
            total = Decimal("0")
            for item in inv["LineItems"]:
                if item.get("AccountCode") not in ACCOUNTS:
                    return _validation(f"Account code '{item.get('AccountCode')}' is not a valid code")
                if "TaxType" in item and item["TaxType"] not in TAX_TYPES:
                    return _validation(f"The TaxType code '{item['TaxType']}' does not exist")
                amount = Decimal(str(item["UnitAmount"])) * Decimal(str(item["Quantity"]))
                if "LineAmount" in item and abs(amount - Decimal(str(item["LineAmount"]))) > Decimal("0.01"):
                    return _validation("The line total does not match UnitAmount x Quantity")
                total += Decimal(str(item.get("LineAmount", amount)))
            iid = state.uuid()
            record = {
                **inv,
                "InvoiceID": iid,
                "Contact": {"ContactID": cid},
                "Total": float(total),
                "AmountDue": float(total),
                "AmountPaid": 0.0,
                "Payments": [],
                "UpdatedDateUTC": "/Date(1795000000000+0000)/",
                "HasErrors": False,
            }
            state.invoices[iid] = record
            created.append(record)
        payload = {"Id": str(uuid.uuid4()), "Status": "OK", "Invoices": created}
        if key is not None:
            state.by_key[key] = (200, payload)
        if (lost := await state.after_effect()) is not None:
            return lost
        return JSONResponse(payload)

    async def put_credit_notes(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        key, again = replayed(request)
        if again is not None:
            return again
        created = []
        for note in (state.received[-1]["json"] or {}).get("CreditNotes") or []:
            if note.get("Type") not in ("ACCRECCREDIT", "ACCPAYCREDIT"):
                return _validation("Credit note Type must be ACCRECCREDIT or ACCPAYCREDIT")
            contact = note.get("Contact") or {}
            if not (contact.get("ContactID") in state.contacts or contact.get("Name")):
                return _validation("A Contact must be specified")
            if not note.get("LineItems"):
                return _validation("At least one line item is required")
            nid = state.uuid()
            record = {**note, "CreditNoteID": nid, "HasErrors": False}
            state.credit_notes[nid] = record
            created.append(record)
        payload = {"Id": str(uuid.uuid4()), "Status": "OK", "CreditNotes": created}
        if key is not None:
            state.by_key[key] = (200, payload)
        return JSONResponse(payload)

    async def list_rows(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        kind = request.url.path.rsplit("/", 1)[-1]
        rows = list((state.contacts if kind == "Contacts" else state.invoices).values())
        page, size = int(request.query_params.get("page", "1")), int(request.query_params.get("pageSize", "100"))
        since = request.headers.get("if-modified-since")
        if since is not None and not since.endswith("Z"):
            return _problem(400, "Bad Request", "If-Modified-Since must be a UTC date-time")
        return JSONResponse({kind: rows[(page - 1) * size : page * size]})

    async def post_timesheet(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        key, again = replayed(request)
        if again is not None:
            return again
        body = state.received[-1]["json"] or {}
        for name in ("payrollCalendarID", "employeeID", "startDate", "endDate"):
            if not body.get(name):
                return _problem(400, "Validation error", f"{name} is required")
        if body["employeeID"] not in state.employees:
            return _problem(400, "Validation error", "Employee not found")
        for line in body.get("timesheetLines") or []:
            if line.get("earningsRateID") not in RATES.values():
                return _problem(400, "Validation error", f"Earnings rate {line.get('earningsRateID')} not found")
        tid = state.uuid()
        sheet = {
            **body,
            "timesheetID": tid,
            "status": "Draft",
            "totalHours": sum(ln["numberOfUnits"] for ln in body.get("timesheetLines") or []),
        }
        state.timesheets[tid] = sheet
        payload = {"id": str(uuid.uuid4()), "providerName": "dispatch", "httpStatusCode": "OK", "timesheet": sheet}
        if key is not None:
            state.by_key[key] = (200, payload)
        if (lost := await state.after_effect()) is not None:
            return lost
        return JSONResponse(payload)

    async def approve(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        key, again = replayed(request)
        if again is not None:
            return again
        sheet = state.timesheets.get(request.path_params["tid"])
        if sheet is None:
            return _problem(404, "Not found", "Timesheet not found")
        if sheet["status"] != "Approved":
            sheet["status"] = "Approved"
            state.approvals += 1
        payload = {"id": str(uuid.uuid4()), "httpStatusCode": "OK", "timesheet": sheet}
        if key is not None:
            state.by_key[key] = (200, payload)
        return JSONResponse(payload)

    async def leave(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        eid = request.path_params["eid"]
        if eid not in state.employees:
            return _problem(404, "Not found", "Employee not found")
        return JSONResponse({"id": str(uuid.uuid4()), "httpStatusCode": "OK", "leave": state.leave[eid]})

    return Starlette(
        routes=[
            Route("/connect/token", state.token_endpoint, methods=["POST"]),
            Route("/api.xro/2.0/Invoices", put_invoices, methods=["PUT", "POST"]),
            Route("/api.xro/2.0/Invoices", list_rows, methods=["GET"]),
            Route("/api.xro/2.0/CreditNotes", put_credit_notes, methods=["PUT"]),
            Route("/api.xro/2.0/Contacts", list_rows, methods=["GET"]),
            Route("/payroll.xro/2.0/Timesheets", post_timesheet, methods=["POST"]),
            Route("/payroll.xro/2.0/Timesheets/{tid}/Approve", approve, methods=["POST"]),
            Route("/payroll.xro/2.0/Employees/{eid}/Leave", leave, methods=["GET"]),
        ]
    )
