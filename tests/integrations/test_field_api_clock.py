"""Clock in/out and breaks as typed events, from the phone online or offline; quotes from the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from data.db import Database
from data.feed import last_seq, tail
from data.services.attendance import AttendanceEvent, AttendanceState, ClockAct, attendance, record_act
from tests.factories import DISPATCHER
from tests.integrations.test_field_api_world import FIELD_DAY, FieldWorld, at, field_world


@pytest.fixture
def world(sqlite_db: Database) -> Iterator[FieldWorld]:
    yield from field_world(sqlite_db)


def clock(world: FieldWorld, act: str, when: Any, tech: str = "T1") -> Any:
    return world.client.post("/v1/me/clock", json={"act": act, "at": when.isoformat()}, headers=world.auth(tech))


def test_a_working_day_is_four_kinds_of_typed_event(world: FieldWorld) -> None:
    steps = [("clock_in", at(7, 55)), ("break_start", at(11, 30)), ("break_end", at(12)), ("clock_out", at(16, 5))]
    for act, when in steps:
        r = clock(world, act, when)
        assert r.status_code == 200, r.text
    events = [e for e in tail(world.db) if e.type.startswith(("technician.clocked", "technician.break"))]
    assert [e.type for e in events] == [
        "technician.clocked_in",
        "technician.break_started",
        "technician.break_ended",
        "technician.clocked_out",
    ]
    parsed = [AttendanceEvent.from_payload(e.payload) for e in events]
    assert [p.act for p in parsed] == [ClockAct(a) for a, _ in steps]
    assert [p.at for p in parsed] == [w for _, w in steps]
    assert {p.shift_started_at for p in parsed} == {at(7, 55)}
    assert {p.local_day for p in parsed} == {FIELD_DAY}
    assert [p.state for p in parsed][-1] is AttendanceState.OFF
    assert all(e.actor == "T1" and e.source == "api" for e in events)
    assert world.client.get("/v1/me/clock", headers=world.auth()).json()["state"] == "off"


@pytest.mark.parametrize(
    ("before", "bad"),
    [([], "clock_out"), ([], "break_start"), (["clock_in"], "clock_in"), (["clock_in", "break_start"], "clock_out")],
)
def test_acts_out_of_order_are_409_and_write_nothing(world: FieldWorld, before: list[str], bad: str) -> None:
    for i, act in enumerate(before):
        assert clock(world, act, at(8, i)).status_code == 200
    seq = last_seq(world.db)
    r = clock(world, bad, at(9))
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    assert last_seq(world.db) == seq


def test_an_act_before_the_previous_one_is_422(world: FieldWorld) -> None:
    clock(world, "clock_in", at(8))
    r = clock(world, "break_start", at(7))
    assert r.status_code == 422 and r.json()["error"]["field"] == "at"


def test_a_night_shift_keeps_the_day_it_began(world: FieldWorld) -> None:
    record_act(world.db, DISPATCHER, "T1", ClockAct.CLOCK_IN, at(22))
    event = record_act(world.db, DISPATCHER, "T1", ClockAct.CLOCK_OUT, at(22) + timedelta(hours=6))
    assert event.local_day == FIELD_DAY and event.shift_started_at == at(22)
    assert attendance(world.db, "T1").state is AttendanceState.OFF


def test_clock_acts_travel_in_an_offline_batch(world: FieldWorld) -> None:
    items = [
        {"client_event_id": f"c-{i}", "type": "clock", "occurred_at": when.isoformat(), "payload": {"act": act}}
        for i, (act, when) in enumerate([("clock_in", at(8)), ("break_start", at(12)), ("break_end", at(12, 30))])
    ]
    r = world.client.post("/v1/sync", json={"events": items[::-1]}, headers=world.auth())
    assert [x["outcome"] for x in r.json()["results"]] == ["applied"] * 3
    again = world.client.post("/v1/sync", json={"events": items}, headers=world.auth())
    assert [x["outcome"] for x in again.json()["results"]] == ["duplicate"] * 3
    state = world.client.get("/v1/me/clock", headers=world.auth()).json()
    assert state["state"] == "working" and state["local_day"] == FIELD_DAY.isoformat()
    bad = {"client_event_id": "c-x", "type": "clock", "occurred_at": at(13).isoformat(), "payload": {"act": "nap"}}
    r = world.client.post("/v1/sync", json={"events": [bad]}, headers=world.auth())
    assert r.json()["results"][0]["code"] == "invalid_input"


def test_a_quote_from_site_online_and_offline(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    for step, when in (("en_route", at(8, 40)), ("on_site", at(9))):
        world.client.post(f"/v1/jobs/{ref}/status", json={"status": step, "at": when.isoformat()}, headers=world.auth())
    body = {
        "summary": "Replace the condensate pump",
        "duration_minutes": 90,
        "lines": [
            {"description": "Pump", "quantity": "1", "unit_price": "120.00", "kind": "part"},
            {"description": "Labour", "quantity": "1.5", "unit_price": "80.00"},
        ],
    }
    r = world.client.post(f"/v1/jobs/{ref}/quotes", json=body, headers=world.auth())
    assert r.status_code == 200, r.text
    assert r.json()["total"] == "240.00" and r.json()["status"] == "proposed"
    item = {"client_event_id": "q-2", "type": "quote", "occurred_at": at(9, 30).isoformat(), "job_ref": ref}
    r = world.client.post("/v1/sync", json={"events": [{**item, "payload": body}]}, headers=world.auth())
    assert r.json()["results"][0]["outcome"] == "applied", r.text
    assert [e.payload["ref"] for e in tail(world.db) if e.type == "quote.proposed"] == [f"Q-{ref}-1", f"Q-{ref}-2"]
    r = world.client.post(
        f"/v1/jobs/{ref}/quotes",
        json={**body, "lines": [{**body["lines"][0], "unit_price": 120}]},
        headers=world.auth(),
    )
    assert r.status_code == 422 and "unit_price" in r.json()["error"]["field"]


def test_a_clocked_day_is_the_timesheet_and_an_approved_week_refuses_more_acts(world: FieldWorld) -> None:
    from data.services.timesheets import approve_week, compute_timesheet, week_label

    for act, when in (("clock_in", at(7, 55)), ("break_start", at(11, 30)), ("break_end", at(12)),
                      ("clock_out", at(16, 5))):  # fmt: skip
        assert clock(world, act, when).status_code == 200
    figures = compute_timesheet(world.db, "T1", FIELD_DAY, now=at(17))
    assert figures.source == "attendance" and figures.paid_minutes == 8 * 60 + 10 - 30
    monday = FIELD_DAY - timedelta(days=FIELD_DAY.weekday())
    approve_week(world.db, DISPATCHER, week_label(monday), technician="T1", now=at(17) + timedelta(days=7))
    seq = last_seq(world.db)
    r = clock(world, "clock_in", at(18))
    assert r.status_code == 409 and "approved by dana" in r.json()["error"]["message"]
    assert last_seq(world.db) == seq
