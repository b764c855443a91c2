"""HubSpot CRM: a completed job closes its ticket with the resolution and leaves the technician's notes; a reopened
job moves the ticket back to `reopened_stage`.

Requests use HubSpot's date-versioned CRM paths (`/crm/objects/2026-03/...`). The ticket is upserted
by a unique custom property (`dispatch_job_ref`), so a repeat changes nothing. A note cannot be
upserted by a property of ours, so its body carries a marker token and the note is searched for
before it is created. Association type ids are looked up at run time from the association labels
endpoint and cached. `pull` brings companies (customers) and contacts modified since a cursor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

import httpx

from data.actor import Actor
from data.db import Database
from data.feed import EventRecord
from data.models.org import Role
from data.services.crm_offers import PulledOffer, upsert_offers
from data.services.crm_sync import PulledCustomer, SyncCounts, upsert_contacts, upsert_customers
from integrations.config import ConnectorConfig
from integrations.connector import MappingContext, OutboundRequest, Outcome, PullResult, SendResult
from integrations.connectors.crm_contacts import pulled_contacts
from integrations.connectors.crm_offers import decimal_or_none, offer_note
from integrations.connectors.responses import (
    classify,
    guarded,
    json_body,
    malformed,
    retry_after_seconds,
    send_request,
)
from integrations.connectors.sources import job_source
from integrations.mapping import apply_mapping
from integrations.oauth import RefreshingOAuth2
from integrations.secrets import store_for

SEARCH_CAP = 10_000  # HubSpot's search returns at most this many results per query
PAGE_SIZE = 100
PLACEHOLDER = "$hubspot/"  # resolved at send time: $hubspot/ticket/<ref>, $hubspot/type/<object>

DEFAULTS: dict[str, Any] = {
    "base_url": "https://api.hubapi.com",
    "api_version": "2026-03",
    "token_url": "https://api.hubapi.com/oauth/v1/token",
    "id_property": "dispatch_job_ref",
    "resolution_property": "dispatch_resolution",
    "pipeline": "0",
    "closed_stage": "4",
    "reopened_stage": "1",  # where a ticket goes back when its job is reopened (the default pipeline's "New")
    "offer_followup_property": "dispatch_field_followup",
    "offer_response_property": "dispatch_field_response",
    "offer_note_property": "dispatch_field_note",
    "offer_accepted_stage": "",  # e.g. "closedwon": an accepted offer also moves the deal to this stage
}
DEFAULT_EVENTS = ("job.completed", "job.reopened", "offer.responded")


def _hours(ms: str | None) -> float | None:
    try:
        return float(ms) / 1000.0 if ms else None
    except ValueError:
        return None


def _ms(when: datetime) -> str:
    return str(int(when.astimezone(UTC).timestamp() * 1000))


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # a bare date is a UTC midnight


class HubSpotConnector:
    """Behind the Connector protocol; settings come from the integrations config, secrets from the store."""

    rate_limit_per_minute = (
        600.0  # HubSpot: 100 requests every 10 seconds (public apps); `rate_limit_per_minute` overrides
    )

    default_pull_minutes = 15

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.name = config.name
        self.settings = {**DEFAULTS, **dict(config.settings)}
        self.base = str(self.settings["base_url"]).rstrip("/")
        self.version = str(self.settings["api_version"])
        self.auth = RefreshingOAuth2(str(self.settings["token_url"]), store_for(config), client_auth="body")
        self._association_types: dict[tuple[str, str], int] = {}

    def __repr__(self) -> str:
        return f"HubSpotConnector(name={self.name!r}, base={self.base!r})"

    def subscribes(self) -> frozenset[str]:
        return self.config.events or frozenset(DEFAULT_EVENTS)

    def _url(self, path: str) -> str:
        return f"{self.base}/crm/objects/{self.version}/{path}"

    async def check(self, client: httpx.AsyncClient) -> str:
        """`dispatch integrations check`: the token works and the association labels are readable."""
        found = await self._association_type(client, "tickets")
        if isinstance(found, SendResult):
            raise RuntimeError(f"HubSpot refused: HTTP {found.status_code} {found.message}")
        return f"authorised; notes->tickets association type {found}"

    # -- map ---------------------------------------------------------------------------------------

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        if event.type == "offer.responded":
            return self.offer_requests(event.payload)
        if event.type == "job.reopened":
            return [self.reopen_request(event.payload)]
        if event.type not in ("job.completed", "job.closed"):
            return []
        source = job_source(context.db, event)
        return self.requests_for(source)

    def requests_for(self, source: Mapping[str, Any]) -> list[OutboundRequest]:
        """The ticket upsert and (when there is anything to say) the note, from a job source dict."""
        job = source.get("job")
        if not job:
            return []
        ref = str(job["ref"])
        report = source.get("report") or {}
        resolution = " ".join(p for p in (report.get("resolution_code"), report.get("notes")) if p) or "Completed"
        properties: dict[str, Any] = {
            "subject": f"{ref}: {job['summary']}"[:250],
            "hs_pipeline": str(self.settings["pipeline"]),
            "hs_pipeline_stage": str(self.settings["closed_stage"]),
            str(self.settings["resolution_property"]): resolution[:1000],
        }
        # `[connectors.NAME.mapping.ticket]` writes into the ticket's properties (custom fields, overrides).
        properties = apply_mapping(self.config.mapping("ticket"), dict(source), base=properties)
        ticket = self._ticket_upsert(ref, properties, f"{self.settings['id_property']}={ref}", "close")
        requests = [ticket]
        bodies = [n["body"] for n in source.get("notes", []) if n.get("body")]
        if report.get("notes"):
            bodies.insert(0, str(report["notes"]))
        if bodies:
            note_ids = ",".join(str(n.get("id")) for n in source.get("notes", []))
            marker = "dispatchnote" + hashlib.sha256(f"{ref}|{note_ids}".encode()).hexdigest()[:20]
            technician = (source.get("technician") or {}).get("name", "technician")
            body = f"<p><b>{escape(ref)}</b> notes from {escape(str(technician))}:</p>" + "".join(
                f"<p>{escape(b)}</p>" for b in bodies
            )
            associations: list[dict[str, Any]] = [
                {
                    "to": {"id": f"{PLACEHOLDER}ticket/{ref}"},
                    "types": [
                        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": f"{PLACEHOLDER}type/tickets"}
                    ],
                }
            ]
            contacts = (source.get("customer") or {}).get("contacts", [])
            contact_id = next((c["refs"][self.name] for c in contacts if self.name in c.get("refs", {})), None)
            if contact_id:
                associations.append(
                    {
                        "to": {"id": str(contact_id)},
                        "types": [
                            {
                                "associationCategory": "HUBSPOT_DEFINED",
                                "associationTypeId": f"{PLACEHOLDER}type/contacts",
                            }
                        ],
                    }
                )
            when = report.get("actual_end") or job.get("actual_end") or datetime.now(UTC).isoformat()
            requests.append(
                OutboundRequest(
                    method="POST",
                    url=self._url("notes"),
                    headers={"Content-Type": "application/json"},
                    json={
                        "properties": {"hs_note_body": f"{body}<p>{marker}</p>", "hs_timestamp": str(when)},
                        "associations": associations,
                    },
                    idempotency_key=marker,
                    description=f"technician notes on HubSpot ticket {ref}",
                )
            )
        return requests

    def reopen_request(self, payload: Mapping[str, Any]) -> OutboundRequest:
        """A mistaken completion undone: the ticket goes back to `reopened_stage`, saying why."""
        ref = str(payload["ref"])
        properties = {
            "hs_pipeline": str(self.settings["pipeline"]),
            "hs_pipeline_stage": str(self.settings["reopened_stage"]),
            str(self.settings["resolution_property"]): f"Reopened: {payload.get('reason') or ''}"[:1000],
        }
        key = f"{self.settings['id_property']}={ref} reopened {payload.get('at')}"
        return self._ticket_upsert(ref, properties, key, "reopen")

    def _ticket_upsert(self, ref: str, properties: Mapping[str, Any], key: str, verb: str) -> OutboundRequest:
        """The ticket of job `ref`, found (or made) by our id property, with these properties."""
        return OutboundRequest(
            method="POST",
            url=self._url("tickets/batch/upsert"),
            headers={"Content-Type": "application/json"},
            json={"inputs": [{"idProperty": str(self.settings["id_property"]), "id": ref, "properties": properties}]},
            idempotency_key=key,
            description=f"{verb} HubSpot ticket {ref}",
        )

    def offer_requests(self, offer: Mapping[str, Any]) -> list[OutboundRequest]:
        """The technician's answer to one of this portal's deals, as properties of the deal."""
        if offer.get("system") != self.name or offer.get("kind") != "deal":
            return []
        response = str(offer["response"])
        properties = {
            str(self.settings["offer_response_property"]): response,
            str(self.settings["offer_note_property"]): offer_note(offer)[:65536],
        }
        if response == "accepted" and self.settings["offer_accepted_stage"]:
            properties["dealstage"] = str(self.settings["offer_accepted_stage"])
        return [
            OutboundRequest(
                method="PATCH",
                url=self._url(f"deals/{offer['external_id']}"),
                headers={"Content-Type": "application/json"},
                json={"properties": properties},
                idempotency_key=f"deal {offer['external_id']} {response}",
                description=f"deal {offer['external_id']}: customer {response}",
            )
        ]

    # -- send --------------------------------------------------------------------------------------

    def _throttle(self, response: httpx.Response) -> SendResult:
        wait = retry_after_seconds(response.headers)
        if wait is None:
            wait = _hours(response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")) or 10.0
        remaining = response.headers.get("X-HubSpot-RateLimit-Remaining")
        return SendResult(
            Outcome.RETRY,
            429,
            response.text[:4000],
            retry_after=wait,
            message=f"HubSpot rate limit (remaining {remaining if remaining is not None else '?'})",
        )

    def _verdict(self, response: httpx.Response, external_id: str | None = None, what: str = "") -> SendResult:
        if response.status_code == 429:
            return self._throttle(response)
        return classify(response, external_id=external_id, what=what)

    async def _association_type(self, client: httpx.AsyncClient, to_type: str) -> int | SendResult:
        key = ("notes", to_type)
        if key in self._association_types:
            return self._association_types[key]
        url = f"{self.base}/crm/associations/{self.version}/notes/{to_type}/labels"
        response = await client.get(url, auth=self.auth)
        if response.status_code != 200:
            return self._verdict(response, what=f"association labels notes->{to_type}")
        body = json_body(response)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            return malformed(response, "HubSpot association labels")
        for item in results:
            if item.get("category") == "HUBSPOT_DEFINED" and not item.get("label"):
                self._association_types[key] = int(item["typeId"])
                return self._association_types[key]
        return SendResult(Outcome.FAILED, 200, response.text[:4000], message=f"no default notes->{to_type} association")

    async def _ticket_id(self, client: httpx.AsyncClient, ref: str) -> str | SendResult:
        response = await client.get(
            self._url(f"tickets/{ref}"), params={"idProperty": str(self.settings["id_property"])}, auth=self.auth
        )
        if response.status_code == 404:
            return SendResult(Outcome.RETRY, 404, response.text[:4000], message=f"ticket {ref} not yet in HubSpot")
        if response.status_code != 200:
            return self._verdict(response, what=f"ticket {ref}")
        body = json_body(response)
        if not isinstance(body, dict) or "id" not in body:
            return malformed(response, "HubSpot ticket read")
        return str(body["id"])

    async def _resolve(self, client: httpx.AsyncClient, value: Any) -> Any:
        """Replace `$hubspot:...` placeholders with the ids HubSpot knows now."""
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                resolved = await self._resolve(client, v)
                if isinstance(resolved, SendResult):
                    return resolved
                out[k] = resolved
            return out
        if isinstance(value, list):
            items = []
            for v in value:
                resolved = await self._resolve(client, v)
                if isinstance(resolved, SendResult):
                    return resolved
                items.append(resolved)
            return items
        if isinstance(value, str) and value.startswith(PLACEHOLDER):
            kind, _, arg = value[len(PLACEHOLDER) :].partition("/")
            if kind == "ticket":
                return await self._ticket_id(client, arg)
            if kind == "type":
                return await self._association_type(client, arg)
        return value

    async def _existing_note(self, client: httpx.AsyncClient, marker: str) -> str | SendResult | None:
        response = await client.post(
            self._url("notes/search"),
            json={
                "filterGroups": [
                    {"filters": [{"propertyName": "hs_note_body", "operator": "CONTAINS_TOKEN", "value": marker}]}
                ],
                "properties": ["hs_note_body"],
                "limit": 1,
            },
            auth=self.auth,
        )
        if response.status_code != 200:
            return self._verdict(response, what="note search")
        body = json_body(response)
        if not isinstance(body, dict):
            return malformed(response, "HubSpot note search")
        results = body.get("results") or []
        return str(results[0]["id"]) if results else None

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        return await guarded(lambda: self._send(request, client))

    async def _send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        if request.url.endswith("/notes") and request.idempotency_key:
            existing = await self._existing_note(client, request.idempotency_key)
            if isinstance(existing, SendResult):
                return existing
            if existing is not None:
                return SendResult(Outcome.DELIVERED, 200, None, message=f"note {existing} already there")
        body = await self._resolve(client, request.json)
        if isinstance(body, SendResult):
            return body
        resolved = OutboundRequest(
            request.method, request.url, request.headers, body, request.content, request.params, request.idempotency_key
        )
        response = await send_request(client, resolved, self.auth)
        if not 200 <= response.status_code < 300:
            return self._verdict(response)
        data = json_body(response)
        if not isinstance(data, dict):
            return malformed(response, "HubSpot")
        if request.method == "PATCH":  # a deal's answer; the deal's id is not a job's ExternalRef
            return classify(response, what=request.description)
        if request.url.endswith("/batch/upsert"):
            results = data.get("results")
            if not isinstance(results, list) or not results:
                return malformed(response, "HubSpot batch upsert")
            return classify(response, external_id=str(results[0].get("id")), what=request.description)
        # Only the ticket's id is the job's ExternalRef; the note's id is reported in the message.
        return classify(response, what=f"{request.description}: note {data.get('id')}")

    # -- pull --------------------------------------------------------------------------------------

    async def _search(
        self,
        client: httpx.AsyncClient,
        object_type: str,
        date_property: str,
        since: datetime | None,
        props: list[str],
        filters: tuple[dict[str, str], ...] = (),
    ) -> tuple[list[dict[str, Any]], datetime | None]:
        """Every object modified since `since`, restarting the query from the newest date at the 10,000 cap."""
        found: dict[str, dict[str, Any]] = {}
        newest = since
        lower = since
        while True:
            after: str | None = None
            seen = 0
            restart = False
            while True:
                changed = [{"propertyName": date_property, "operator": "GTE", "value": _ms(lower)}] if lower else []
                body: dict[str, Any] = {
                    "filterGroups": [{"filters": [*filters, *changed]}] if filters or changed else [],
                    # HubSpot's published search model declares sorts as property names (ascending).
                    "sorts": [date_property],
                    "properties": [*props, date_property],
                    "limit": PAGE_SIZE,
                }
                if after:
                    body["after"] = after
                response = await client.post(self._url(f"{object_type}/search"), json=body, auth=self.auth)
                if response.status_code != 200:
                    raise PullFailed(f"HubSpot {object_type} search answered HTTP {response.status_code}")
                data = json_body(response)
                if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                    raise PullFailed(f"HubSpot {object_type} search answered a malformed body")
                for item in data["results"]:
                    found[str(item["id"])] = item
                    modified = _parse_time((item.get("properties") or {}).get(date_property))
                    if modified and (newest is None or modified > newest):
                        newest = modified
                seen += len(data["results"])
                after = ((data.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
                if seen + PAGE_SIZE > SEARCH_CAP:
                    restart = True
                    break
            if not restart or newest is None or newest == lower:
                break
            lower = newest
        return list(found.values()), newest

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        actor = Actor(login=f"sync:{self.name}", role=Role.ADMIN, source=f"sync:{self.name}")
        result = PullResult()
        try:
            companies, newest_company = await self._search(
                client, "companies", "hs_lastmodifieddate", since, ["name", "phone", "domain"]
            )
            contacts, newest_contact = await self._search(
                client,
                "contacts",
                "lastmodifieddate",
                since,
                ["firstname", "lastname", "email", "phone", "jobtitle", "associatedcompanyid"],
            )
            offers, newest_deal = await self._deals(client, since)
        except (PullFailed, httpx.HTTPError) as err:
            result.errors.append(str(err))
            result.cursor = since.isoformat() if since else None
            return result
        counts = SyncCounts()
        counts.add(
            upsert_customers(
                db,
                actor,
                self.name,
                [
                    PulledCustomer(
                        external_id=str(c["id"]),
                        name=str((c.get("properties") or {}).get("name") or ""),
                        phone=(c.get("properties") or {}).get("phone") or None,
                    )
                    for c in companies
                ],
            )
        )
        rows = pulled_contacts("hubspot", contacts)
        counts.add(upsert_contacts(db, actor, self.name, rows))
        result.add(counts)
        result.add(upsert_offers(db, actor, self.name, offers))
        newest = max((d for d in (newest_company, newest_contact, newest_deal) if d is not None), default=since)
        result.cursor = newest.isoformat() if newest else None
        return result

    async def _deals(
        self, client: httpx.AsyncClient, since: datetime | None
    ) -> tuple[list[PulledOffer], datetime | None]:
        """Deals marked for field follow-up, with the company each is associated with (read in one batch)."""
        flag = {"propertyName": str(self.settings["offer_followup_property"]), "operator": "EQ", "value": "true"}
        deals, newest = await self._search(
            client,
            "deals",
            "hs_lastmodifieddate",
            since,
            ["dealname", "amount", "deal_currency_code", "description", "hs_is_closed"],
            (flag,),
        )
        companies: dict[str, str] = {}
        if deals:
            url = f"{self.base}/crm/associations/{self.version}/deals/companies/batch/read"
            response = await client.post(url, json={"inputs": [{"id": str(d["id"])} for d in deals]}, auth=self.auth)
            data = json_body(response)
            if response.status_code not in (200, 207) or not isinstance(data, dict):
                raise PullFailed(f"HubSpot deal associations answered HTTP {response.status_code}")
            for item in data.get("results") or []:
                to = item.get("to") or []
                if to:
                    companies[str(item["from"]["id"])] = str(to[0]["toObjectId"])
        offers = []
        for d in deals:
            p = d.get("properties") or {}
            offers.append(
                PulledOffer(
                    str(d["id"]),
                    "deal",
                    companies.get(str(d["id"])),
                    str(p.get("dealname") or ""),
                    open=str(p.get("hs_is_closed") or "false").lower() != "true",
                    amount=decimal_or_none(p.get("amount")),
                    currency=p.get("deal_currency_code") or None,
                    description=p.get("description") or None,
                )
            )
        return offers, newest


class PullFailed(Exception):
    """A pull stopped on an answer it cannot use; the cursor stays where it was."""
