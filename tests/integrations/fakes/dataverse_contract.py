"""The Dataverse tables, attributes and action the Dynamics 365 connector uses, written down from Microsoft's docs.

Sources (Microsoft Learn, Power Apps / Dataverse developer documentation):
- Web API table and column reference: incident, account, contact, annotation, incidentresolution,
  and (Dynamics 365 Sales, "Opportunity table/entity reference", "Quote table/entity reference")
  opportunity (estimatedvalue; statecode 0 Open, 1 Won, 2 Lost) and quote (totalamount, computed;
  statecode 0 Draft, 1 Active, 2 Won, 3 Closed), both with the `customerid` customer lookup
  (EntitySet names, primary keys, column types and maximum lengths; lookups as `_x_value` and their
  single-valued navigation properties such as `customerid_account`, `objectid_incident`).
- "Use Upsert to Create or Update a record" (use-upsert-insert-update-record) and "Perform
  conditional operations using the Web API" (perform-conditional-operations-using-web-api):
  `PATCH entityset(key='value')` creates or updates; `If-Match: *` only updates (404 when missing);
  `If-None-Match: *` only creates (412 when it exists); both answer 204 with `OData-EntityId`.
- "Use an alternate key to reference a record": `entityset(keyattr='value')` in the URL and in
  `@odata.bind` values.
- "CloseIncident Action" (Web API action reference): unbound, parameters `IncidentResolution`
  (incidentresolution EntityType, not nullable) and `Status` (Edm.Int32, not nullable), no return
  value; 5 is the incident status reason "Problem Solved".
- "Query data using the Web API" / "Page results": `Prefer: odata.maxpagesize=n`, `@odata.nextLink`.
- "Service protection API limits" (api-limits): 429 Too Many Requests with `Retry-After`, evaluated
  over a 5-minute sliding window.
- "Use OAuth with Dataverse" / Microsoft identity platform client credentials flow: token from
  `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`, scope `https://ORG.crm.dynamics.com/.default`.
`dsp_jobref`, `dsp_fieldservice` and the offer columns (`dsp_fieldfollowup`, `dsp_fieldresponse`,
`dsp_fieldnote`) are the custom columns (with `dsp_jobref` as an alternate key)
that docs/integrations.md tells the CRM administrator to add.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

VERSION = "v9.2"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Column:
    type: str  # Edm.String, Edm.Int32, Edm.Boolean, Edm.Guid, Edm.DateTimeOffset
    max_length: int | None = None
    writable: bool = True


@dataclass(frozen=True)
class Table:
    logical_name: str
    entity_set: str
    primary_key: str
    columns: dict[str, Column]
    navigation: dict[str, str] = field(default_factory=dict)  # single-valued navigation -> target entity set
    alternate_keys: tuple[str, ...] = ()


def _s(n: int) -> Column:
    return Column("Edm.String", n)


READ_ONLY_TIME = Column("Edm.DateTimeOffset", writable=False)
# The custom columns docs/integrations.md asks for on opportunity and quote (field follow-up flag, the answer).
OFFER_COLUMNS = {"dsp_fieldfollowup": Column("Edm.Boolean"), "dsp_fieldresponse": _s(20), "dsp_fieldnote": _s(2000)}
TABLES: dict[str, Table] = {
    t.entity_set: t
    for t in (
        Table(
            "incident",
            "incidents",
            "incidentid",
            {
                "incidentid": Column("Edm.Guid", writable=False),
                "title": _s(200),
                "description": _s(2000),
                "ticketnumber": _s(100),
                "prioritycode": Column("Edm.Int32"),
                "statecode": Column("Edm.Int32", writable=False),  # changed by CloseIncident, not by PATCH
                "statuscode": Column("Edm.Int32"),
                "_customerid_value": Column("Edm.Guid", writable=False),
                "modifiedon": READ_ONLY_TIME,
                "dsp_jobref": _s(100),
                "dsp_fieldservice": Column("Edm.Boolean"),
            },
            {"customerid_account": "accounts", "customerid_contact": "contacts"},
            ("dsp_jobref",),
        ),
        Table(
            "account",
            "accounts",
            "accountid",
            {
                "accountid": Column("Edm.Guid", writable=False),
                "name": _s(160),
                "accountnumber": _s(20),
                "telephone1": _s(50),
                "emailaddress1": _s(100),
                "modifiedon": READ_ONLY_TIME,
            },
            alternate_keys=("accountnumber",),
        ),
        Table(
            "contact",
            "contacts",
            "contactid",
            {
                "contactid": Column("Edm.Guid", writable=False),
                "firstname": _s(50),
                "lastname": _s(50),
                "emailaddress1": _s(100),
                "telephone1": _s(50),
                "jobtitle": _s(100),
                "_parentcustomerid_value": Column("Edm.Guid", writable=False),
                "modifiedon": READ_ONLY_TIME,
            },
            {"parentcustomerid_account": "accounts"},
        ),
        Table(
            "annotation",
            "annotations",
            "annotationid",
            {
                "annotationid": Column("Edm.Guid", writable=False),
                "subject": _s(500),
                "notetext": _s(100000),
                "_objectid_value": Column("Edm.Guid", writable=False),
                "modifiedon": READ_ONLY_TIME,
            },
            {"objectid_incident": "incidents", "objectid_account": "accounts"},
        ),
        Table(
            "opportunity",
            "opportunities",
            "opportunityid",
            {
                "opportunityid": Column("Edm.Guid", writable=False),
                "name": _s(300),
                "description": _s(2000),
                "estimatedvalue": Column("Edm.Decimal"),
                "statecode": Column("Edm.Int32", writable=False),  # 0 Open, 1 Won, 2 Lost: set by Win/LoseOpportunity
                "_customerid_value": Column("Edm.Guid", writable=False),
                "modifiedon": READ_ONLY_TIME,
                **OFFER_COLUMNS,
            },
            {"customerid_account": "accounts", "customerid_contact": "contacts"},
        ),
        Table(
            "quote",
            "quotes",
            "quoteid",
            {
                "quoteid": Column("Edm.Guid", writable=False),
                "name": _s(300),
                "description": _s(2000),
                "quotenumber": _s(100),
                "totalamount": Column("Edm.Decimal", writable=False),  # computed from the quote's lines
                "statecode": Column("Edm.Int32", writable=False),  # 0 Draft, 1 Active, 2 Won, 3 Closed
                "_customerid_value": Column("Edm.Guid", writable=False),
                "modifiedon": READ_ONLY_TIME,
                **OFFER_COLUMNS,
            },
            {"customerid_account": "accounts", "customerid_contact": "contacts"},
        ),
        Table(
            "incidentresolution",
            "incidentresolutions",
            "activityid",
            {"activityid": Column("Edm.Guid", writable=False), "subject": _s(200), "description": _s(2000)},
            {"incidentid": "incidents"},
        ),
    )
}
BY_LOGICAL = {t.logical_name: t for t in TABLES.values()}
ACTIONS: dict[str, dict[str, str]] = {
    "CloseIncident": {"IncidentResolution": "incidentresolution", "Status": "Edm.Int32"}
}
FUNCTIONS = {"WhoAmI"}
TARGET = re.compile(r"^(?P<set>\w+)(?:\((?P<key>.+)\))?$")
KEY = re.compile(r"^(?P<attr>\w+)='(?P<value>(?:[^']|'')*)'$")


def problems_with_key(table: Table, key: str) -> list[str]:
    if GUID.match(key):
        return []
    match = KEY.match(key)
    if match is None:
        return [f"{table.entity_set}({key}): not a GUID nor attr='value'"]
    if match["attr"] not in table.alternate_keys:
        return [f"{table.entity_set}: {match['attr']} is not an alternate key"]
    return []


def problems_with_bind(value: Any, target_set: str, where: str) -> list[str]:
    if not isinstance(value, str) or not value.startswith("/"):
        return [f"{where}: a bind is a relative URL like /{target_set}(id), got {value!r}"]
    match = TARGET.match(value[1:])
    if match is None or match["set"] != target_set or not match["key"]:
        return [f"{where}: must bind to /{target_set}(...), got {value!r}"]
    return problems_with_key(TABLES[target_set], match["key"])


def problems_with_body(table: Table, body: Any, where: str, *, action_parameter: bool = False) -> list[str]:
    if not isinstance(body, dict):
        return [f"{where}: body must be an object"]
    found: list[str] = []
    for name, value in body.items():
        if name == "@odata.type":
            if not action_parameter or value != f"Microsoft.Dynamics.CRM.{table.logical_name}":
                found.append(f"{where}: unexpected @odata.type {value!r}")
            continue
        if name.endswith("@odata.bind"):
            nav = name.removesuffix("@odata.bind")
            if nav not in table.navigation:
                found.append(f"{where}: {table.logical_name} has no navigation property {nav!r}")
            else:
                found.extend(problems_with_bind(value, table.navigation[nav], f"{where}.{name}"))
            continue
        column = table.columns.get(name)
        if column is None:
            found.append(f"{where}: {table.logical_name} has no column {name!r}")
            continue
        if not column.writable:
            found.append(f"{where}: {table.logical_name}.{name} is read-only")
        found.extend(problems_with_value(column, value, f"{where}.{name}"))
    return found


def problems_with_value(column: Column, value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if column.type == "Edm.String":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        if column.max_length is not None and len(value) > column.max_length:
            return [f"{where}: {len(value)} characters, at most {column.max_length}"]
        return []
    if column.type == "Edm.Int32":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: expected Edm.Int32"]
    if column.type == "Edm.Boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected Edm.Boolean"]
    if column.type == "Edm.Decimal":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected Edm.Decimal (a JSON number)"]
    return [f"{where}: {column.type} is not written by clients"]


def problems_with_select(table: Table, select: str | None, where: str) -> list[str]:
    if not select:
        return []
    return [f"{where}: $select of unknown column {c!r}" for c in select.split(",") if c not in table.columns]


def problems_with_filter(table: Table, expression: str | None, where: str) -> list[str]:
    if not expression:
        return []
    found = []
    for clause in expression.split(" and "):
        match = re.fullmatch(r"(\w+) (eq|gt|ge|lt|le|ne) (.+)", clause.strip())
        if match is None:
            found.append(f"{where}: cannot read filter clause {clause!r}")
            continue
        column = table.columns.get(match[1])
        if column is None:
            found.append(f"{where}: filter on unknown column {match[1]!r}")
            continue
        literal = match[3]
        ok = {
            "Edm.DateTimeOffset": re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", literal),
            "Edm.Boolean": literal in ("true", "false"),
            "Edm.Int32": re.fullmatch(r"-?\d+", literal),
            "Edm.Guid": GUID.match(literal),
            "Edm.Decimal": re.fullmatch(r"-?\d+(\.\d+)?", literal),
            "Edm.String": re.fullmatch(r"'(?:[^']|'')*'", literal),
        }[column.type]
        if not ok:
            found.append(f"{where}: {literal!r} is not an {column.type} literal for {match[1]}")
    return found


# "Execute batch operations using the Web API": multipart/mixed, boundary batch_<id>; a change set
# is a part of multipart/mixed with boundary changeset_<id>; each of its parts is application/http,
# Content-Transfer-Encoding binary, a unique Content-ID, then one request (no GET in a change set);
# lines end in CRLF.
BATCH_PATH = f"/api/data/{VERSION}/$batch"


def batch_entries(entry: dict[str, Any], origin: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The requests inside a received `$batch` (shaped like received entries) and what breaks the format."""
    where = f"POST {BATCH_PATH}"
    raw: bytes = entry["raw"]
    content_type = entry["headers"].get("content-type", "")
    found: list[str] = []
    if not re.fullmatch(r"multipart/mixed;\s*boundary=\"?batch_[\w-]+\"?", content_type):
        return [], [f"{where}: Content-Type must be multipart/mixed; boundary=batch_<id>, got {content_type!r}"]
    if re.search(rb"(?<!\r)\n", raw):
        found.append(f"{where}: lines must end in CRLF")
    message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw, policy=policy.compat32)
    parts = message.get_payload()
    if not isinstance(parts, list) or not parts:
        return [], [*found, f"{where}: no parts"]
    inner: list[dict[str, Any]] = []
    for part in parts:
        if part.get_content_type() == "multipart/mixed":
            if not str(part.get_boundary() or "").startswith("changeset_"):
                found.append(f"{where}: a change set's boundary is changeset_<id>")
            ids = []
            for op in part.get_payload():
                if op.get_content_type() != "application/http" or op.get("Content-Transfer-Encoding") != "binary":
                    found.append(f"{where}: a change set part is application/http, Content-Transfer-Encoding binary")
                ids.append(op.get("Content-ID"))
                request, problems = _inner_request(op, origin, where)
                found += problems
                if request is not None:
                    if request["method"] == "GET":
                        found.append(f"{where}: GET is not allowed in a change set")
                    inner.append(request)
            if None in ids or len(set(ids)) != len(ids):
                found.append(f"{where}: each change set part needs a unique Content-ID")
        elif part.get_content_type() == "application/http":
            request, problems = _inner_request(part, origin, where)
            found += problems
            if request is not None:
                inner.append(request)
        else:
            found.append(f"{where}: unexpected part {part.get_content_type()}")
    return inner, found


def _inner_request(part: Any, origin: str, where: str) -> tuple[dict[str, Any] | None, list[str]]:
    text = part.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    request_line, *header_lines = head.strip("\n").split("\n")
    match = re.fullmatch(r"(GET|POST|PATCH|DELETE) (\S+) HTTP/1\.1", request_line)
    if match is None:
        return None, [f"{where}: bad request line {request_line!r}"]
    url = match[2]
    if not url.startswith(f"{origin}/api/data/{VERSION}/"):
        return None, [f"{where}: {url!r} is not under the service root"]
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    problems = []
    if match[1] in ("POST", "PATCH") and not headers.get("content-type", "").startswith("application/json"):
        problems.append(f"{where}: {match[1]} {url} needs Content-Type: application/json")
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return None, [*problems, f"{where}: {match[1]} {url}: the body is not JSON"]
    path = url[len(origin) :]
    return {"method": match[1], "path": path, "query": {}, "headers": headers, "json": data, "raw": b""}, problems
