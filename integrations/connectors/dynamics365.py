"""Microsoft Dynamics 365 / Dataverse: a completed job updates and closes its case; cases for field service come in.

Everything goes through the Dataverse Web API (OData v4) under `{org_url}/api/data/v9.2/`, with a
bearer token from Microsoft Entra ID's client credentials grant.

Out, for a completed job, in this order, each safe to repeat:
- the customer's account, by alternate key (`accountnumber` = customer code unless configured),
  `PATCH accounts(accountnumber='C1')` with `If-None-Match: *`: created when missing, and a 412
  (it exists) counts as matched, so the CRM's own account data is never overwritten;
- the case (`incident`): a job that came from a case updates that case by id with `If-Match: *`
  (update only: a deleted case is a 404, not a new case); any other job upserts the case by the
  alternate key `dsp_jobref` (created or updated, never twice);
- technician notes as `annotation`s on the case, one per note, all in one `$batch` change set (so
  they land together or not at all); their subjects carry a marker, and the first one is looked up
  before the batch, so a repeat finds the notes instead of adding them again;
- `CloseIncident` with an `incidentresolution` and Status 5 (Problem Solved), after reading the
  case's `statecode`: a case already resolved counts as delivered, so a retry does not fail.
The case's state is read before the case update too: Dataverse refuses updates to a resolved case.

In (`pull`): accounts, contacts and the cases marked for field service (a configurable boolean or
choice attribute), each by `modifiedon gt <cursor>`, paged with `Prefer: odata.maxpagesize` and
`@odata.nextLink`. Cases become jobs once each (data.services.crm_cases).

Service protection limits answer 429 with `Retry-After` (seconds); the shared response classifier
turns that into a retry at that time, which the delivery engine applies to the whole connector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
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
from integrations.connectors.odata_batch import BatchPart, batch_responses, changeset_request
from integrations.connectors.responses import body_text, classify, guarded, json_body, malformed, send_request, utc_iso
from integrations.connectors.sources import job_source
from integrations.mapping import ConfigError, apply_mapping
from integrations.oauth import ClientCredentialsOAuth2
from integrations.secrets import store_for

PLACEHOLDER = "$dynamics365/"  # "$dynamics365/incidents(...)": the case's id, read at send time
DEFAULTS: dict[str, Any] = {
    "api_version": "v9.2",
    "case_key": "dsp_jobref",
    "account_key": "accountnumber",
    "field_service_attribute": "dsp_fieldservice",
    "field_service_value": True,
    "resolved_status": 5,
    "page_size": 500,
    "job_type": "repair",
    "job_minutes": 60,
    "offer_tables": ["opportunities"],  # and/or "quotes"
    "offer_followup_attribute": "dsp_fieldfollowup",
    "offer_response_attribute": "dsp_fieldresponse",
    "offer_note_attribute": "dsp_fieldnote",
}
DEFAULT_EVENTS = ("job.completed", "offer.responded")
# Offer tables: the kind we call a row, its columns, and the statecodes that mean "still open"
# (opportunity: 0 Open, 1 Won, 2 Lost; quote: 0 Draft, 1 Active, 2 Won, 3 Closed).
OFFER_TABLES: dict[str, tuple[str, str, str, frozenset[int]]] = {
    "opportunities": ("opportunity", "opportunityid", "estimatedvalue", frozenset({0})),
    "quotes": ("quote", "quoteid", "totalamount", frozenset({0, 1})),
}
OFFER_SETS = {kind: entity_set for entity_set, (kind, *_rest) in OFFER_TABLES.items()}
ACTIVE, RESOLVED, CANCELLED = 0, 1, 2  # incident statecode
PRIORITY = {1: 2, 2: 3, 3: 4}  # incident prioritycode (High, Normal, Low) -> job priority
ODATA_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
JSON_HEADERS = {**ODATA_HEADERS, "Content-Type": "application/json; charset=utf-8"}


def literal(value: str) -> str:
    """An OData string literal (quotes doubled), percent-encoded for a URL path or query."""
    return "'" + quote(value.replace("'", "''"), safe="") + "'"


def key_path(entity_set: str, key: str, value: str) -> str:
    return f"{entity_set}({key}={literal(value)})"


def filter_value(value: Any) -> str:
    """A boolean or choice value as an OData literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(int(value))


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def entity_id(response: httpx.Response) -> str | None:
    """The id in `OData-EntityId: https://org/api/data/v9.2/incidents(<guid>)`."""
    header = response.headers.get("OData-EntityId", "")
    if header.endswith(")") and "(" in header:
        return header.rsplit("(", 1)[1][:-1]
    return None


