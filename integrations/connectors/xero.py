"""Xero accounting: a drafted invoice becomes an ACCREC invoice, and payments come back. A voided draft voids it
(found by its InvoiceNumber, ours); a credit note becomes an ACCRECCREDIT credit note with the credited lines.

Every write carries `Xero-tenant-id` and an `Idempotency-Key` (at most 128 characters, stable per
delivery): Xero answers a repeat with the first result instead of a second invoice. The contact is
the customer's stored ContactID, or its name, which Xero matches to an existing contact or creates.
Line items take ItemCode / AccountCode / TaxType from lookups; covered lines go at zero with the
reason in their description. Xero throttles with 429 and `Retry-After`. `pull` reads contacts and
invoices modified since the cursor (`If-Modified-Since`, a UTC time with a Z) page by page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from data.actor import Actor
from data.db import Database
from data.feed import EventRecord
from data.models.org import Role
from data.services.crm_sync import (
    PulledCustomer,
    PulledInvoice,
    PulledPayment,
    SyncCounts,
    record_invoice_states,
    upsert_customers,
)
from integrations.config import ConnectorConfig
from integrations.connector import MappingContext, OutboundRequest, Outcome, PullResult, SendResult
from integrations.connectors.quickbooks import money, quantity
from integrations.connectors.responses import (
    DEFAULT_THROTTLE_SECONDS,
    body_text,
    classify,
    guarded,
    json_body,
    malformed,
    retry_after_seconds,
    send_request,
    utc_iso,
)
from integrations.connectors.sources import invoice_source
from integrations.mapping import ConfigError, MappingError, apply_mapping
from integrations.oauth import RefreshingOAuth2
from integrations.secrets import store_for

IDEMPOTENCY_KEY_LIMIT = 128
PAGE_SIZE = 100
TOKEN_URL = "https://identity.xero.com/connect/token"
DEFAULTS: dict[str, Any] = {
    "base_url": "https://api.xero.com/api.xro/2.0",
    "token_url": TOKEN_URL,
    "invoice_status": "AUTHORISED",
    "line_amount_types": "Exclusive",
}
# A reopened job's bill: a voided draft voids the Xero invoice; an issued one is cancelled by an ACCRECCREDIT note.
DEFAULT_EVENTS = ("invoice.drafted", "invoice.voided", "credit_note.issued")
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def xero_time(value: Any) -> datetime | None:
    """Xero's `/Date(1573755038314+0000)/` or an ISO string, as an aware UTC datetime."""
    if not value:
        return None
    text = str(value)
    match = _MS_DATE.fullmatch(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def xero_verdict(response: httpx.Response, what: str) -> SendResult | None:
    """A failure verdict for any Xero API answer, or None when it is a readable success."""
    if response.status_code == 429:
        wait = retry_after_seconds(response.headers)
        limits = ", ".join(
            f"{name}={response.headers[name]}"
            for name in ("X-MinLimit-Remaining", "X-DayLimit-Remaining", "X-AppMinLimit-Remaining")
            if name in response.headers
        )
        return SendResult(
            Outcome.RETRY,
            429,
            body_text(response),
            retry_after=wait if wait is not None else DEFAULT_THROTTLE_SECONDS,
            message=f"Xero rate limit ({limits or response.headers.get('X-Rate-Limit-Problem', 'no details')})",
        )
    if not 200 <= response.status_code < 300:
        verdict = classify(response, what=what)
        data = json_body(response)
        if response.status_code == 400 and isinstance(data, dict):
            errors = [e.get("Message") for el in data.get("Elements") or [] for e in el.get("ValidationErrors") or []]
            detail = "; ".join(str(e) for e in errors) or data.get("Message") or data.get("detail") or ""
            return SendResult(verdict.outcome, 400, verdict.response_body, message=f"{what}: {detail}")
        return verdict
    if json_body(response) is None:
        return malformed(response, f"Xero ({what})")
    return None


class XeroApp:
    """What Xero's accounting and payroll APIs share: tenant header, Idempotency-Key, OAuth2, lookups."""

    rate_limit_per_minute = 60.0  # Xero: 60 calls a minute per tenant; `rate_limit_per_minute` overrides

    idempotency_key_limit = IDEMPOTENCY_KEY_LIMIT
    default_pull_minutes = 15
    defaults: Mapping[str, Any] = DEFAULTS
    default_events: tuple[str, ...] = DEFAULT_EVENTS

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.name = config.name
        self.settings = {**self.defaults, **dict(config.settings)}
        if not self.settings.get("tenant_id"):
            raise ConfigError(config.where("tenant_id"), "required setting is missing (GET /connections lists it)")
        self.base = str(self.settings["base_url"]).rstrip("/")
        self.auth = RefreshingOAuth2(str(self.settings["token_url"]), store_for(config), client_auth="basic")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base={self.base!r})"

    def subscribes(self) -> frozenset[str]:
        return self.config.events or frozenset(self.default_events)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Xero-tenant-id": str(self.settings["tenant_id"]), "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key[:IDEMPOTENCY_KEY_LIMIT]
        return headers

    def _lookup(self, table: str, *keys: str) -> str | None:
        values = self.config.lookups.get(table, {})
        return next((str(values[k]) for k in keys if k in values), None)


