"""A local QuickBooks Online company: invoices and customers with requestid idempotency, Faults, cdc, OAuth2.

Requests are checked against the documented fields of Invoice, Line and SalesItemLineDetail (the names
in Intuit's Finance.xsd): an unknown field, a missing CustomerRef, an unknown item or a line whose
Amount is not UnitPrice x Qty is answered with a ValidationFault, as QuickBooks does.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.integrations.fakes.server import FakeVendor

REALM = "9130355"
INVOICE_FIELDS = {
    "DocNumber",
    "TxnDate",
    "CurrencyRef",
    "PrivateNote",
    "Line",
    "TxnTaxDetail",
    "CustomerRef",
    "CustomerMemo",
    "BillAddr",
    "ShipAddr",
    "SalesTermRef",
    "DueDate",
    "BillEmail",
    "ClassRef",
    "DepartmentRef",
    "ExchangeRate",
    "AllowOnlinePayment",
    "AllowIPNPayment",
    "GlobalTaxCalculation",
    "ApplyTaxAfterDiscount",
    "EmailStatus",
}
LINE_FIELDS = {"Id", "LineNum", "Description", "Amount", "DetailType", "SalesItemLineDetail"}
DETAIL_FIELDS = {"ItemRef", "ClassRef", "UnitPrice", "Qty", "TaxCodeRef", "ServiceDate", "DiscountRate", "DiscountAmt"}
TXN_TAX_FIELDS = {"TxnTaxCodeRef", "TotalTax", "TaxLine"}
REF_FIELDS = {"value", "name"}
ITEMS = {"1": "Labour", "2": "Call-out", "3": "Parts", "4": "Expenses"}
TAX_CODES = {"TAX", "NON"}


def fault(kind: str, code: str, message: str, detail: str = "", status: int = 400) -> JSONResponse:
    return JSONResponse(
        {
            "Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}], "type": kind},
            "time": "2026-11-25T10:00:00.000-08:00",
        },
        status_code=status,
    )


@dataclass
class QuickBooksState(FakeVendor):
    ids: Any = field(default_factory=lambda: itertools.count(101))
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_memos: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_request_id: dict[str, tuple[int, Any]] = field(default_factory=dict)

    def throttled(self) -> Response:
        return fault("ThrottleFault", "003001", "ThrottleExceeded", "Too many requests", status=429)

    def add_customer(self, name: str) -> str:
        cid = str(next(self.ids))
        self.customers[cid] = {"Id": cid, "DisplayName": name}
        return cid

    def pay(self, invoice_id: str, amount: str, on: str = "2026-11-27") -> str:
        pid = str(next(self.ids))
        self.payments[pid] = {
            "Id": pid,
            "TxnDate": on,
            "TotalAmt": float(amount),
            "CustomerRef": self.invoices[invoice_id]["CustomerRef"],
            "Line": [{"Amount": float(amount), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
        }
        inv = self.invoices[invoice_id]
        inv["Balance"] = float(Decimal(str(inv["Balance"])) - Decimal(amount))
        return pid


def _check_ref(value: Any, where: str) -> str | None:
    if not isinstance(value, dict) or "value" not in value or set(value) - REF_FIELDS:
        return f"{where} must be a reference {{value, name}}"
    return None


def validate_invoice(body: Any, state: QuickBooksState) -> str | None:
    """The first documented-field violation, or None."""
    if not isinstance(body, dict):
        return "Invoice body must be an object"
    unknown = set(body) - INVOICE_FIELDS
    if unknown:
        return f"Property Name:{sorted(unknown)[0]} specified is unsupported or invalid"
    if (err := _check_ref(body.get("CustomerRef"), "CustomerRef")) is not None:
        return err
    if body["CustomerRef"]["value"] not in state.customers:
        return f"Invalid Reference Id : Customer {body['CustomerRef']['value']}"
    lines = body.get("Line")
    if not isinstance(lines, list) or not lines:
        return "Required param missing, need to supply the required value for the API: Line"
    for i, line in enumerate(lines):
        if set(line) - LINE_FIELDS:
            return f"Line[{i}]: unsupported field {sorted(set(line) - LINE_FIELDS)[0]}"
        if line.get("DetailType") != "SalesItemLineDetail" or not isinstance(line.get("SalesItemLineDetail"), dict):
            return f"Line[{i}]: DetailType SalesItemLineDetail with its detail is required"
        detail = line["SalesItemLineDetail"]
        if set(detail) - DETAIL_FIELDS:
            return f"Line[{i}].SalesItemLineDetail: unsupported field {sorted(set(detail) - DETAIL_FIELDS)[0]}"
        if (err := _check_ref(detail.get("ItemRef"), f"Line[{i}].ItemRef")) is not None:
            return err
        if detail["ItemRef"]["value"] not in ITEMS:
            return f"Invalid Reference Id : Item {detail['ItemRef']['value']}"
        if "TaxCodeRef" in detail and detail["TaxCodeRef"].get("value") not in TAX_CODES:
            return f"Invalid Reference Id : TaxCode {detail['TaxCodeRef'].get('value')}"
        for name in ("Amount",):
            if not isinstance(line.get(name), int | float):
                return f"Line[{i}].{name} must be a number"
        expected = Decimal(str(detail.get("UnitPrice", 0))) * Decimal(str(detail.get("Qty", 1)))
        if expected.quantize(Decimal("0.01")) != Decimal(str(line["Amount"])).quantize(Decimal("0.01")):
            return f"Line[{i}]: Amount is not equal to UnitPrice * Qty"
    tax = body.get("TxnTaxDetail")
    if tax is not None and (not isinstance(tax, dict) or set(tax) - TXN_TAX_FIELDS):
        return "TxnTaxDetail has unsupported fields"
    for name in ("TxnDate", "DueDate"):
        if name in body and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(body[name])):
            return f"{name} must be a date yyyy-mm-dd"
    if len(str(body.get("DocNumber", ""))) > 21:
        return "DocNumber is longer than 21 characters"
    return None


def build_app(state: QuickBooksState) -> Starlette:
    base = f"/v3/company/{REALM}"

    async def guard(request: Request) -> Response | None:
        await state.record(request)
        if not state.authorised(request):
            return fault("AuthenticationFault", "3200", "message=AuthenticationFailed", status=401)
        if state.faults and state.faults[0] in ("fault200-validation", "fault200-system"):
            kind = state.faults.pop(0)
            return fault(
                "ValidationFault" if kind.endswith("validation") else "SystemFault",
                "6000",
                "A business validation error has occurred",
                status=200,
            )
        return await state.fault(request, state.throttled())

    def remembered(request: Request) -> tuple[str | None, Response | None]:
        rid = request.query_params.get("requestid")
        if rid is not None and len(rid) > 50:
            return rid, fault("ValidationFault", "2500", "requestid is longer than 50 characters")
        if rid is not None and rid in state.by_request_id:
            status, payload = state.by_request_id[rid]
            return rid, JSONResponse(payload, status_code=status)
        return rid, None

    async def create_invoice(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        rid, again = remembered(request)
        if again is not None:
            return again
        body = state.received[-1]["json"]
        if request.query_params.get("operation") == "void":
            found = state.invoices.get(str((body or {}).get("Id")))
            if found is None or found["SyncToken"] != (body or {}).get("SyncToken"):
                return fault("ValidationFault", "5010", "Stale Object Error", "Id or SyncToken does not match")
            found.update(Balance=0.0, TotalAmt=0.0, SyncToken=str(int(found["SyncToken"]) + 1), PrivateNote="Voided")
            payload = {"Invoice": found}
            if rid is not None:
                state.by_request_id[rid] = (200, payload)
            return JSONResponse(payload)
        credit = request.url.path.endswith("/creditmemo")
        problem = validate_invoice(body, state)
        if problem is not None:
            return fault("ValidationFault", "2010", "Request has invalid or unsupported property", problem)
        iid = str(next(state.ids))
        total = sum(Decimal(str(ln["Amount"])) for ln in body["Line"]) + Decimal(
            str((body.get("TxnTaxDetail") or {}).get("TotalTax", 0))
        )
        invoice = {**body, "Id": iid, "TotalAmt": float(total), "Balance": float(total), "SyncToken": "0"}
        (state.credit_memos if credit else state.invoices)[iid] = invoice
        payload = {"CreditMemo" if credit else "Invoice": invoice, "time": "2026-11-25T10:00:00.000-08:00"}
        if rid is not None:
            state.by_request_id[rid] = (200, payload)
        if (lost := await state.after_effect()) is not None:
            return lost
        return JSONResponse(payload)

    async def create_customer(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        rid, again = remembered(request)
        if again is not None:
            return again
        body = state.received[-1]["json"] or {}
        name = body.get("DisplayName")
        if not name:
            return fault("ValidationFault", "2020", "Required param missing: DisplayName")
        if any(c["DisplayName"] == name for c in state.customers.values()):
            return fault(
                "ValidationFault", "6240", "Duplicate Name Exists Error", f"The name supplied already exists. : {name}"
            )
        cid = state.add_customer(name)
        payload = {"Customer": state.customers[cid]}
        if rid is not None:
            state.by_request_id[rid] = (200, payload)
        return JSONResponse(payload)

    async def query(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        text = request.query_params.get("query", "")
        by_number = re.fullmatch(r"select Id, SyncToken from Invoice where DocNumber = '((?:[^'\\]|\\.)*)'", text)
        if by_number is not None:
            hits = [i for i in state.invoices.values() if i.get("DocNumber") == by_number.group(1)]
            return JSONResponse({"QueryResponse": {"Invoice": hits} if hits else {}})
        match = re.fullmatch(r"select Id, DisplayName from Customer where DisplayName = '((?:[^'\\]|\\.)*)'", text)
        if match is None:
            return fault("ValidationFault", "4000", "Error parsing query", text)
        name = match.group(1).replace("\\'", "'").replace("\\\\", "\\")
        found = [c for c in state.customers.values() if c["DisplayName"] == name]
        return JSONResponse({"QueryResponse": {"Customer": found} if found else {}})

    async def cdc(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        entities = request.query_params.get("entities", "").split(",")
        if not request.query_params.get("changedSince"):
            return fault("ValidationFault", "2020", "Required param missing: changedSince")
        responses = []
        if "Invoice" in entities:
            responses.append({"Invoice": list(state.invoices.values())})
        if "Payment" in entities:
            responses.append({"Payment": list(state.payments.values())})
        return JSONResponse({"CDCResponse": [{"QueryResponse": responses}]})

    async def company_info(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        if request.path_params["realm"] != REALM:
            return fault("ValidationFault", "4001", "Invalid company id")
        return JSONResponse({"CompanyInfo": {"CompanyName": "Kallio Heat Oy", "Id": "1"}})

    return Starlette(
        routes=[
            Route(f"{base}/companyinfo/{{realm}}", company_info, methods=["GET"]),
            Route("/oauth2/v1/tokens/bearer", state.token_endpoint, methods=["POST"]),
            Route(f"{base}/invoice", create_invoice, methods=["POST"]),
            Route(f"{base}/creditmemo", create_invoice, methods=["POST"]),
            Route(f"{base}/customer", create_customer, methods=["POST"]),
            Route(f"{base}/query", query, methods=["GET"]),
            Route(f"{base}/cdc", cdc, methods=["GET"]),
        ]
    )
