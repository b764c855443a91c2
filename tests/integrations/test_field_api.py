"""The field API through an ASGI client: tokens, my day, every status path, reports, positions, errors."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select

from data.db import Database
from data.feed import last_seq, tail
from data.models import Job, Technician
from data.models.api_tokens import ApiToken
from data.models.field import CompletionReport, InvoiceDraft, PhotoRef
from data.models.sealed import SealedSecret
from data.services.api_tokens import revoke_token
from data.services.completion import signature_hash
from data.services.sealed_secrets import TOKEN_PEPPER, token_pepper
from tests.factories import ADMIN
from tests.integrations.test_field_api_world import FIELD_DAY, FieldWorld, at, field_world


@pytest.fixture
def world(sqlite_db: Database) -> Iterator[FieldWorld]:
    yield from field_world(sqlite_db)


def job_row(db: Database, ref: str) -> Job:
    with db.read() as s:
        job = s.scalar(select(Job).where(Job.ref == ref))
        assert job is not None
        return job


def status(world: FieldWorld, ref: str, value: str, tech: str = "T1", **extra: object) -> httpx.Response:
    body = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in extra.items()}
    return world.client.post(f"/v1/jobs/{ref}/status", json={"status": value, **body}, headers=world.auth(tech))


# --- authentication -------------------------------------------------------------------------------------


def test_missing_token_is_401_with_a_message(world: FieldWorld) -> None:
    r = world.client.get("/v1/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"] == {
        "code": "unauthenticated",
        "message": "missing API token: send 'Authorization: Bearer <token>'",
        "field": None,
    }


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        ("Bearer nonsense", "malformed API token"),
        ("Bearer dsp_1_wrongsecret", "invalid API token"),
        ("Bearer dsp_999_wrongsecret", "invalid API token"),
        ("Basic dXNlcjpwYXNz", "must read 'Bearer <token>'"),
    ],
)
def test_bad_tokens_are_401(world: FieldWorld, header: str, needle: str) -> None:
    r = world.client.get("/v1/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert needle in r.json()["error"]["message"]


def test_revoked_token_is_refused_from_the_next_request(world: FieldWorld) -> None:
    assert world.client.get("/v1/me", headers=world.auth()).status_code == 200
    revoke_token(world.db, ADMIN, world.token_ids["T1"])
    r = world.client.get("/v1/me", headers=world.auth())
    assert r.status_code == 401
    assert f"API token {world.token_ids['T1']} was revoked" in r.json()["error"]["message"]
    assert world.client.get("/v1/me", headers=world.auth("T2")).status_code == 200


def test_token_is_stored_hashed_with_the_sealed_pepper_and_last_use_is_recorded(world: FieldWorld) -> None:
    world.client.get("/v1/me", headers=world.auth())
    secret = world.tokens["T1"].split("_", 2)[2]
    pepper = token_pepper(world.db, fresh=True)
    with world.db.read() as s:
        row = s.get(ApiToken, world.token_ids["T1"])
        assert row is not None and row.peppered
        # A stolen backup cannot check guesses: the digest needs the pepper, which only the key opens.
        assert row.secret_sha256 != hashlib.sha256(secret.encode()).hexdigest()
        assert row.secret_sha256 == hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()
        assert secret not in row.secret_sha256
        sealed = s.get(SealedSecret, TOKEN_PEPPER)
        assert sealed is not None and pepper.hex() not in sealed.ciphertext
        assert row.last_used_at is not None


def test_me_names_the_technician(world: FieldWorld) -> None:
    body = world.client.get("/v1/me", headers=world.auth()).json()
    assert body["technician"] == "T1"
    assert body["timezone"] == "Europe/Helsinki"
    assert body["skills"] == {"hvac": 3, "electrical": 1}


# --- my day -----------------------------------------------------------------------------------------------


def test_my_day_has_full_context_in_planned_order(world: FieldWorld) -> None:
    # An earlier finished visit at S1 shows up as history on the morning job.
    earlier = world.jobs["t1_noon"]
    status(world, earlier, "on_site", at=at(8))
    r = world.client.post(
        f"/v1/jobs/{earlier}/notes",
        json={"body": "Valve sticks in cold weather", "at": at(8, 5).isoformat()},
        headers=world.auth(),
    )
    assert r.status_code == 200
    r = world.client.get("/v1/me/jobs", params={"date": FIELD_DAY.isoformat()}, headers=world.auth())
    assert r.status_code == 200, r.text
    day = r.json()
    assert day["date"] == FIELD_DAY.isoformat()
    refs = [j["ref"] for j in day["jobs"]]
    assert refs == [world.jobs["t1_morning"], world.jobs["t1_noon"], world.jobs["t1_afternoon"]]
    morning = day["jobs"][0]
    assert morning["customer"]["name"] == "Kallio Bakery Oy"
    assert morning["contacts"][0] == {
        "name": "Anna Asiakas",
        "role": None,
        "email": None,
        "phone": "+358401234567",
        "primary": True,
    }
    assert morning["site"]["access_notes"] == "Back door, key box code 1234"
    assert morning["asset"]["serial"] == "HP-001" and morning["asset"]["under_warranty"] is True
    assert morning["contract"]["code"] == "K1" and morning["contract"]["in_force"] is True
    assert morning["contract"]["sla_response_hours"] == 8
    assert morning["sla_due"] is not None
    assert [n["body"] for n in morning["notes"]] == ["Customer asks for a call 15 min ahead"]
    assert world.jobs["t2_job"] not in refs


def test_previous_visits_at_the_site_carry_their_notes(world: FieldWorld) -> None:
    # T2's job at S2 is finished first; T1's noon job at S2 then shows it as history.
    t2 = world.jobs["t2_job"]
    status(world, t2, "on_site", tech="T2", at=at(9))
    world.client.post(
        f"/v1/jobs/{t2}/notes", json={"body": "Shut-off valve behind the boiler"}, headers=world.auth("T2")
    )
    status(world, t2, "incomplete", tech="T2", reason="Part missing", at=at(9, 40))
    job = world.client.get(f"/v1/jobs/{world.jobs['t1_noon']}", headers=world.auth()).json()
    assert [v["ref"] for v in job["previous_visits"]] == [t2]
    visit = job["previous_visits"][0]
    assert visit["technician"] == "T2" and visit["status"] == "incomplete"
    assert [n["body"] for n in visit["notes"]] == ["Shut-off valve behind the boiler"]


def test_a_day_without_jobs_is_empty_and_bad_dates_are_422(world: FieldWorld) -> None:
    r = world.client.get("/v1/me/jobs", params={"date": "2026-12-25"}, headers=world.auth())
    assert r.status_code == 200 and r.json()["jobs"] == []
    r = world.client.get("/v1/me/jobs", params={"date": "25.12.2026"}, headers=world.auth())
    assert r.status_code == 422 and r.json()["error"]["field"] == "date"


def test_another_technicians_job_is_403_and_unknown_is_404(world: FieldWorld) -> None:
    r = world.client.get(f"/v1/jobs/{world.jobs['t2_job']}", headers=world.auth("T1"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "reassigned"
    assert "assigned to T2, not T1" in r.json()["error"]["message"]
    r = status(world, world.jobs["t2_job"], "en_route", tech="T1")
    assert r.status_code == 403
    assert job_row(world.db, world.jobs["t2_job"]).status.value == "dispatched"
    r = world.client.get("/v1/jobs/J999999", headers=world.auth())
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_my_van_stock(world: FieldWorld) -> None:
    body = world.client.get("/v1/me/stock", headers=world.auth()).json()
    assert body == {
        "location": "VAN-T1",
        "lines": [
            {"sku": "FLT-01", "name": "Air filter", "quantity": 3, "serial_tracked": False, "list_price": "12.90"}
        ],
    }


# --- status paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ["en_route", "on_site", "paused", "on_site", "paused", "incomplete"],
        ["en_route", "dispatched", "on_site", "incomplete"],
        ["on_site", "incomplete"],
        ["en_route", "on_site", "paused", "incomplete"],
    ],
)
def test_every_status_path(world: FieldWorld, path: list[str]) -> None:
    ref = world.jobs["t1_morning"]
    for i, step in enumerate(path):
        extra = {"reason": "Customer not home"} if step == "incomplete" else {}
        r = status(world, ref, step, at=at(8, 10 * i).isoformat(), **extra)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == step
    job = job_row(world.db, ref)
    first_on_site = path.index("on_site")
    assert job.arrived_at == at(8, 10 * first_on_site)
    assert job.actual_end == at(8, 10 * (len(path) - 1))


def test_status_changes_move_the_technician_and_log_events(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    status(world, ref, "en_route", at=at(8, 40).isoformat())
    with world.db.read() as s:
        tech = s.scalar(select(Technician).where(Technician.code == "T1"))
        assert tech is not None and tech.status.value == "en_route"
    event = [e for e in tail(world.db) if e.type == "job.status_changed"][-1]
    assert event.payload["to"] == "en_route" and event.source == "api" and event.actor == "T1"


@pytest.mark.parametrize(
    ("steps", "bad", "code", "http"),
    [
        ([], "paused", "illegal_transition", 409),
        (["en_route"], "paused", "illegal_transition", 409),
        (["on_site"], "en_route", "illegal_transition", 409),
        (["on_site"], "completed", "invalid_input", 422),
        (["on_site"], "incomplete", "invalid_input", 422),  # no reason
    ],
)
def test_illegal_status_moves_are_refused(world: FieldWorld, steps: list[str], bad: str, code: str, http: int) -> None:
    ref = world.jobs["t1_morning"]
    for step in steps:
        assert status(world, ref, step).status_code == 200
    before = last_seq(world.db)
    r = status(world, ref, bad)
    assert r.status_code == http
    assert r.json()["error"]["code"] == code
    assert last_seq(world.db) == before


def test_unknown_status_and_naive_time_are_422(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    r = status(world, ref, "flying")
    assert r.status_code == 422 and r.json()["error"]["field"] == "status"
    r = status(world, ref, "en_route", at="2026-11-18T09:00:00")
    assert r.status_code == 422 and r.json()["error"]["field"] == "at"
    assert "timezone" in r.json()["error"]["message"]


# --- notes, photos, signature, completion ---------------------------------------------------------------


def test_notes_and_photos_are_recorded(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    r = world.client.post(f"/v1/jobs/{ref}/notes", json={"body": "  Gate code 4455  "}, headers=world.auth())
    assert r.status_code == 200 and r.json()["kind"] == "note"
    r = world.client.post(
        f"/v1/jobs/{ref}/photos",
        json={"uri": "s3://photos/1.jpg", "caption": "Before", "taken_at": at(9, 5).isoformat()},
        headers=world.auth(),
    )
    assert r.status_code == 200
    job = world.client.get(f"/v1/jobs/{ref}", headers=world.auth()).json()
    assert job["notes"][-1]["body"] == "Gate code 4455" and job["notes"][-1]["author_kind"] == "technician"
    assert [(p["id"], p["uri"], p["caption"]) for p in job["photos"]] == [
        (r.json()["id"], "s3://photos/1.jpg", "Before")
    ]
    assert datetime.fromisoformat(job["photos"][0]["taken_at"]) == at(9, 5)
    with world.db.read() as s:
        photo = s.scalar(select(PhotoRef))
        assert photo is not None and photo.taken_at == at(9, 5) and photo.created_by == "T1"
    r = world.client.post(f"/v1/jobs/{ref}/notes", json={"body": ""}, headers=world.auth())
    assert r.status_code == 422 and r.json()["error"]["field"] == "body"


def test_completion_with_separate_signature_drafts_an_invoice(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    status(world, ref, "en_route", at=at(8, 40).isoformat())
    status(world, ref, "on_site", at=at(9).isoformat())
    summary = "Filter replaced; unit runs quietly"
    r = world.client.post(
        f"/v1/jobs/{ref}/signature",
        json={
            "signer_name": "Anna Asiakas",
            "signed_at": at(10).isoformat(),
            "summary_sha256": signature_hash(summary),
        },
        headers=world.auth(),
    )
    assert r.status_code == 200, r.text
    report = {
        "actual_start": at(9).isoformat(),
        "actual_end": at(10, 5).isoformat(),
        "labour_minutes": 65,
        "travel_minutes": 20,
        "resolution_code": "REPLACED_FILTER",
        "parts": [{"sku": "FLT-01", "quantity": 1}],
        "expenses": [{"kind": "parking", "description": "Street parking", "amount": "4.50"}],
        "client_event_id": "done-1",
    }
    r = world.client.post(f"/v1/jobs/{ref}/completion", json=report, headers=world.auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "completed" and body["invoice_ref"] and body["repeated"] is False
    assert isinstance(body["invoice_total"], str)
    again = world.client.post(f"/v1/jobs/{ref}/completion", json=report, headers=world.auth())
    assert again.status_code == 200 and again.json()["repeated"] is True
    job = job_row(world.db, ref)
    assert job.status.value == "completed" and job.arrived_at == at(9) and job.actual_end == at(10, 5)
    with world.db.read() as s:
        row = s.scalar(select(CompletionReport))
        assert row is not None
        assert (row.signer_name, row.summary_sha256) == ("Anna Asiakas", signature_hash(summary))
        assert s.scalar(select(InvoiceDraft).where(InvoiceDraft.job_id == job.id)) is not None
    stock = world.client.get("/v1/me/stock", headers=world.auth()).json()
    assert stock["lines"][0]["quantity"] == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expenses": [{"kind": "parking", "description": "x", "amount": 4.5}]}, "expenses.0.amount"),
        ({"expenses": [{"kind": "parking", "description": "x", "amount": "4.555"}]}, "expenses.0.amount"),
        ({"labour_minutes": -5}, "labour_minutes"),
        ({"actual_start": "2026-11-18T09:00:00"}, "actual_start"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_completion_reports_are_422_naming_the_field(
    world: FieldWorld, change: dict[str, object], field: str
) -> None:
    ref = world.jobs["t1_morning"]
    status(world, ref, "on_site", at=at(9).isoformat())
    report = {"actual_start": at(9).isoformat(), "labour_minutes": 60, "travel_minutes": 10, "resolution_code": "OK"}
    r = world.client.post(f"/v1/jobs/{ref}/completion", json={**report, **change}, headers=world.auth())
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_completion_before_arrival_is_a_conflict(world: FieldWorld) -> None:
    report = {"actual_start": at(9).isoformat(), "labour_minutes": 60, "travel_minutes": 10, "resolution_code": "OK"}
    r = world.client.post(f"/v1/jobs/{world.jobs['t1_morning']}/completion", json=report, headers=world.auth())
    assert r.status_code == 409 and "only a job on site or paused" in r.json()["error"]["message"]


# --- positions ------------------------------------------------------------------------------------------


def test_one_or_many_positions(world: FieldWorld) -> None:
    r = world.client.post(
        "/v1/positions", json={"lat": 60.17, "lon": 24.94, "at": at(8).isoformat()}, headers=world.auth()
    )
    assert r.status_code == 200 and r.json() == {"recorded": 1}
    pings = [
        {"lat": 60.18, "lon": 24.95, "at": at(8, 1).isoformat()},
        {"lat": 60.19, "lon": 24.96, "at": at(8, 2).isoformat()},
    ]
    r = world.client.post("/v1/positions", json={"positions": pings}, headers=world.auth())
    assert r.json() == {"recorded": 2}
    me = world.client.get("/v1/me", headers=world.auth()).json()
    assert (me["last_lat"], me["last_lon"]) == (60.19, 24.96)
    assert sum(1 for e in tail(world.db) if e.type == "technician.position") == 3


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"lat": 91, "lon": 24.9}, "lat", "less than or equal to 90"),
        ({"lat": 60.1, "lon": -181}, "lon", "greater than or equal to -180"),
        ({"lat": "north", "lon": 24.9}, "lat", "valid number"),
        ({"positions": []}, "positions", "at least 1"),
    ],
)
def test_bad_positions_are_422_with_a_message(
    world: FieldWorld, body: dict[str, object], field: str, needle: str
) -> None:
    before = last_seq(world.db)
    r = world.client.post("/v1/positions", json=body, headers=world.auth())
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and needle in error["message"]
    assert field in error["message"]
    assert last_seq(world.db) == before


def test_a_phone_clock_far_ahead_is_refused(world: FieldWorld) -> None:
    r = world.client.post(
        "/v1/positions", json={"lat": 60.1, "lon": 24.9, "at": "2099-01-01T00:00:00Z"}, headers=world.auth()
    )
    assert r.status_code == 422 and "in the future" in r.json()["error"]["message"]


def test_openapi_lists_every_endpoint_and_docs_are_served(world: FieldWorld) -> None:
    spec = world.client.get("/openapi.json").json()
    expected = {
        "/v1/me",
        "/v1/me/jobs",
        "/v1/me/stock",
        "/v1/jobs/{ref}",
        "/v1/jobs/{ref}/status",
        "/v1/jobs/{ref}/notes",
        "/v1/jobs/{ref}/photos",
        "/v1/jobs/{ref}/signature",
        "/v1/jobs/{ref}/completion",
        "/v1/positions",
        "/v1/sync",
    }
    assert expected <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["TechnicianToken"]["scheme"] == "bearer"
    assert "401" in spec["paths"]["/v1/positions"]["post"]["responses"]
    assert world.client.get("/docs").status_code == 200


def test_unknown_route_answers_in_the_error_shape(world: FieldWorld) -> None:
    r = world.client.get("/v1/nowhere", headers=world.auth())
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
