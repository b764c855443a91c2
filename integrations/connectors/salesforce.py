"""Salesforce: a completed job sets its WorkOrder (or Case) status by upsert on an external id, with notes.

The record is upserted with `PATCH /sobjects/{Object}/{ExternalIdField}/{job ref}`, so a repeat
updates the same record. Technician notes go to a classic `Note` attached to that record (Title,
Body, ParentId): its title carries the job ref and a marker, and a SOQL query on `Title` runs
before the note is created, so a repeat finds it instead of adding a second one. Salesforce
throttles with **403 REQUEST_LIMIT_EXCEEDED** (not 429); `Sforce-Limit-Info` reports the usage.
`pull` reads Accounts and Contacts through SOQL on `SystemModstamp > cursor`, following `nextRecordsUrl`, Opportunities
marked for field follow-up, and Cases marked for field service (`case_field_service_field`, default
`Dispatch_Field_Service__c = true`), which become jobs through `data/services/crm_cases.py` (Subject, Description,
Priority and IsClosed flow in on every pull). A job whose Salesforce id is a Case's (key prefix `500`) reports back
on that Case by id (`PATCH /sobjects/Case/{Id}`, writing the external id field too), never upserting a second record.
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
from data.services.crm_cases import PulledCase, upsert_cases
from data.services.crm_offers import PulledOffer, upsert_offers
from data.services.crm_sync import PulledCustomer, upsert_people
from integrations.config import ConnectorConfig
from integrations.connector import MappingContext, OutboundRequest, Outcome, PullResult, SendResult
from integrations.connectors.crm_cases import case_job
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
    "case_field_service_field": "Dispatch_Field_Service__c",
    "case_closed_status": "Closed",  # a Case's status when its job is completed (WorkOrder statuses differ)
    "case_incomplete_status": "On Hold",
    "case_reopened_status": "Working",
    "job_type": "repair",
    "job_minutes": 60,
}
CASE_PREFIX = "500"  # Salesforce's key prefix of Case ids
# Case priorities (the standard picklist, plus common additions) to Dispatch's 1 (emergency) ... 4; others are 3.
PRIORITY = {"critical": 1, "urgent": 1, "high": 2, "medium": 3, "low": 4}
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
        self.job_type, self.job_minutes = case_job(config, self.settings)

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
        case_id = str((job.get("refs") or {}).get(self.name) or "")
        if case_id.startswith(CASE_PREFIX):
            return self._case_requests(source, event, case_id)
        status = self._status(event)
        if not status:
            return []
        report = source.get("report") or {}
        if event.type == "job.reopened":
            report = _reopened(event)
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
        return requests + self._note_requests(source, event, f"{PLACEHOLDER}{ref}")

    def _status(self, event: EventRecord) -> str:
        """The configured object's status for this event; empty when a status change is not mapped."""
        if event.type == "job.status_changed":
            return str(dict(self.settings.get("status_map", {})).get(event.payload.get("to"), ""))
        if event.type == "job.incomplete":
            return str(self.settings.get("incomplete_status", "On Hold"))
        if event.type == "job.reopened":
            return str(self.settings["reopened_status"])
        return str(self.settings["completed_status"])

    def _note_requests(self, source: Mapping[str, Any], event: EventRecord, parent: str) -> list[OutboundRequest]:
        """The report's and technicians' notes as one classic Note on the record (found first if a repeat)."""
        ref = str(source["job"]["ref"])
        report = source.get("report") or {}
        bodies = ([str(report["notes"])] if report.get("notes") else []) + [
            str(n["body"]) for n in source.get("notes", []) if n.get("body")
        ]
        if event.type in ("job.status_changed", "job.reopened") or not bodies:
            return []
        note_ids = ",".join(str(n.get("id")) for n in source.get("notes", []))
        marker = hashlib.sha256(f"{ref}|{event.seq}|{note_ids}".encode()).hexdigest()[:12]
        title = f"Dispatch {ref} notes [{marker}]"[:80]
        return [
            OutboundRequest(
                method="POST",
                url=f"{self.base}/sobjects/Note",
                headers={"Content-Type": "application/json"},
                json={"ParentId": parent, "Title": title, "Body": "\n\n".join(bodies)[:32000]},
                idempotency_key=title,
                description=f"technician notes on {self.settings['object']} {ref}",
            )
        ]

    def _case_requests(self, source: Mapping[str, Any], event: EventRecord, case_id: str) -> list[OutboundRequest]:
        """The Case the job came from, updated by its id: status, the resolution as Comments, the job's ref."""
        ref = str(source["job"]["ref"])
        if self.settings["object"] == "Case":
            status = self._status(event)
        elif event.type == "job.status_changed":
            status = ""  # the status map speaks of work orders
        else:
            key = {"job.incomplete": "case_incomplete_status", "job.reopened": "case_reopened_status"}
            status = str(self.settings[key.get(event.type, "case_closed_status")])
        if not status:
            return []
        report = _reopened(event) if event.type == "job.reopened" else source.get("report") or {}
        record: dict[str, Any] = {"Status": status, str(self.settings["external_id_field"]): ref}
        resolution = " ".join(p for p in (report.get("resolution_code"), report.get("notes")) if p)
        if resolution:
            record["Comments"] = resolution[:4000]
        record = apply_mapping(self.config.mapping("record"), dict(source), base=record)
        update = self._update("Case", case_id, record, f"{ref} {status}", f"Case {case_id} of {ref} -> {status}")
        return [update, *self._note_requests(source, event, f"{PLACEHOLDER}#{case_id}")]

    def _update(self, sobject: str, record_id: str, fields: dict[str, Any], key: str, what: str) -> OutboundRequest:
        """`PATCH /sobjects/{SObject}/{Id}`: a record whose id is known (204 No Content)."""
        return OutboundRequest(
            method="PATCH",
            url=f"{self.base}/sobjects/{sobject}/{quote(record_id, safe='')}",
            headers={"Content-Type": "application/json"},
            json=fields,
            idempotency_key=f"{sobject} {record_id} {key}",
            description=what,
        )

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
        external_id = str(offer["external_id"])
        return [
            self._update(
                "Opportunity", external_id, fields, response, f"Opportunity {external_id}: customer {response}"
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
            key = str(body["ParentId"])[len(PLACEHOLDER) :]
            # `#<id>`: the record's id is known (a Case the job came from); else look the job's record up by ref
            parent = key[1:] if key.startswith("#") else await self._record_id(client, key)
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
            cases = await self._query(
                client,
                "SELECT Id, CaseNumber, AccountId, Subject, Description, Priority, IsClosed, SystemModstamp FROM Case"
                f" WHERE {self.settings['case_field_service_field']} = true{where.replace(' WHERE ', ' AND ')}"
                " ORDER BY SystemModstamp",
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
        pulled = [
            PulledCase(
                str(c["Id"]),
                str(c.get("CaseNumber") or ""),
                str(c["AccountId"]) if c.get("AccountId") else None,
                str(c.get("Subject") or ""),
                description=c.get("Description") or None,
                priority=PRIORITY.get(str(c.get("Priority") or "").lower(), 3),
                cancelled=bool(c.get("IsClosed")),
            )
            for c in cases
        ]
        result.add(
            upsert_cases(db, actor, self.name, pulled, job_type=self.job_type, duration_minutes=self.job_minutes)
        )
        rows = (*accounts, *contacts, *opportunities, *cases)
        stamps = [str(r["SystemModstamp"]) for r in rows if r.get("SystemModstamp")]
        if stamps:
            newest = max(datetime.fromisoformat(s.replace("Z", "+00:00").replace("+0000", "+00:00")) for s in stamps)
            result.cursor = newest.isoformat()
        return result


def _reopened(event: EventRecord) -> dict[str, Any]:
    """What a reopened job's record says instead of a report: that it was reopened, and why."""
    return {"resolution_code": "Reopened:", "notes": event.payload.get("reason")}


class PullFailed(Exception):
    """A pull stopped on an answer it cannot use; the cursor stays where it was."""
