"""QuickBooks Online: a drafted invoice becomes a QBO Invoice for the matched (or created) customer.

Every write carries `?requestid=` (at most 50 characters, stable per delivery), QuickBooks' own
idempotency mechanism: a repeat with the same id returns the first result. Lines are
`SalesItemLineDetail` with an `ItemRef` from the `items` lookup (line kind, or `part:SKU`, or the job
type), covered lines go at zero with the reason in their description, tax per line through the
`tax_codes` lookup (rate -> TaxCode id) and the total in `TxnTaxDetail`. QuickBooks can answer HTTP
200 with a `Fault` body: validation faults fail the delivery, system and throttle faults retry.
`pull` reads Payments and Invoices changed since a cursor (`/cdc`) and records balances and payments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from data.actor import Actor
from data.db import Database
from data.feed import EventRecord
from data.models.org import Role
from data.services.crm_sync import PulledInvoice, PulledPayment, record_invoice_states
from integrations.config import ConnectorConfig
from integrations.connector import MappingContext, OutboundRequest, Outcome, PullResult, SendResult
from integrations.connectors.responses import (
    DEFAULT_THROTTLE_SECONDS,
    body_text,
    classify,
    guarded,
    json_body,
    malformed,
    retry_after_seconds,
    send_request,
)
from integrations.connectors.sources import invoice_source
from integrations.mapping import ConfigError, MappingError, apply_mapping
from integrations.oauth import RefreshingOAuth2
from integrations.secrets import store_for

REQUEST_ID_LIMIT = 50
DOC_NUMBER_LIMIT = 21
PLACEHOLDER = "$quickbooks/customer/"
DEFAULTS: dict[str, Any] = {
    "base_url": "https://quickbooks.api.intuit.com",
    "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "minorversion": "75",
}
# A reopened job's bill: a voided draft voids the QBO invoice (found by DocNumber); a credit note is a CreditMemo.
DEFAULT_EVENTS = ("invoice.drafted", "invoice.voided", "credit_note.issued")
RETRY_FAULTS = frozenset({"SystemFault", "ThrottleFault", "ServiceFault"})


def money(value: Any) -> float:
    """A cent amount as a JSON number: exact, since doubles hold every cent value below 2**53 / 100."""
    return float(Decimal(str(value)).quantize(Decimal("0.01")))


def quantity(value: Any) -> float:
    return float(Decimal(str(value)))


def request_id(*parts: object) -> str:
    """A stable requestid of at most 50 characters."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[: REQUEST_ID_LIMIT - 18]