class Dynamics365Connector:
    default_pull_minutes = 15

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.name = config.name
        self.settings = {**DEFAULTS, **dict(config.settings)}
        org = str(self.settings.get("org_url") or "").rstrip("/")
        if not org:
            raise ConfigError(config.where("org_url"), "is required, e.g. https://contoso.crm.dynamics.com")
        token_url = self.settings.get("token_url")
        if not token_url:
            tenant = self.settings.get("tenant")
            if not tenant:
                raise ConfigError(config.where("tenant"), "is required (the Entra ID tenant id or domain)")
            token_url = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        self.job_type, self.job_minutes = case_job(config, self.settings)
        tables = self.settings["offer_tables"]
        if not isinstance(tables, list) or any(t not in OFFER_TABLES for t in tables):
            raise ConfigError(config.where("offer_tables"), f"must be a list of {', '.join(OFFER_TABLES)}")
        self.org = org
        self.base = f"{org}/api/data/{self.settings['api_version']}"
        scope = str(self.settings.get("scope") or f"{org}/.default")
        self.auth = ClientCredentialsOAuth2(str(token_url), store_for(config), scope=scope)

    def __repr__(self) -> str:
        return f"Dynamics365Connector(name={self.name!r}, base={self.base!r})"

    def subscribes(self) -> frozenset[str]:
        return self.config.events or frozenset(DEFAULT_EVENTS)

    async def check(self, client: httpx.AsyncClient) -> str:
        """`dispatch integrations check`: the token works and names the application user."""
        response = await client.get(f"{self.base}/WhoAmI", headers=ODATA_HEADERS, auth=self.auth)
        if response.status_code != 200:
            raise RuntimeError(f"Dataverse refused: HTTP {response.status_code} {_error_message(response)}")
        data = json_body(response) or {}
        user, org = data.get("UserId", "?"), data.get("OrganizationId", "?")
        return f"authorised as application user {user} in organization {org}"

    # -- map ---------------------------------------------------------------------------------------

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        if event.type == "offer.responded":
            return self.offer_requests(event.payload)
        if event.type != "job.completed":
            return []
        source = job_source(context.db, event)
        if not source.get("job"):
            return []
        return self.requests_for(source, event)

    def requests_for(self, source: Mapping[str, Any], event: EventRecord) -> list[OutboundRequest]:
        job = source["job"]
        ref = str(job["ref"])
        report = source.get("report") or {}
        customer = source.get("customer") or {}
        requests: list[OutboundRequest] = []
        account_id = (customer.get("refs") or {}).get(self.name)
        if account_id:
            account = f"/accounts({account_id})"
        elif customer.get("code"):
            account_key = str(self.settings["account_key"])
            path = key_path("accounts", account_key, str(customer["code"]))
            account = f"/{path}"
            fields = {"name": str(customer.get("name") or customer["code"])[:160]}
            if customer.get("phone"):
                fields["telephone1"] = str(customer["phone"])[:50]
            if customer.get("email"):
                fields["emailaddress1"] = str(customer["email"])[:100]
            requests.append(
                OutboundRequest(
                    method="PATCH",
                    url=f"{self.base}/{path}",
                    headers={**JSON_HEADERS, "If-None-Match": "*"},
                    json=fields,
                    idempotency_key=f"{account_key}={customer['code']}",
                    description=f"account {customer['code']} (created if missing)",
                )
            )
        else:
            account = ""
        resolution = " ".join(p for p in (report.get("resolution_code"), report.get("notes")) if p)
        case_key = str(self.settings["case_key"])
        incident: dict[str, Any] = {"title": f"{ref}: {job['summary']}"[:200]}
        if resolution:
            incident["description"] = resolution[:2000]
        case_id = (job.get("refs") or {}).get(self.name)
        if case_id:
            case_path = f"incidents({case_id})"
            incident[case_key] = ref
            headers = {**JSON_HEADERS, "If-Match": "*"}
        else:
            case_path = key_path("incidents", case_key, ref)
            headers = dict(JSON_HEADERS)
            if account:
                incident["customerid_account@odata.bind"] = account
        # `[connectors.NAME.mapping.incident]` writes extra or overriding attributes of the case.
        incident = apply_mapping(self.config.mapping("incident"), dict(source), base=incident)
        requests.append(
            OutboundRequest(
                method="PATCH",
                url=f"{self.base}/{case_path}",
                headers=headers,
                json=incident,
                idempotency_key=f"{case_key}={ref}",
                description=f"case {ref}",
            )
        )
        bodies = ([str(report["notes"])] if report.get("notes") else []) + [
            str(n["body"]) for n in source.get("notes", []) if n.get("body")
        ]
        if bodies:
            # One annotation per note, all in one `$batch` change set: they land together or not at all.
            note_ids = ",".join(str(n.get("id")) for n in source.get("notes", []))
            marker = hashlib.sha256(f"{ref}|{event.seq}|{note_ids}".encode()).hexdigest()[:12]
            annotations = [
                {
                    "subject": f"Dispatch {ref} notes [{marker}] {i}/{len(bodies)}"[:500],
                    "notetext": body[:100000],
                    "objectid_incident@odata.bind": f"{PLACEHOLDER}{case_path}",
                }
                for i, body in enumerate(bodies, start=1)
            ]
            requests.append(
                OutboundRequest(
                    method="POST",
                    url=f"{self.base}/$batch",
                    headers=ODATA_HEADERS,
                    json={"changeset": [{"method": "POST", "url": "annotations", "body": a} for a in annotations]},
                    idempotency_key=str(annotations[0]["subject"]),
                    description=f"{len(bodies)} technician note(s) on case {ref} in one change set",
                )
            )
        requests.append(
            OutboundRequest(
                method="POST",
                url=f"{self.base}/CloseIncident",
                headers=JSON_HEADERS,
                json={
                    "IncidentResolution": {
                        "@odata.type": "Microsoft.Dynamics.CRM.incidentresolution",
                        "subject": f"{ref} completed"[:200],
                        "description": (resolution or "Completed")[:2000],
                        "incidentid@odata.bind": f"{PLACEHOLDER}{case_path}",
                    },
                    "Status": int(self.settings["resolved_status"]),
                },
                idempotency_key=f"close {case_key}={ref}",
                description=f"close case {ref}",
            )
        )
        return requests

    def offer_requests(self, offer: Mapping[str, Any]) -> list[OutboundRequest]:
        """The technician's answer to an opportunity or quote: an update-only PATCH of its custom columns."""
        entity_set = OFFER_SETS.get(str(offer.get("kind")))
        if offer.get("system") != self.name or entity_set is None:
            return []
        response = str(offer["response"])
        return [
            OutboundRequest(
                method="PATCH",
                url=f"{self.base}/{entity_set}({offer['external_id']})",
                headers={**JSON_HEADERS, "If-Match": "*"},  # never creates an offer the CRM deleted
                json={
                    str(self.settings["offer_response_attribute"]): response,
                    str(self.settings["offer_note_attribute"]): offer_note(offer)[:2000],
                },
                idempotency_key=f"{entity_set}({offer['external_id']}) {response}",
                description=f"{offer['kind']} {offer['external_id']}: customer {response}",
            )
        ]

    # -- send --------------------------------------------------------------------------------------

    async def _case(self, client: httpx.AsyncClient, case_path: str) -> dict[str, Any] | SendResult:
        """The case's id and state; a 404 is a retry (the case upsert may not have landed yet)."""
        response = await client.get(
            f"{self.base}/{case_path}",
            params={"$select": "incidentid,statecode"},
            headers=ODATA_HEADERS,
            auth=self.auth,
        )
        if response.status_code == 404:
            return SendResult(Outcome.RETRY, 404, body_text(response), message=f"{case_path} not yet in Dataverse")
        if response.status_code != 200:
            return classify(response, what=case_path)
        data = json_body(response)
        if not isinstance(data, dict) or not data.get("incidentid"):
            return malformed(response, "Dataverse case read")
        return data

    async def _existing_note(self, client: httpx.AsyncClient, case_id: str, subject: str) -> str | SendResult | None:
        response = await client.get(
            f"{self.base}/annotations",
            params={
                "$select": "annotationid",
                "$filter": f"_objectid_value eq {case_id} and subject eq '{subject.replace(chr(39), chr(39) * 2)}'",
                "$top": "1",
            },
            headers=ODATA_HEADERS,
            auth=self.auth,
        )
        if response.status_code != 200:
            return classify(response, what="annotation query")
        data = json_body(response)
        if not isinstance(data, dict) or not isinstance(data.get("value"), list):
            return malformed(response, "Dataverse annotation query")
        return str(data["value"][0]["annotationid"]) if data["value"] else None

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        return await guarded(lambda: self._send(request, client))

    async def _send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        body = request.json if isinstance(request.json, dict) else {}
        if request.url.endswith("/CloseIncident"):
            resolution = dict(body["IncidentResolution"])
            case = await self._case(client, str(resolution["incidentid@odata.bind"])[len(PLACEHOLDER) :])
            if isinstance(case, SendResult):
                return case
            if case.get("statecode") == RESOLVED:
                return SendResult(Outcome.DELIVERED, 200, None, message=f"{request.description}: already resolved")
            resolution["incidentid@odata.bind"] = f"/incidents({case['incidentid']})"
            return await self._put(client, request, {**body, "IncidentResolution": resolution})
        if request.url.endswith("/$batch"):
            return await self._send_notes(client, request, [dict(p["body"]) for p in body["changeset"]])
        if "/incidents(" in request.url:
            case = await self._case(client, request.url[len(self.base) + 1 :])
            if isinstance(case, dict) and case.get("statecode") == RESOLVED:
                return SendResult(
                    Outcome.DELIVERED,
                    200,
                    None,
                    external_id=str(case["incidentid"]),
                    message=f"{request.description}: already resolved",
                )
            if isinstance(case, SendResult) and case.status_code != 404:
                return case
            response = await send_request(client, request, self.auth)
            if 200 <= response.status_code < 300:
                found = entity_id(response)
                if found is None:
                    return malformed(response, "Dataverse case upsert (no OData-EntityId)")
                return classify(response, external_id=found, what=request.description)
            if response.status_code == 404 and "If-Match" not in request.headers:
                # An upsert's 404 is its account bind: that account's own delivery has not landed yet.
                return SendResult(
                    Outcome.RETRY, 404, body_text(response), message=f"{request.description}: account not there yet"
                )
            return self._verdict(response, request)
        response = await send_request(client, request, self.auth)
        if response.status_code == 412 and request.headers.get("If-None-Match") == "*":
            return SendResult(Outcome.DELIVERED, 412, body_text(response), message=f"{request.description}: matched")
        return self._verdict(response, request)

    async def _send_notes(
        self, client: httpx.AsyncClient, request: OutboundRequest, annotations: list[dict[str, Any]]
    ) -> SendResult:
        """The notes' change set, unless its first annotation is there already (a change set is all or none)."""
        bind = "objectid_incident@odata.bind"
        case = await self._case(client, str(annotations[0][bind])[len(PLACEHOLDER) :])
        if isinstance(case, SendResult):
            return case
        case_id = str(case["incidentid"])
        existing = await self._existing_note(client, case_id, str(annotations[0]["subject"]))
        if isinstance(existing, SendResult):
            return existing
        if existing is not None:
            return SendResult(Outcome.DELIVERED, 200, None, message=f"annotation {existing} already there")
        parts = [
            BatchPart("POST", f"{self.base}/annotations", {**a, bind: f"/incidents({case_id})"}) for a in annotations
        ]
        marker = hashlib.sha256(str(request.idempotency_key).encode()).hexdigest()[:16]
        content_type, content = changeset_request(parts, marker, marker)
        batch = OutboundRequest("POST", request.url, {**ODATA_HEADERS, "Content-Type": content_type}, content=content)
        response = await send_request(client, batch, self.auth)
        if response.status_code != 200:
            return self._verdict(response, request)
        try:
            answers = batch_responses(response.headers.get("Content-Type", ""), response.content)
        except ValueError as err:
            return malformed(response, f"Dataverse $batch ({err})")
        failed = next((a for a in answers if not 200 <= a.status < 300), None)
        if failed is not None:  # the change set was rolled back: judge it by the request that failed
            inner = httpx.Response(failed.status, headers=failed.headers, content=failed.body.encode())
            return self._verdict(inner, request)
        if len(answers) != len(parts):
            return malformed(response, f"Dataverse $batch ({len(answers)} answers to {len(parts)} requests)")
        return classify(response, what=f"{request.description}: {len(parts)} annotation(s)")

    async def _put(self, client: httpx.AsyncClient, request: OutboundRequest, body: dict[str, Any]) -> SendResult:
        resolved = OutboundRequest(
            request.method, request.url, request.headers, body, request.content, request.params, request.idempotency_key
        )
        return self._verdict(await send_request(client, resolved, self.auth), request)

    def _verdict(self, response: httpx.Response, request: OutboundRequest) -> SendResult:
        result = classify(response, what=request.description)
        if result.outcome is Outcome.FAILED:
            return replace(result, message=f"{request.description}: {result.message}: {_error_message(response)}")
        return result

    # -- pull --------------------------------------------------------------------------------------

    async def _collect(
        self, client: httpx.AsyncClient, entity_set: str, select: str, where: list[str]
    ) -> list[dict[str, Any]]:
        params = {"$select": select, "$orderby": "modifiedon asc"}
        if where:
            params["$filter"] = " and ".join(where)
        headers = {**ODATA_HEADERS, "Prefer": f"odata.maxpagesize={int(self.settings['page_size'])}"}
        rows: list[dict[str, Any]] = []
        response = await client.get(f"{self.base}/{entity_set}", params=params, headers=headers, auth=self.auth)
        while True:
            if response.status_code != 200:
                raise PullFailed(
                    f"Dataverse {entity_set} answered HTTP {response.status_code}: {_error_message(response)}"
                )
            data = json_body(response)
            if not isinstance(data, dict) or not isinstance(data.get("value"), list):
                raise PullFailed(f"Dataverse {entity_set} answered a malformed body")
            rows.extend(data["value"])
            next_link = data.get("@odata.nextLink")
            if not next_link:
                return rows
            response = await client.get(str(next_link), headers=headers, auth=self.auth)

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        actor = Actor(login=f"sync:{self.name}", role=Role.ADMIN, source=f"sync:{self.name}")
        result = PullResult(cursor=since.isoformat() if since else None)
        changed = [f"modifiedon gt {utc_iso(since)}"] if since else []
        flag = f"{self.settings['field_service_attribute']} eq {filter_value(self.settings['field_service_value'])}"
        try:
            accounts = await self._collect(
                client, "accounts", "accountid,name,telephone1,emailaddress1,modifiedon", changed
            )
            contacts = await self._collect(
                client,
                "contacts",
                "contactid,firstname,lastname,emailaddress1,telephone1,jobtitle,_parentcustomerid_value,modifiedon",
                changed,
            )
            cases = await self._collect(
                client,
                "incidents",
                "incidentid,ticketnumber,title,description,prioritycode,statecode,_customerid_value,modifiedon",
                [flag, *changed],
            )
            offers = await self._offers(client, changed)
        except (PullFailed, httpx.HTTPError) as err:
            result.errors.append(str(err))
            return result
        customers = [
            PulledCustomer(
                str(a["accountid"]), str(a.get("name") or ""), email=a.get("emailaddress1"), phone=a.get("telephone1")
            )
            for a in accounts
        ]
        people = pulled_contacts("dynamics365", contacts)
        result.add(upsert_people(db, actor, self.name, customers, people))
        result.add(
            upsert_cases(
                db,
                actor,
                self.name,
                [
                    PulledCase(
                        str(c["incidentid"]),
                        str(c.get("ticketnumber") or ""),
                        str(c["_customerid_value"]) if c.get("_customerid_value") else None,
                        str(c.get("title") or ""),
                        description=c.get("description"),
                        priority=PRIORITY.get(int(c.get("prioritycode") or 2), 3),
                        cancelled=c.get("statecode") == CANCELLED,
                    )
                    for c in cases
                ],
                job_type=self.job_type,
                duration_minutes=self.job_minutes,
            )
        )
        result.add(upsert_offers(db, actor, self.name, [offer for offer, _row in offers]))
        rows = (*accounts, *contacts, *cases, *(row for _offer, row in offers))
        stamps = [t for r in rows if (t := _parse_time(r.get("modifiedon")))]
        if stamps:
            result.cursor = max(stamps).isoformat()
        return result

    async def _offers(self, client: httpx.AsyncClient, changed: list[str]) -> list[tuple[PulledOffer, dict[str, Any]]]:
        """Opportunities (and quotes, when configured) marked for field follow-up, with the row each came from."""
        flag = f"{self.settings['offer_followup_attribute']} eq true"
        found = []
        for entity_set in self.settings["offer_tables"]:
            kind, key, amount, open_states = OFFER_TABLES[str(entity_set)]
            rows = await self._collect(
                client,
                str(entity_set),
                f"{key},name,description,{amount},statecode,_customerid_value,modifiedon",
                [flag, *changed],
            )
            for r in rows:
                offer = PulledOffer(
                    str(r[key]),
                    kind,
                    str(r["_customerid_value"]) if r.get("_customerid_value") else None,
                    str(r.get("name") or ""),
                    open=r.get("statecode") in open_states,
                    amount=decimal_or_none(r.get(amount)),
                    description=r.get("description") or None,
                )
                found.append((offer, r))
        return found


def _error_message(response: httpx.Response) -> str:
    """Dataverse's `{"error": {"code": ..., "message": ...}}`, or the start of the body."""
    data = json_body(response)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return f"{error.get('code', '')} {error['message']}".strip()
    return body_text(response)[:200]


class PullFailed(Exception):
    """A pull stopped on an answer it cannot use; the cursor stays where it was."""