class XeroConnector(XeroApp):
    async def check(self, client: httpx.AsyncClient) -> str:
        """`dispatch integrations check`: the token works for this tenant."""
        response = await client.get(f"{self.base}/Organisation", headers=self._headers(), auth=self.auth)
        if (verdict := xero_verdict(response, "organisation")) is not None:
            raise RuntimeError(f"Xero refused: {verdict.message}")
        orgs = (json_body(response) or {}).get("Organisations") or [{}]
        return f"authorised for {orgs[0].get('Name', '?')}"

    # -- map ---------------------------------------------------------------------------------------

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        key = f"dispatch-{self.name}-{event.seq}-{event.type.partition('.')[0]}"
        if event.type == "invoice.drafted":
            return [self.invoice_request(invoice_source(context.db, event), key)]
        if event.type == "invoice.voided":
            return [self.void_request(event.payload, key)]
        if event.type == "credit_note.issued":
            return [self.credit_note_request(invoice_source(context.db, event), key)]
        return []

    def void_request(self, payload: Mapping[str, Any], key: str) -> OutboundRequest:
        """Xero finds the invoice by its number (ours): no need to wait for its InvoiceID."""
        number = str(payload["ref"])
        return OutboundRequest(
            method="POST",
            url=f"{self.base}/Invoices",
            headers={**self._headers(key), "Content-Type": "application/json"},
            json={"Invoices": [{"InvoiceNumber": number, "Status": "VOIDED"}]},
            params={"summarizeErrors": "true"},
            idempotency_key=key,
            description=f"Xero void of invoice {number}",
        )

    def credit_note_request(self, source: Mapping[str, Any], key: str) -> OutboundRequest:
        """The credit note as an ACCRECCREDIT for the invoice's contact, with the credited invoice's lines."""
        note = source["invoice"]
        invoice = self.invoice_request(source, key).json["Invoices"][0]
        body = {
            "Type": "ACCRECCREDIT",
            "Contact": invoice["Contact"],
            "CreditNoteNumber": str(note["ref"]),
            "Reference": f"{note['invoice_ref']}: {note.get('reason') or ''}"[:255],
            "Date": invoice["Date"],
            "CurrencyCode": invoice["CurrencyCode"],
            "LineAmountTypes": invoice["LineAmountTypes"],
            "Status": "AUTHORISED",
            "LineItems": invoice["LineItems"],
        }
        return OutboundRequest(
            method="PUT",
            url=f"{self.base}/CreditNotes",
            headers={**self._headers(key), "Content-Type": "application/json"},
            json={"CreditNotes": [body]},
            params={"summarizeErrors": "true"},
            idempotency_key=key,
            description=f"Xero credit note {note['ref']} for invoice {note['invoice_ref']}",
        )

    def line_item(self, line: Mapping[str, Any], job_type: str) -> dict[str, Any]:
        kind = str(line["kind"])
        keys = (f"part:{line.get('sku')}", kind, job_type)
        account = self._lookup("accounts", *keys) or self.settings.get("sales_account")
        if account is None:
            raise MappingError(
                self.config.where("lookups.accounts"),
                f'no Xero account code for line kind {kind!r} (add {kind} = "<code>" or set sales_account)',
            )
        covered = bool(line.get("covered"))
        description = str(line["description"])
        if covered:
            description = f"{description} (covered: {line.get('covered_reason') or 'no charge'})"
        item: dict[str, Any] = {
            "Description": description[:4000],
            "Quantity": quantity(line["quantity"]),
            "UnitAmount": 0.0 if covered else money(line["unit_price"]),
            "LineAmount": 0.0 if covered else money(line["amount"]),
            "AccountCode": str(account),
        }
        code = self._lookup("items", *keys)
        if code is not None:
            item["ItemCode"] = code
        rate = str(Decimal(str(line["tax_rate"])).normalize())
        tax_type = self._lookup("tax_types", rate, str(line["tax_rate"])) or self.settings.get("tax_type")
        if tax_type is not None:
            item["TaxType"] = str(tax_type)
        return item

    def invoice_request(self, source: Mapping[str, Any], key: str) -> OutboundRequest:
        invoice = source["invoice"]
        customer = source.get("customer") or {}
        job_type = str((source.get("job") or {}).get("type", ""))
        contact_id = (customer.get("refs") or {}).get(self.name)
        contact = {"ContactID": str(contact_id)} if contact_id else {"Name": str(customer.get("name", ""))[:255]}
        issued = date.fromisoformat(str(invoice["issued_on"]))
        terms = int(customer.get("payment_terms_days") or 30)
        body: dict[str, Any] = {
            "Type": "ACCREC",
            "Contact": contact,
            "InvoiceNumber": str(invoice["ref"]),
            "Reference": str(invoice.get("job_ref") or "")[:255],
            "Date": issued.isoformat(),
            "DueDate": (issued + timedelta(days=terms)).isoformat(),
            "CurrencyCode": str(invoice["currency"]),
            "LineAmountTypes": str(self.settings["line_amount_types"]),
            "Status": str(self.settings["invoice_status"]),
            "LineItems": [self.line_item(ln, job_type) for ln in invoice["lines"]],
        }
        # `[connectors.NAME.mapping.invoice]` writes extra or overriding fields of the Invoice.
        body = apply_mapping(self.config.mapping("invoice"), dict(source), base=body)
        return OutboundRequest(
            method="PUT",
            url=f"{self.base}/Invoices",
            headers={**self._headers(key), "Content-Type": "application/json"},
            json={"Invoices": [body]},
            params={"summarizeErrors": "true"},
            idempotency_key=key,
            description=f"Xero invoice {invoice['ref']} for {customer.get('name', '?')}",
        )

    # -- send --------------------------------------------------------------------------------------

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        return await guarded(lambda: self._send(request, client))

    async def _send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        response = await send_request(client, request, self.auth)
        if (verdict := xero_verdict(response, request.description)) is not None:
            return verdict
        credit = request.url.endswith("/CreditNotes")
        noun, id_key = ("CreditNotes", "CreditNoteID") if credit else ("Invoices", "InvoiceID")
        documents = (json_body(response) or {}).get(noun)
        if not isinstance(documents, list) or not documents or not documents[0].get(id_key):
            return malformed(response, f"Xero {noun}")
        first = documents[0]
        if first.get("HasErrors"):
            errors = "; ".join(str(e.get("Message")) for e in first.get("ValidationErrors") or [])
            return SendResult(Outcome.FAILED, response.status_code, body_text(response), message=errors)
        return SendResult(
            Outcome.DELIVERED,
            response.status_code,
            body_text(response),
            external_id=str(first[id_key]),
            message=request.description,
        )

    # -- pull --------------------------------------------------------------------------------------

    async def _pages(
        self, client: httpx.AsyncClient, path: str, key: str, since: datetime | None, params: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        headers = self._headers()
        if since is not None:
            headers["If-Modified-Since"] = utc_iso(since)
        page = 1
        while True:
            response = await client.get(
                f"{self.base}/{path}",
                params={**params, "page": str(page), "pageSize": str(PAGE_SIZE)},
                headers=headers,
                auth=self.auth,
            )
            if response.status_code == 304:
                return rows
            if (verdict := xero_verdict(response, f"{path} page {page}")) is not None:
                raise PullFailed(verdict.message)
            batch = (json_body(response) or {}).get(key)
            if not isinstance(batch, list):
                raise PullFailed(f"Xero {path} answered without {key}")
            rows.extend(batch)
            if len(batch) < PAGE_SIZE:
                return rows
            page += 1

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        actor = Actor(login=f"sync:{self.name}", role=Role.ADMIN, source=f"sync:{self.name}")
        result = PullResult(cursor=since.isoformat() if since else None)
        try:
            contacts = await self._pages(client, "Contacts", "Contacts", since, {"includeArchived": "false"})
            invoices = await self._pages(
                client, "Invoices", "Invoices", since, {"Statuses": "AUTHORISED,PAID,VOIDED", "where": 'Type=="ACCREC"'}
            )
        except (PullFailed, httpx.HTTPError) as err:
            result.errors.append(str(err))
            return result
        counts = SyncCounts()
        customers = [
            PulledCustomer(
                str(c["ContactID"]),
                str(c.get("Name") or ""),
                email=c.get("EmailAddress") or None,
                phone=next(
                    (
                        " ".join(
                            x for x in (p.get("PhoneCountryCode"), p.get("PhoneAreaCode"), p.get("PhoneNumber")) if x
                        )
                        for p in c.get("Phones") or []
                        if p.get("PhoneType") == "DEFAULT" and p.get("PhoneNumber")
                    ),
                    None,
                ),
            )
            for c in contacts
            if c.get("IsCustomer", True) and c.get("ContactStatus", "ACTIVE") == "ACTIVE"
        ]
        counts.add(upsert_customers(db, actor, self.name, customers))
        pulled = [
            PulledInvoice(
                external_id=str(i["InvoiceID"]),
                number=i.get("InvoiceNumber"),
                customer_external_id=str((i.get("Contact") or {}).get("ContactID") or "") or None,
                currency=i.get("CurrencyCode"),
                total=Decimal(str(i.get("Total", "0"))),
                balance=Decimal(str(i.get("AmountDue", "0"))),
                voided=i.get("Status") == "VOIDED",
                updated_at=xero_time(i.get("UpdatedDateUTC")),
            )
            for i in invoices
        ]
        payments = [
            PulledPayment(
                external_id=str(p["PaymentID"]),
                invoice_external_id=str(i["InvoiceID"]),
                amount=Decimal(str(p.get("Amount", "0"))),
                paid_on=(xero_time(p.get("Date")) or datetime.now(UTC)).date(),
                currency=i.get("CurrencyCode"),
            )
            for i in invoices
            for p in i.get("Payments") or []
            if p.get("PaymentID")
        ]
        counts.add(record_invoice_states(db, actor, self.name, pulled, payments))
        result.add(counts)
        stamps = [t for t in (xero_time(r.get("UpdatedDateUTC")) for r in (*contacts, *invoices)) if t is not None]
        if stamps:
            result.cursor = max(stamps).isoformat()
        return result


class PullFailed(Exception):
    """A pull stopped on an answer it cannot use; the cursor stays where it was."""
