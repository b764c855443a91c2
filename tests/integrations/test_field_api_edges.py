"""Bad input at the field API's edge: body limits before reading, strict coordinates, one error shape,
and a completion retried on another route answered as a repeat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from data.db import Database
from data.errors import InvalidInput
from data.feed import last_seq, tail
from data.services.api_tokens import revoke_token
from data.services.completion import signature_hash
from data.services.sync import PositionPing, record_positions
from tests.factories import ADMIN, DISPATCHER
from tests.integrations.test_field_api_world import FieldWorld, arrive, at, field_world


@pytest.fixture
def world(sqlite_db: Database) -> Iterator[FieldWorld]:
    yield from field_world(sqlite_db)


class CountingBody:
    """An ASGI request body of `size` bytes sent in 64 KB chunks, counting what the app actually read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read = 0

    async def receive(self) -> dict[str, Any]:
        chunk = min(65536, self.size - self.read)
        self.read += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": self.read < self.size}


def call_asgi(world: FieldWorld, path: str, body: CountingBody, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request straight into the ASGI app, so the test sees how much of the body was pulled."""
    app = world.client.app
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, body.receive, send))  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, content


# --- body size and authentication before reading -------------------------------------------------------


def test_a_big_body_without_a_token_is_refused_before_it_is_read(world: FieldWorld) -> None:
    body = CountingBody(40 * 1024 * 1024)
    status, content = call_asgi(
        world, "/v1/positions", body, {"content-type": "application/json", "content-length": str(body.size)}
    )
    assert status == 401
    assert json.loads(content)["error"]["code"] == "unauthenticated"
    assert body.read == 0


@pytest.mark.parametrize(("path", "limit"), [("/v1/positions", 64 * 1024), ("/v1/sync", 2 * 1024 * 1024)])
def test_a_body_over_the_route_limit_is_413_before_it_is_read(world: FieldWorld, path: str, limit: int) -> None:
    body = CountingBody(limit + 1)
    headers = {"content-type": "application/json", "content-length": str(body.size), **world.auth()}
    status, content = call_asgi(world, path, body, headers)
    assert status == 413
    error = json.loads(content)["error"]
    assert error["code"] == "too_large" and str(limit) in error["message"]
    assert body.read == 0


def test_a_chunked_body_is_cut_off_at_the_route_limit(world: FieldWorld) -> None:
    body = CountingBody(10 * 1024 * 1024)
    status, content = call_asgi(world, "/v1/positions", body, {"content-type": "application/json", **world.auth()})
    assert status == 413 and json.loads(content)["error"]["code"] == "too_large"
    assert body.read <= 64 * 1024 + 65536


# --- coordinates are numbers, strictly -----------------------------------------------------------------


@pytest.mark.parametrize(
    "ping",
    [
        {"lat": True, "lon": False},
        {"lat": "60.1", "lon": 24.9},
        {"lat": 60.1, "lon": "24.9"},
        {"lat": None, "lon": 24.9},
    ],
)
def test_coordinates_must_be_json_numbers(world: FieldWorld, ping: dict[str, Any]) -> None:
    before = last_seq(world.db)
    r = world.client.post("/v1/positions", json=ping, headers=world.auth())
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_input"
    assert r.json()["error"]["field"] in ("lat", "lon")
    assert last_seq(world.db) == before


def test_coordinates_in_a_sync_item_are_strict_too(world: FieldWorld) -> None:
    item = {
        "client_event_id": "p-bool",
        "type": "position",
        "occurred_at": at(8).isoformat(),
        "payload": {"lat": True, "lon": False},
    }
    r = world.client.post("/v1/sync", json={"events": [item]}, headers=world.auth())
    assert r.status_code == 200
    assert r.json()["results"][0]["outcome"] == "rejected"
    assert r.json()["results"][0]["code"] == "invalid_input"


def test_whole_numbers_are_still_coordinates(world: FieldWorld) -> None:
    r = world.client.post("/v1/positions", json={"lat": 60, "lon": 25}, headers=world.auth())
    assert r.status_code == 200, r.text


# --- one error shape ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"lat": 60.1, "lon": 24.9, "x": "\xff\xfe"}',  # invalid UTF-8
        '{"lat": 60.1, "lon": 24.9, "at": "Päivä"}'.encode("latin-1"),
        b"[" * 5000 + b"]" * 5000,  # deeply nested
        b'{"lat": 60.1,',  # cut short
    ],
    ids=["invalid-utf8", "latin-1", "deeply-nested", "truncated"],
)
def test_unreadable_bodies_are_422_invalid_input(world: FieldWorld, raw: bytes) -> None:
    for path in ("/v1/positions", "/v1/sync"):
        r = world.client.post(path, content=raw, headers={"content-type": "application/json", **world.auth()})
        assert r.status_code == 422, (path, r.text)
        assert set(r.json()) == {"error"}
        assert r.json()["error"]["code"] == "invalid_input"


# --- a completion retried on another route --------------------------------------------------------------


def _completion(cid: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actual_start": at(9).isoformat(),
        "actual_end": at(10).isoformat(),
        "labour_minutes": 60,
        "travel_minutes": 15,
        "resolution_code": "FIXED",
    }
    if cid:
        body["client_event_id"] = cid
    return body


def test_a_completion_synced_then_retried_on_its_route_is_repeated(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    arrive(world, ref)
    item = {
        "client_event_id": "done-7",
        "type": "completion",
        "occurred_at": at(10).isoformat(),
        "job_ref": ref,
        "payload": _completion(),
    }
    r = world.client.post("/v1/sync", json={"events": [item]}, headers=world.auth())
    assert r.json()["results"][0]["outcome"] == "applied", r.text
    again = world.client.post(f"/v1/jobs/{ref}/completion", json=_completion("done-7"), headers=world.auth())
    assert again.status_code == 200, again.text
    assert again.json()["repeated"] is True and again.json()["status"] == "completed"


def test_a_completion_posted_then_synced_is_a_duplicate(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    arrive(world, ref)
    r = world.client.post(f"/v1/jobs/{ref}/completion", json=_completion("done-8"), headers=world.auth())
    assert r.status_code == 200 and r.json()["repeated"] is False
    item = {
        "client_event_id": "done-8",
        "type": "completion",
        "occurred_at": at(10).isoformat(),
        "job_ref": ref,
        "payload": _completion(),
    }
    r = world.client.post("/v1/sync", json={"events": [item]}, headers=world.auth())
    assert r.json()["results"][0]["outcome"] in ("applied", "duplicate")
    assert r.json()["results"][0]["code"] is None
    completed = [e for e in tail(world.db) if e.type == "job.completed"]
    assert len(completed) == 1


def test_two_technicians_may_use_the_same_client_event_id(world: FieldWorld) -> None:
    """A phone's ids are its own: T2's "done-1" is not T1's."""
    ref1, ref2 = world.jobs["t1_morning"], world.jobs["t2_job"]
    arrive(world, ref1)
    arrive(world, ref2, "T2")
    r1 = world.client.post(f"/v1/jobs/{ref1}/completion", json=_completion("done-1"), headers=world.auth())
    r2 = world.client.post(f"/v1/jobs/{ref2}/completion", json=_completion("done-1"), headers=world.auth("T2"))
    assert r1.status_code == 200 and r2.status_code == 200, r2.text
    assert r1.json()["repeated"] is False and r2.json()["repeated"] is False


# --- the signature travels with job.completed -----------------------------------------------------------


def test_a_signature_sent_before_the_report_is_in_the_completed_event(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    arrive(world, ref)
    sha = signature_hash("Filter replaced")
    r = world.client.post(
        f"/v1/jobs/{ref}/signature",
        json={"signer_name": "Anna Asiakas", "signed_at": at(9, 55).isoformat(), "summary_sha256": sha},
        headers=world.auth(),
    )
    assert r.status_code == 200, r.text
    r = world.client.post(f"/v1/jobs/{ref}/completion", json=_completion("done-9"), headers=world.auth())
    assert r.status_code == 200, r.text
    event = next(e for e in tail(world.db) if e.type == "job.completed")
    assert event.payload["signature"] is not None
    assert event.payload["signature"]["signer"] == "Anna Asiakas"
    assert event.payload["signature"]["summary_sha256"] == sha


def test_a_revoked_token_is_refused_on_the_next_ping_although_pings_skip_the_read(world: FieldWorld) -> None:
    ping = {"lat": 60.17, "lon": 24.94}
    assert world.client.post("/v1/positions", json=ping, headers=world.auth()).status_code == 200
    before = last_seq(world.db)
    revoke_token(world.db, ADMIN, world.token_ids["T1"])
    r = world.client.post("/v1/positions", json=ping, headers=world.auth())
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert last_seq(world.db) == before + 1  # the revocation's own event, no position
    assert world.client.post("/v1/positions", json=ping, headers=world.auth("T2")).status_code == 200


def test_the_data_layer_refuses_booleans_as_coordinates(world: FieldWorld) -> None:
    with pytest.raises(InvalidInput) as caught:
        record_positions(world.db, DISPATCHER, "T1", [(PositionPing(True, False), None)])  # type: ignore[arg-type]
    assert caught.value.field == "lat"


def test_pings_from_many_phones_at_once_are_all_kept(world: FieldWorld) -> None:
    """The grouped write answers every request with its own count and loses none."""
    import concurrent.futures

    def ping(i: int) -> int:
        tech = "T1" if i % 2 else "T2"
        body = {"positions": [{"lat": 60.0 + i / 1000, "lon": 24.9, "at": at(8, i % 60).isoformat()}] * (1 + i % 3)}
        r = world.client.post("/v1/positions", json=body, headers=world.auth(tech))
        assert r.status_code == 200, r.text
        return int(r.json()["recorded"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        sent = sum(pool.map(ping, range(60)))
    stored = [e for e in tail(world.db) if e.type == "technician.position"]
    assert len(stored) == sent == sum(1 + i % 3 for i in range(60))
    assert {e.actor for e in stored} == {"T1", "T2"} and {e.source for e in stored} == {"api"}
