"""Salesforce: a completed job sets its WorkOrder (or Case) status by upsert on an external id, with notes.

The record is upserted with `PATCH /sobjects/{Object}/{ExternalIdField}/{job ref}`, so a repeat
updates the same record. Technician notes go to a classic `Note` attached to that record (Title,
Body, ParentId): its title carries the job ref and a marker, and a SOQL query on `Title` runs
before the note is created, so a repeat finds it instead of adding a second one. Salesforce
throttles with **403 REQUEST_LIMIT_EXCEEDED** (not 429); `Sforce-Limit-Info` reports the usage.
`pull` reads Accounts and Contacts through SOQL on `SystemModstamp > cursor`, following `nextRecordsUrl`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from data.actor import Actor
from data.db import Database
from data.feed import EventRecord
from data.models.org import Role
from data.services.crm_offers import PulledOffer, upsert_offers
from data.services.crm_sync import PulledCustomer, upsert_people
from integrations.config import ConnectorConfig
from integrations.connector import MappingContext, OutboundRequest, Outcome, PullResult, SendResult
from integrations.connectors.crm_contacts import pulled_contacts
from integrations.connectors.crm_offers import decimal_or_none, offer_note
from integrations.connectors.responses import body_text, classify, guarded, json_body, malformed, send_request, utc_iso
from integrations.connectors.sources import job_source
from integrations.mapping import apply_mapping
from integrations.oauth import RefreshingOAuth2
from integrations.secrets import store_for

PLACEHOLDER = "$salesforce/record/"
DEFAULTS: dict[str, Any] = {
    "instance_url": "https://login.salesforce.com",
    "token_url": "https://login.salesforce.com/services/oauth2/token",
    "api_version": "v62.0",
    "object": "WorkOrder",
    "external_id_field": "Dispatch_Job_Ref__c",
    "completed_status": "Completed",
    "reopened_status": "In Progress",  # a reopened job's record goes back to this (a Case: e.g. "Working")
    "throttle_seconds": 300.0,
    "offer_followup_field": "Dispatch_Field_Follow_Up__c",
    "offer_response_field": "Dispatch_Field_Response__c",
    "offer_note_field": "Dispatch_Field_Note__c",
    "offer_accepted_stage": "",  # e.g. "Closed Won": an accepted offer also moves the opportunity to this stage
}
DEFAULT_EVENTS = ("job.completed", "job.reopened", "offer.responded")
ANSWERS = {"interested": "Interested", "accepted": "Accepted"}  # the response picklist's values
OBJECTS = ("WorkOrder", "Case")
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


def limit_usage(headers: Mapping[str, str]) -> tuple[int, int] | None:
    """(used, allowed) from `Sforce-Limit-Info: api-usage=25/15000`."""
    match = _LIMIT_INFO.search(headers.get("Sforce-Limit-Info", ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def _soql_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SalesforceConnector:
    default_pull_minutes = 15

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.name = config.name
        self.settings = {**DEFAULTS, **dict(config.settings)}
        if self.settings["object"] not in OBJECTS:
            from integrations.mapping import ConfigError

            raise ConfigError(config.where("object"), f"must be one of {', '.join(OBJECTS)}")
        self.base = f"{str(self.settings['instance_url']).rstrip('/')}/services/data/{self.settings['api_version']}"
        self.auth = RefreshingOAuth2(str(self.settings["token_url"]), store_for(config), client_auth="body")
        self.last_usage: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"SalesforceConnector(name={self.name!r}, base={self.base!r})"

    def subscribes(self) -> frozenset[str]:
        return self.config.events or frozenset(DEFAULT_EVENTS)

    async def check(self, client: httpx.AsyncClient) -> str:
        """`dispatch integrations check`: the token works and the API budget left."""
        response = await client.get(f"{self.base}/limits", auth=self.auth)
        if response.status_code != 200:
            raise RuntimeError(f"Salesforce refused: {self._verdict(response).message}")
        daily = (json_body(response) or {}).get("DailyApiRequests") or {}
        return f"authorised; API requests remaining today: {daily.get('Remaining', '?')}/{daily.get('Max', '?')}"

    def _record_url(self, ref: str) -> str:
        return (
            f"{self.base}/sobjects/{self.settings['object']}/{self.settings['external_id_field']}/{quote(ref, safe='')}"
        )

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        if event.type == "offer.responded":
            return self.offer_requests(event.payload)
        if event.type not in ("job.completed", "job.status_changed", "job.incomplete", "job.reopened"):
            return []
        source = job_source(context.db, event)
        job = source.get("job")
        if not job:
            return []
        return self.requests_for(source, event)

    def requests_for(self, source: Mapping[str, Any], event: EventRecord) -> list[OutboundRequest]:
        job = source["job"]
        ref = str(job["ref"])
        report = source.get("report") or {}
        if event.type == "job.status_changed":
            status = str(dict(self.settings.get("status_map", {})).get(event.payload.get("to"), ""))
            if not status:
                return []
        elif event.type == "job.incomplete":
            status = str(self.settings.get("incomplete_status", "On Hold"))
        elif event.type == "job.reopened":
            status = str(self.settings["reopened_status"])
            report = {"resolution_code": "Reopened:", "notes": event.payload.get("reason")}
        else:
            status = str(self.settings["completed_status"])
        record: dict[str, Any] = {"Status": status, "Subject": f"{ref}: {job['summary']}"[:255]}
        resolution = " ".join(p for p in (report.get("resolution_code"), report.get("notes")) if p)
        if resolution and self.settings["object"] == "WorkOrder":
            record["Description"] = resolution[:32000]
        elif resolution:
            record["Comments"] = resolution[:4000]
        # `[connectors.NAME.mapping.record]` writes extra or overriding fields of the record.
        record = apply_mapping(self.config.mapping("record"), dict(source), base=record)
        requests = [
            OutboundRequest(
                method="PATCH",
                url=self._record_url(ref),
                headers={"Content-Type": "application/json"},
                json=record,
                idempotency_key=f"{self.settings['external_id_field']}={ref}",
                description=f"{self.settings['object']} {ref} -> {status}",
            )
        ]
        bodies = ([str(report["notes"])] if report.get("notes") else []) + [
            str(n["body"]) for n in source.get("notes", []) if n.get("body")
        ]
        if event.type not in ("job.status_changed", "job.reopened") and bodies:
            note_ids = ",".join(str(n.get("id")) for n in source.get("notes", []))
            marker = hashlib.sha256(f"{ref}|{event.seq}|{note_ids}".encode()).hexdigest()[:12]
            title = f"Dispatch {ref} notes [{marker}]"[:80]
            requests.append(
                OutboundRequest(
                    method="POST",
                    url=f"{self.base}/sobjects/Note",
                    headers={"Content-Type": "application/json"},
                    json={"ParentId": f"{PLACEHOLDER}{ref}", "Title": title, "Body": "\n\n".join(bodies)[:32000]},
                    idempotency_key=title,
                    description=f"technician notes on {self.settings['object']} {ref}",
                )
            )
        return requests

    def offer_requests(self, offer: Mapping[str, Any]) -> list[OutboundRequest]:
        """The technician's answer to one of this org's opportunities: `PATCH sobjects/Opportunity/{Id}`."""
        if offer.get("system") != self.name or offer.get("kind") != "opportunity":
            return []
        response = str(offer["response"])
        fields: dict[str, Any] = {
            str(self.settings["offer_response_field"]): ANSWERS[response],
            str(self.settings["offer_note_field"]): offer_note(offer)[:32000],
        }
        if response == "accepted" and self.settings["offer_accepted_stage"]:
            fields["StageName"] = str(self.settings["offer_accepted_stage"])
        return [
            OutboundRequest(
                method="PATCH",
                url=f"{self.base}/sobjects/Opportunity/{quote(str(offer['external_id']), safe='')}",
                headers={"Content-Type": "application/json"},
                json=fields,
                idempotency_key=f"Opportunity {offer['external_id']} {response}",
                description=f"Opportunity {offer['external_id']}: customer {response}",
            )
        ]

    # -- send --------------------------------------------------------------------------------------

    def _verdict(self, response: httpx.Response, external_id: str | None = None, what: str = "") -> SendResult:
        usage = limit_usage(response.headers)
        if usage is not None:
            self.last_usage = usage
        if response.status_code == 403:
            errors = json_body(response)
            codes = {e.get("errorCode") for e in errors if isinstance(e, dict)} if isinstance(errors, list) else set()
            if "REQUEST_LIMIT_EXCEEDED" in codes:
                used = f" (api-usage {usage[0]}/{usage[1]})" if usage else ""
                return SendResult(
                    Outcome.RETRY,
                    403,
                    body_text(response),
                    retry_after=float(self.settings["throttle_seconds"]),
                    message=f"Salesforce API request limit exceeded{used}",
                )
        return classify(response, external_id=external_id, what=what)

    async def _record_id(self, client: httpx.AsyncClient, ref: str) -> str | SendResult:
        response = await client.get(self._record_url(ref), params={"fields": "Id"}, auth=self.auth)
        if response.status_code == 404:
            return SendResult(Outcome.RETRY, 404, body_text(response), message=f"{ref} not yet in Salesforce")
        if response.status_code != 200:
            return self._verdict(response, what=f"{self.settings['object']} {ref}")
        data = json_body(response)
        if not isinstance(data, dict) or "Id" not in data:
            return malformed(response, "Salesforce record read")
        return str(data["Id"])

    async def _existing_note(self, client: httpx.AsyncClient, parent_id: str, title: str) -> str | SendResult | None:
        soql = f"SELECT Id FROM Note WHERE ParentId = {_soql_literal(parent_id)} AND Title = {_soql_literal(title)}"
        response = await client.get(f"{self.base}/query", params={"q": soql}, auth=self.auth)
        if response.status_code != 200:
            return self._verdict(response, what="note query")
        data = json_body(response)
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            return malformed(response, "Salesforce query")
        return str(data["records"][0]["Id"]) if data["records"] else None

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        return await guarded(lambda: self._send(request, client))

    async def _send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        body = request.json
        if isinstance(body, dict) and str(body.get("ParentId", "")).startswith(PLACEHOLDER):
            parent = await self._record_id(client, str(body["ParentId"])[len(PLACEHOLDER) :])
            if isinstance(parent, SendResult):
                return parent
            existing = await self._existing_note(client, parent, str(body.get("Title", "")))
            if isinstance(existing, SendResult):
                return existing
            if existing is not None:
                return SendResult(Outcome.DELIVERED, 200, None, message=f"note {existing} already there")
            body = {**body, "ParentId": parent}
        resolved = OutboundRequest(
            request.method, request.url, request.headers, body, request.content, request.params, request.idempotency_key
        )
        response = await send_request(client, resolved, self.auth)
        if response.status_code == 204:  # an upsert that updated, in API versions that answer without a body
            return self._verdict(response, what=request.description)
        if not 200 <= response.status_code < 300:
            return self._verdict(response)
        data = json_body(response)
        if not isinstance(data, dict) or not data.get("id"):
            return malformed(response, "Salesforce")
        if data.get("success") is False:
            return SendResult(
                Outcome.FAILED, response.status_code, body_text(response), message=str(data.get("errors"))
            )
        if body is not request.json:  # a note: its id is not the job's ExternalRef
            return self._verdict(response, what=f"{request.description}: note {data['id']}")
        return self._verdict(response, external_id=str(data["id"]), what=request.description)

    # -- pull --------------------------------------------------------------------------------------

    async def _query(self, client: httpx.AsyncClient, soql: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        response = await client.get(f"{self.base}/query", params={"q": soql}, auth=self.auth)
        while True:
            if response.status_code != 200:
                verdict = self._verdict(response)
                raise PullFailed(f"Salesforce query answered HTTP {response.status_code}: {verdict.message}")
            data = json_body(response)
            if not isinstance(data, dict) or not isinstance(data.get("records"), list):
                raise PullFailed("Salesforce query answered a malformed body")
            records.extend(data["records"])
            next_url = data.get("nextRecordsUrl")
            if data.get("done", True) or not next_url:
                return records
            origin = str(self.settings["instance_url"]).rstrip("/")
            response = await client.get(f"{origin}{next_url}", auth=self.auth)

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        actor = Actor(login=f"sync:{self.name}", role=Role.ADMIN, source=f"sync:{self.name}")
        result = PullResult(cursor=since.isoformat() if since else None)
        where = f" WHERE SystemModstamp > {utc_iso(since)}" if since else ""
        try:
            accounts = await self._query(
                client, f"SELECT Id, Name, Phone, SystemModstamp FROM Account{where} ORDER BY SystemModstamp"
            )
            contacts = await self._query(
                client,
                "SELECT Id, AccountId, FirstName, LastName, Email, Phone, Title, SystemModstamp"
                f" FROM Contact{where} ORDER BY SystemModstamp",
            )
            flag = f"{self.settings['offer_followup_field']} = true"
            opportunities = await self._query(
                client,
                "SELECT Id, AccountId, Name, Description, Amount, IsClosed, SystemModstamp FROM Opportunity"
                f" WHERE {flag}{where.replace(' WHERE ', ' AND ')} ORDER BY SystemModstamp",
            )
        except (PullFailed, httpx.HTTPError) as err:
            result.errors.append(str(err))
            return result
        customers = [PulledCustomer(str(a["Id"]), str(a.get("Name") or ""), phone=a.get("Phone")) for a in accounts]
        people = pulled_contacts("salesforce", contacts)
        result.add(upsert_people(db, actor, self.name, customers, people))
        offers = [
            PulledOffer(
                str(o["Id"]),
                "opportunity",
                str(o["AccountId"]) if o.get("AccountId") else None,
                str(o.get("Name") or ""),
                open=not o.get("IsClosed"),
                amount=decimal_or_none(o.get("Amount")),
                description=o.get("Description") or None,
            )
            for o in opportunities
        ]
        result.add(upsert_offers(db, actor, self.name, offers))
        stamps = [str(r["SystemModstamp"]) for r in (*accounts, *contacts, *opportunities) if r.get("SystemModstamp")]
        if stamps:
            newest = max(datetime.fromisoformat(s.replace("Z", "+00:00").replace("+0000", "+00:00")) for s in stamps)
            result.cursor = newest.isoformat()
        return result


class PullFailed(Exception):
    """A pull stopped on an answer it cannot use; the cursor stays where it was."""