def fault_of(data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and isinstance(data.get("Fault"), dict):
        return data["Fault"]
    return None


def _qbo_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class QuickBooksConnector:
    rate_limit_per_minute = (
        500.0  # QuickBooks Online: 500 requests a minute per company; `rate_limit_per_minute` overrides
    )
    idempotency_key_limit = REQUEST_ID_LIMIT

    default_pull_minutes = 15

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.name = config.name
        self.settings = {**DEFAULTS, **dict(config.settings)}
        realm = self.settings.get("realm_id")
        if not realm:
            raise ConfigError(config.where("realm_id"), "required setting is missing (the QuickBooks company id)")
        self.company = f"{str(self.settings['base_url']).rstrip('/')}/v3/company/{realm}"
        self.auth = RefreshingOAuth2(str(self.settings["token_url"]), store_for(config), client_auth="basic")
        self._customers: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"QuickBooksConnector(name={self.name!r}, company={self.company!r})"

    def subscribes(self) -> frozenset[str]:
        return self.config.events or frozenset(DEFAULT_EVENTS)

    async def check(self, client: httpx.AsyncClient) -> str:
        """`dispatch integrations check`: the token works for this company."""
        realm = str(self.settings["realm_id"])
        response = await client.get(
            f"{self.company}/companyinfo/{realm}", headers={"Accept": "application/json"}, auth=self.auth
        )
        if (verdict := self._verdict(response, "company info")) is not None:
            raise RuntimeError(f"QuickBooks refused: {verdict.message}")
        name = ((json_body(response) or {}).get("CompanyInfo") or {}).get("CompanyName", "?")
        return f"authorised for {name}"

    # -- map ---------------------------------------------------------------------------------------

    def _lookup(self, table: str, *keys: str) -> str | None:
        values = self.config.lookups.get(table, {})
        for key in keys:
            if key in values:
                return str(values[key])
        return None

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        if event.type in ("invoice.drafted", "credit_note.issued"):
            return self.requests_for(invoice_source(context.db, event), event.seq, event.type)
        if event.type == "invoice.voided":
            number = str(event.payload["ref"])[:DOC_NUMBER_LIMIT]
            rid = f"dsp-{request_id(self.name, event.seq, number)}"
            return [
                OutboundRequest(
                    method="POST",
                    url=f"{self.company}/invoice",
                    headers={"Content-Type": "application/json", "Accept": "application/json"},
                    json={"DocNumber": number},  # Id and SyncToken are looked up when sending
                    params={"requestid": rid, "operation": "void", "minorversion": str(self.settings["minorversion"])},
                    idempotency_key=rid,
                    description=f"QuickBooks void of invoice {number}",
                )
            ]
        return []

    def invoice_body(self, source: Mapping[str, Any], customer_ref: Mapping[str, str]) -> dict[str, Any]:
        invoice = source["invoice"]
        job = source.get("job") or {}
        lines: list[dict[str, Any]] = []
        for ln in invoice["lines"]:
            kind = str(ln["kind"])
            item = self._lookup("items", f"part:{ln.get('sku')}", kind, str(job.get("type", "")))
            if item is None:
                raise MappingError(
                    self.config.where("lookups.items"),
                    f'no QuickBooks item for line kind {kind!r} (add {kind} = "<item id>")',
                )
            description = str(ln["description"])
            if ln.get("covered"):
                description = f"{description} (covered: {ln.get('covered_reason') or 'no charge'})"
            detail: dict[str, Any] = {
                "ItemRef": {"value": item},
                "UnitPrice": 0.0 if ln.get("covered") else money(ln["unit_price"]),
                "Qty": quantity(ln["quantity"]),
            }
            tax_code = self._lookup("tax_codes", str(Decimal(str(ln["tax_rate"])).normalize()), str(ln["tax_rate"]))
            if tax_code is not None:
                detail["TaxCodeRef"] = {"value": tax_code}
            lines.append(
                {
                    "Description": description[:4000],
                    "Amount": 0.0 if ln.get("covered") else money(ln["amount"]),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail,
                }
            )
        issued = date.fromisoformat(str(invoice["issued_on"]))
        terms = int((source.get("customer") or {}).get("payment_terms_days") or 30)
        body: dict[str, Any] = {
            "DocNumber": str(invoice["ref"])[:DOC_NUMBER_LIMIT],
            "TxnDate": issued.isoformat(),
            "CurrencyRef": {"value": str(invoice["currency"])},
            "PrivateNote": f"Dispatch job {invoice.get('job_ref')}"[:4000],
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": money(invoice["tax"])},
            "CustomerRef": dict(customer_ref),
            "DueDate": (issued + timedelta(days=terms)).isoformat(),
        }
        # `[connectors.NAME.mapping.invoice]` writes extra or overriding fields of the Invoice.
        return apply_mapping(self.config.mapping("invoice"), dict(source), base=body)

    def requests_for(
        self, source: Mapping[str, Any], seq: int, event_type: str = "invoice.drafted"
    ) -> list[OutboundRequest]:
        invoice = source["invoice"]
        credit = event_type == "credit_note.issued"
        customer = source.get("customer") or {}
        known = (customer.get("refs") or {}).get(self.name)
        ref = (
            {"value": str(known), "name": str(customer.get("name", ""))}
            if known
            else {"value": f"{PLACEHOLDER}{customer.get('id')}", "name": str(customer.get("name", ""))}
        )
        rid = f"dsp-{request_id(self.name, seq, invoice['ref'])}"
        return [
            OutboundRequest(
                method="POST",
                url=f"{self.company}/{'creditmemo' if credit else 'invoice'}",
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                json=self.invoice_body(source, ref),
                params={"requestid": rid, "minorversion": str(self.settings["minorversion"])},
                idempotency_key=rid,
                description=f"QuickBooks {'credit memo' if credit else 'invoice'} {invoice['ref']} "
                f"for {customer.get('name', '?')}",
            )
        ]

    # -- send --------------------------------------------------------------------------------------

    def _verdict(self, response: httpx.Response, what: str) -> SendResult | None:
        """A failure verdict, or None when the answer is a success to read further."""
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers)
            return SendResult(
                Outcome.RETRY,
                429,
                body_text(response),
                retry_after=wait if wait is not None else DEFAULT_THROTTLE_SECONDS,
                message="QuickBooks throttled the request",
            )
        data = json_body(response)
        fault = fault_of(data)
        if fault is not None:
            errors = fault.get("Error") or [{}]
            first = errors[0] if isinstance(errors, list) and errors else {}
            text = f"{what}: {fault.get('type')} {first.get('code')}: {first.get('Message')} ({first.get('Detail')})"
            if fault.get("type") in RETRY_FAULTS or response.status_code >= 500:
                return SendResult(Outcome.RETRY, response.status_code, body_text(response), message=text)
            return SendResult(Outcome.FAILED, response.status_code, body_text(response), message=text)
        if not 200 <= response.status_code < 300:
            return classify(response, what=what)
        if data is None:
            return malformed(response, f"QuickBooks ({what})")
        return None

    async def _customer_id(self, client: httpx.AsyncClient, our_id: str, name: str, rid: str) -> str | SendResult:
        """Match the customer by DisplayName, or create it with a requestid of its own."""
        if our_id in self._customers:
            return self._customers[our_id]
        query = f"select Id, DisplayName from Customer where DisplayName = {_qbo_literal(name)}"
        response = await client.get(
            f"{self.company}/query",
            params={"query": query, "minorversion": str(self.settings["minorversion"])},
            headers={"Accept": "application/json"},
            auth=self.auth,
        )
        if (verdict := self._verdict(response, "customer query")) is not None:
            return verdict
        found = ((json_body(response) or {}).get("QueryResponse") or {}).get("Customer") or []
        if found:
            self._customers[our_id] = str(found[0]["Id"])
            return self._customers[our_id]
        response = await client.post(
            f"{self.company}/customer",
            params={
                "requestid": f"{rid[: REQUEST_ID_LIMIT - 2]}-c",
                "minorversion": str(self.settings["minorversion"]),
            },
            json={"DisplayName": name[:500]},
            headers={"Accept": "application/json"},
            auth=self.auth,
        )
        if (verdict := self._verdict(response, "customer create")) is not None:
            return verdict
        created = (json_body(response) or {}).get("Customer") or {}
        if not created.get("Id"):
            return malformed(response, "QuickBooks customer create")
        self._customers[our_id] = str(created["Id"])
        return self._customers[our_id]

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        return await guarded(lambda: self._send(request, client))

    async def _void_target(self, client: httpx.AsyncClient, number: str) -> dict[str, str] | SendResult | None:
        """The Id and SyncToken of our invoice `number` in QuickBooks (None: it never got there)."""
        response = await client.get(
            f"{self.company}/query",
            params={
                "query": f"select Id, SyncToken from Invoice where DocNumber = {_qbo_literal(number)}",
                "minorversion": str(self.settings["minorversion"]),
            },
            headers={"Accept": "application/json"},
            auth=self.auth,
        )
        if (verdict := self._verdict(response, "invoice query")) is not None:
            return verdict
        found = ((json_body(response) or {}).get("QueryResponse") or {}).get("Invoice") or []
        return {"Id": str(found[0]["Id"]), "SyncToken": str(found[0]["SyncToken"])} if found else None

    async def _send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        body = request.json
        if request.params.get("operation") == "void":
            target = await self._void_target(client, str((body or {}).get("DocNumber")))
            if isinstance(target, SendResult):
                return target
            if target is None:
                return SendResult(Outcome.DELIVERED, 200, "", message=f"{request.description}: not in QuickBooks")
            body = target
        customer = (body or {}).get("CustomerRef") or {}
        if str(customer.get("value", "")).startswith(PLACEHOLDER):
            our_id = str(customer["value"])[len(PLACEHOLDER) :]
            found = await self._customer_id(
                client, our_id, str(customer.get("name") or our_id), str(request.params.get("requestid", ""))
            )
            if isinstance(found, SendResult):
                return found
            body = {**body, "CustomerRef": {**customer, "value": found}}
        resolved = OutboundRequest(
            request.method, request.url, request.headers, body, request.content, request.params, request.idempotency_key
        )
        response = await send_request(client, resolved, self.auth)
        if (verdict := self._verdict(response, request.description)) is not None:
            return verdict
        noun = "CreditMemo" if request.url.endswith("/creditmemo") else "Invoice"
        created = (json_body(response) or {}).get(noun) or {}
        if not created.get("Id"):
            return malformed(response, f"QuickBooks {noun}")
        return SendResult(
            Outcome.DELIVERED,
            response.status_code,
            body_text(response),
            external_id=str(created["Id"]),
            message=request.description,
        )

    # -- pull --------------------------------------------------------------------------------------

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        """Invoices and payments changed since `since` (QuickBooks keeps 30 days of changes)."""
        actor = Actor(login=f"sync:{self.name}", role=Role.ADMIN, source=f"sync:{self.name}")
        now = datetime.now(UTC)
        start = since or now - timedelta(days=30)
        result = PullResult(cursor=start.isoformat())
        response = await client.get(
            f"{self.company}/cdc",
            params={
                "entities": "Payment,Invoice",
                "changedSince": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "minorversion": str(self.settings["minorversion"]),
            },
            headers={"Accept": "application/json"},
            auth=self.auth,
        )
        verdict = self._verdict(response, "change data capture")
        if verdict is not None:
            result.errors.append(verdict.message)
            return result
        entities: dict[str, list[dict[str, Any]]] = {"Invoice": [], "Payment": []}
        for block in (json_body(response) or {}).get("CDCResponse") or []:
            for query in block.get("QueryResponse") or []:
                for kind in entities:
                    entities[kind].extend(query.get(kind) or [])
        invoices = [
            PulledInvoice(
                external_id=str(i["Id"]),
                number=i.get("DocNumber"),
                customer_external_id=str((i.get("CustomerRef") or {}).get("value") or "") or None,
                currency=(i.get("CurrencyRef") or {}).get("value"),
                total=Decimal(str(i.get("TotalAmt", "0"))),
                balance=Decimal(str(i.get("Balance", "0"))),
                voided=i.get("status") == "Deleted" or "Voided" in str(i.get("PrivateNote", "")),
            )
            for i in entities["Invoice"]
            if i.get("status") != "Deleted"
        ]
        payments = [
            PulledPayment(
                external_id=str(p["Id"]),
                invoice_external_id=str(link["TxnId"]),
                amount=Decimal(str(line.get("Amount", "0"))),
                paid_on=date.fromisoformat(str(p.get("TxnDate"))[:10]),
                currency=(p.get("CurrencyRef") or {}).get("value"),
            )
            for p in entities["Payment"]
            if p.get("status") != "Deleted"
            for line in p.get("Line") or []
            for link in line.get("LinkedTxn") or []
            if link.get("TxnType") == "Invoice"
        ]
        counts = record_invoice_states(db, actor, self.name, invoices, payments)
        result.created, result.updated, result.skipped = counts.created, counts.updated, counts.unchanged
        result.errors.extend(counts.errors)
        result.cursor = now.isoformat()
        return result
