"""A local Dataverse: Entra ID tokens, alternate-key upsert, CloseIncident, annotations, $batch, paging, 429s.

Writes are checked against the entity definitions in `dataverse_contract` (an unknown column answers
0x80060888 as Dataverse does). Upsert semantics follow Microsoft's documentation: `PATCH set(key)`
creates (204) or updates (204), `If-Match: *` answers 404 when nothing matches, `If-None-Match: *`
answers 412 when a record matches. A resolved case refuses updates and a second CloseIncident.
The service protection limit is a 429 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.integrations.fakes.dataverse_contract import (
    ACTIONS,
    GUID,
    KEY,
    TABLES,
    TARGET,
    VERSION,
    batch_entries,
    problems_with_body,
)
from tests.integrations.fakes.server import CLIENT_ID, CLIENT_SECRET, FakeVendor, serve
from tests.integrations.fakes.world import write_credentials

TENANT = "contoso-tenant"
BASE = f"/api/data/{VERSION}"
EPOCH = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


@dataclass
class DataverseState(FakeVendor):
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # entity set -> id -> row
    origin: str = ""
    clock: Any = field(default_factory=lambda: itertools.count(1))
    tokens_issued: int = 0
    default_page_size: int = 5000
    cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    delay: float = 0.0  # seconds each API call takes, so a worker can be killed mid-run
    certificate: x509.Certificate | None = None  # uploaded to the app registration: assertions verify with it
    assertions: list[dict[str, Any]] = field(default_factory=list)  # the claims of each accepted assertion

    def reset(self) -> None:
        origin, certificate = self.origin, self.certificate
        super().reset()
        self.origin, self.certificate = origin, certificate

    def stamp(self) -> str:
        return (EPOCH + timedelta(seconds=next(self.clock))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def add(self, entity_set: str, row: dict[str, Any]) -> str:
        pk = TABLES[entity_set].primary_key
        rid = str(uuid.uuid4())
        self.records.setdefault(entity_set, {})[rid] = {pk: rid, "modifiedon": self.stamp(), **row}
        return rid

    def rows(self, entity_set: str) -> list[dict[str, Any]]:
        return list(self.records.get(entity_set, {}).values())

    def find(self, entity_set: str, key: str) -> dict[str, Any] | None:
        table = self.records.get(entity_set, {})
        if GUID.match(key):
            return table.get(key)
        match = KEY.match(key)
        if match is None:
            return None
        value = match["value"].replace("''", "'")
        return next((r for r in table.values() if r.get(match["attr"]) == value), None)

    def throttled(self) -> Response:
        return error(
            429,
            "0x80072322",
            "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
            {"Retry-After": "2"},
        )

    def client_credentials_token(self) -> str:
        self.tokens_issued += 1
        self.issued += 1
        self.access_token = f"entra-{self.issued}"
        return self.access_token


def _entity_url(state: DataverseState, entity_set: str, rid: str) -> str:
    return f"{state.origin}{BASE}/{entity_set}({rid})"


def _bind(state: DataverseState, body: dict[str, Any], entity_set: str) -> tuple[dict[str, Any], Response | None]:
    """Resolve `nav@odata.bind` values into `_nav_value` GUIDs (a missing target is a 404, as in Dataverse)."""
    out: dict[str, Any] = {}
    table = TABLES[entity_set]
    for name, value in body.items():
        if not name.endswith("@odata.bind"):
            out[name] = value
            continue
        nav = name.removesuffix("@odata.bind")
        target = TABLES[table.navigation[nav]]
        match = TARGET.match(str(value)[1:])
        assert match is not None
        found = state.find(target.entity_set, match["key"])
        if found is None:
            return out, error(
                404, "0x80040217", f"A record with the specified key values does not exist in {target.logical_name}"
            )
        lookup = nav.split("_")[0]
        out[f"_{lookup}_value"] = found[target.primary_key]
    return out, None


def _matches(row: dict[str, Any], clause: str) -> bool:
    name, op, literal = clause.strip().split(" ", 2)
    have = row.get(name)
    if literal in ("true", "false"):
        return bool(have) == (literal == "true")
    if literal.startswith("'"):
        return str(have) == literal[1:-1].replace("''", "'")
    if op == "gt":
        return str(have or "") > literal
    return str(have) == literal


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def assertion_problem(state: DataverseState, form: dict[str, str], token_url: str) -> str | None:
    """Why Entra ID would refuse this client assertion, or None (Microsoft identity platform,
    "certificate credentials": PS256, typ JWT, x5t#S256 of the uploaded certificate, aud the token
    endpoint, iss = sub = client id, a jti not seen before, exp at most 10 minutes after nbf)."""
    if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
        return "AADSTS700023: client_assertion_type must be jwt-bearer"
    if "client_secret" in form:
        return "AADSTS700025: a client secret and an assertion together"
    if state.certificate is None:
        return "AADSTS700027: no certificate is registered for the application"
    try:
        head, payload, signature = form["client_assertion"].split(".")
        header, claims = json.loads(_b64(head)), json.loads(_b64(payload))
    except ValueError:
        return "AADSTS50027: the assertion is not a JWT"
    digest = state.certificate.fingerprint(hashes.SHA256())
    if header.get("alg") != "PS256" or header.get("typ") != "JWT":
        return f"AADSTS5002738: header alg/typ {header.get('alg')}/{header.get('typ')}, expected PS256/JWT"
    if header.get("x5t#S256") != base64.urlsafe_b64encode(digest).rstrip(b"=").decode():
        return "AADSTS700027: x5t#S256 names no registered certificate"
    public_key = state.certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    try:
        public_key.verify(
            _b64(signature),
            f"{head}.{payload}".encode(),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size),
            hashes.SHA256(),
        )
    except InvalidSignature:
        return "AADSTS700027: the signature does not verify with the registered certificate"
    if claims.get("aud") != token_url:
        return f"AADSTS700016: aud {claims.get('aud')!r} is not this token endpoint"
    if not form.get("client_id") == claims.get("iss") == claims.get("sub") == CLIENT_ID:
        return "AADSTS700021: iss and sub must be the client id"
    if not claims.get("jti") or any(a["jti"] == claims["jti"] for a in state.assertions):
        return "AADSTS700024: the assertion's jti was used before"
    if not isinstance(claims.get("exp"), int) or not isinstance(claims.get("nbf"), int):
        return "AADSTS700024: exp and nbf are required"
    if not 0 < claims["exp"] - claims["nbf"] <= 600:
        return "AADSTS700024: exp must be within 10 minutes of nbf"
    state.assertions.append(claims)
    return None


def build_app(state: DataverseState) -> Starlette:
    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if "client_assertion" in form:
            refused = assertion_problem(state, form, str(request.url))
            if refused:
                return JSONResponse({"error": "invalid_client", "error_description": refused}, status_code=401)
        elif form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client", "error_description": "AADSTS7000215"}, status_code=401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("scope") != f"{state.origin}/.default":
            return JSONResponse({"error": "invalid_scope", "error_description": "AADSTS70011"}, status_code=400)
        return JSONResponse(
            {"token_type": "Bearer", "expires_in": state.token_ttl, "access_token": state.client_credentials_token()}
        )

    async def guard(request: Request) -> tuple[Any, Response | None]:
        """This request's JSON body (requests run concurrently) and the early answer, if any."""
        body = await state.record(request)
        if state.delay:
            await asyncio.sleep(state.delay)
        if not state.authorised(request):
            return body, error(401, "0x80072560", "The user is not a member of the organization.")
        return body, await state.fault(request, state.throttled())

    def page(request: Request, rows: list[dict[str, Any]], size: int) -> JSONResponse:
        head, rest = rows[:size], rows[size:]
        payload: dict[str, Any] = {"@odata.context": f"{state.origin}{BASE}/$metadata", "value": head}
        if rest:
            token_id = uuid.uuid4().hex
            state.cursors[token_id] = rest
            payload["@odata.nextLink"] = f"{state.origin}{request.url.path}?$skiptoken={token_id}"
        return JSONResponse(payload, headers={"Preference-Applied": f"odata.maxpagesize={size}"})

    async def api(request: Request) -> Response:
        received, early = await guard(request)
        if early is not None:
            return early
        target = request.path_params["target"]
        if target == "WhoAmI" and request.method == "GET":
            return JSONResponse({"UserId": "00000000-0000-0000-0000-0000000000a1", "OrganizationId": "org-1"})
        if target in ACTIONS and request.method == "POST":
            return await close_incident(received or {})
        if target == "$batch" and request.method == "POST":  # this request's own bytes: others run concurrently
            return await batch({"headers": dict(request.headers), "raw": await request.body()})
        match = TARGET.match(target)
        if match is None or match["set"] not in TABLES:
            return error(404, "0x80060888", f"Resource not found for the segment '{target}'.")
        entity_set, key = match["set"], match["key"]
        table = TABLES[entity_set]
        body = received or {}
        if key is None and request.method == "GET":
            query = request.query_params
            prefer = request.headers.get("prefer", "")
            size = int(prefer.split("=", 1)[1]) if prefer.startswith("odata.maxpagesize=") else state.default_page_size
            if "$skiptoken" in query:
                rest = state.cursors.pop(query["$skiptoken"], None)
                if rest is None:
                    return error(400, "0x80040203", "Invalid skip token")
                return page(request, rest, size)
            rows = state.rows(entity_set)
            for clause in (query.get("$filter") or "").split(" and ") if query.get("$filter") else []:
                rows = [r for r in rows if _matches(r, clause)]
            rows.sort(key=lambda r: str(r.get("modifiedon", "")))
            if "$top" in query:
                rows = rows[: int(query["$top"])]
            select = query.get("$select")
            cols = select.split(",") if select else list(table.columns)
            return page(request, [{c: r.get(c) for c in cols} for r in rows], size)
        if key is None and request.method == "POST":
            problems = problems_with_body(table, body, entity_set)
            if problems:
                return error(400, "0x80060888", "; ".join(problems))
            values, missing = _bind(state, body, entity_set)
            if missing is not None:
                return missing
            rid = state.add(entity_set, values)
            if (lost := await state.after_effect()) is not None:
                return lost
            return Response(status_code=204, headers={"OData-EntityId": _entity_url(state, entity_set, rid)})
        if key is None:
            return error(405, "0x80060888", "method not allowed")
        found = state.find(entity_set, key)
        if request.method == "GET":
            if found is None:
                return error(404, "0x80040217", f"{table.logical_name} With Ids = {key} Does Not Exist")
            select = request.query_params.get("$select")
            return JSONResponse({c: found.get(c) for c in (select.split(",") if select else table.columns)})
        if request.method != "PATCH":
            return error(405, "0x80060888", "method not allowed")
        if request.headers.get("if-match") == "*" and found is None:
            return error(404, "0x80040217", f"{table.logical_name} With Ids = {key} Does Not Exist")
        if request.headers.get("if-none-match") == "*" and found is not None:
            return error(412, "0x80040237", "A record with matching key values already exists.")
        problems = problems_with_body(table, body, entity_set)
        if problems:
            return error(400, "0x80060888", "; ".join(problems))
        if entity_set == "incidents" and found is not None and found.get("statecode") == 1:
            return error(
                400,
                "0x80043e09",
                "This case has already been resolved. Close and reopen the case, and then try again.",
            )
        values, missing = _bind(state, body, entity_set)
        if missing is not None:
            return missing
        if found is None:
            key_values = {}
            if (km := KEY.match(key)) is not None:
                key_values[km["attr"]] = km["value"].replace("''", "'")
            extra = {"statecode": 0, "statuscode": 1} if entity_set == "incidents" else {}
            rid = state.add(entity_set, {**extra, **key_values, **values})
        else:
            found.update(values)
            found["modifiedon"] = state.stamp()
            rid = found[table.primary_key]
        if (lost := await state.after_effect()) is not None:
            return lost
        return Response(status_code=204, headers={"OData-EntityId": _entity_url(state, entity_set, rid)})

    async def batch(entry: dict[str, Any]) -> Response:
        """One change set of creates, run as one transaction: every part applies, or none does."""
        inner, problems = batch_entries(entry, state.origin)
        if problems:
            return error(400, "0x80048d19", "; ".join(problems))
        planned: list[tuple[str, dict[str, Any]]] = []
        for op in inner:
            match = TARGET.match(op["path"][len(BASE) + 1 :])
            if op["method"] != "POST" or match is None or match["set"] not in TABLES or match["key"]:
                return error(400, "0x80048d19", f"the fake's change sets hold creates only, not {op['path']}")
            body = op["json"] or {}
            found = problems_with_body(TABLES[match["set"]], body, match["set"])
            values, missing = _bind(state, body, match["set"])
            if found or missing is not None:  # the change set is rolled back: nothing of it lands
                return batch_answer([(404 if missing else 400, "; ".join(found) or "bound record missing")])
            planned.append((match["set"], values))
        ids = [(entity_set, state.add(entity_set, values)) for entity_set, values in planned]
        if (lost := await state.after_effect()) is not None:
            return lost
        return batch_answer([(204, _entity_url(state, entity_set, rid)) for entity_set, rid in ids])

    def batch_answer(results: list[tuple[int, str]]) -> Response:
        """200 with one application/http response per request of the change set (or its one error)."""
        tag = uuid.uuid4().hex
        lines = [f"--batchresponse_{tag}", f"Content-Type: multipart/mixed; boundary=changesetresponse_{tag}", ""]
        for number, (status, detail) in enumerate(results, start=1):
            lines += [
                f"--changesetresponse_{tag}",
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
            ]
            lines += [f"Content-ID: {number}", ""]
            if status == 204:
                lines += ["HTTP/1.1 204 No Content", "OData-Version: 4.0", f"OData-EntityId: {detail}", "", ""]
            else:
                payload = json.dumps({"error": {"code": "0x80040203", "message": detail}})
                lines += [f"HTTP/1.1 {status} Bad Request", "Content-Type: application/json; odata.metadata=minimal"]
                lines += ["", payload]
        lines += [f"--changesetresponse_{tag}--", f"--batchresponse_{tag}--", ""]
        return Response(
            "\r\n".join(lines).encode(),
            status_code=200,
            headers={"Content-Type": f"multipart/mixed; boundary=batchresponse_{tag}", "OData-Version": "4.0"},
        )

    async def close_incident(body: dict[str, Any]) -> Response:
        params = ACTIONS["CloseIncident"]
        if set(body) != set(params) or not isinstance(body.get("Status"), int):
            return error(400, "0x80040203", f"CloseIncident takes {', '.join(params)}")
        resolution = body["IncidentResolution"]
        problems = problems_with_body(
            TABLES["incidentresolutions"], resolution, "IncidentResolution", action_parameter=True
        )
        if problems:
            return error(400, "0x80060888", "; ".join(problems))
        match = TARGET.match(str(resolution.get("incidentid@odata.bind", "/"))[1:])
        case = state.find("incidents", match["key"]) if match and match["key"] else None
        if case is None:
            return error(404, "0x80040217", "incident Does Not Exist")
        if case.get("statecode") != 0:
            return error(400, "0x80043e09", "This case has already been resolved.")
        state.add(
            "incidentresolutions",
            {
                "subject": resolution.get("subject"),
                "description": resolution.get("description"),
                "_incidentid_value": case["incidentid"],
            },
        )
        case.update(statecode=1, statuscode=body["Status"], modifiedon=state.stamp())
        if (lost := await state.after_effect()) is not None:
            return lost
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route(f"/{TENANT}/oauth2/v2.0/token", token, methods=["POST"]),
            Route(f"{BASE}/{{target:path}}", api, methods=["GET", "POST", "PATCH"]),
        ]
    )


@contextlib.contextmanager
def running(state: DataverseState | None = None) -> Iterator[tuple[DataverseState, str]]:
    """A fake Dataverse on a local port; its origin is also the org URL the token scope names."""
    state = state or DataverseState()
    with serve(build_app(state)) as url:
        state.origin = url
        yield state, url


def write_config(tmp_path: Path, url: str) -> Path:
    """An integrations.toml with one `d365` connector pointing at the fake, its secrets in a 0600 file."""
    cred = write_credentials(tmp_path, "d365", access_token="")
    path = tmp_path / "integrations.toml"
    path.write_text(
        f"""
[delivery]
lease_seconds = 1.0
batch_size = 8
backoff_base_seconds = 0.05
poll_seconds = 0.05

[connectors.d365]
type = "dynamics365"
org_url = "{url}"
token_url = "{url}/{TENANT}/oauth2/v2.0/token"
credentials_file = "{cred}"
oauth_state_file = "{tmp_path / "d365-oauth.json"}"
""",
        encoding="utf-8",
    )
    return path
