"""Offline batches: applied once, in the phone's time order, conflicts answered per item, the rest kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from data.actor import Actor
from data.db import Database
from data.feed import last_seq, tail
from data.models import Job, JobNote, JobStatus, Role
from data.models.field import CompletionReport, PhotoRef
from data.services.completion import signature_hash
from data.services.jobs import assign_job
from data.services.sync import ClientEvent, ClientEventType, StatusChange, SyncOutcome, apply_batch
from tests.factories import DISPATCHER
from tests.integrations.test_field_api_world import FieldWorld, at, field_world


@pytest.fixture
def world(sqlite_db: Database) -> Iterator[FieldWorld]:
    yield from field_world(sqlite_db)


def item(cid: str, kind: str, when: datetime, job: str | None = None, **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"client_event_id": cid, "type": kind, "occurred_at": when.isoformat(), "payload": payload}
    if job is not None:
        body["job_ref"] = job
    return body


def sync(world: FieldWorld, items: list[dict[str, Any]], tech: str = "T1") -> dict[str, Any]:
    r = world.client.post("/v1/sync", json={"events": items}, headers=world.auth(tech))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def job_row(db: Database, ref: str) -> Job:
    with db.read() as s:
        job = s.scalar(select(Job).where(Job.ref == ref))
        assert job is not None
        return job


def whole_visit(ref: str) -> list[dict[str, Any]]:
    summary = "Filter replaced"
    return [
        item("p-1", "position", at(8, 30), lat=60.17, lon=24.94),
        item("s-1", "status", at(8, 40), ref, status="en_route"),
        item("s-2", "status", at(9), ref, status="on_site"),
        item("n-1", "note", at(9, 10), ref, body="Filter clogged"),
        item("ph-1", "photo", at(9, 15), ref, uri="s3://p/1.jpg", caption="Before"),
        item(
            "sg-1",
            "signature",
            at(10),
            ref,
            signer_name="Anna",
            signed_at=at(10).isoformat(),
            summary_sha256=signature_hash(summary),
        ),
        item(
            "c-1",
            "completion",
            at(10, 5),
            ref,
            actual_start=at(9).isoformat(),
            labour_minutes=65,
            travel_minutes=20,
            resolution_code="FIXED",
        ),
    ]


def test_a_batch_replayed_twice_changes_nothing_the_second_time(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    first = sync(world, whole_visit(ref))
    assert (first["applied"], first["duplicate"], first["rejected"]) == (7, 0, 0), first
    seq = last_seq(world.db)
    job = job_row(world.db, ref)
    assert job.status is JobStatus.COMPLETED
    assert (job.arrived_at, job.actual_end) == (at(9), at(10, 5))
    second = sync(world, whole_visit(ref))
    assert [r["outcome"] for r in second["results"]] == ["duplicate"] * 7
    assert last_seq(world.db) == seq
    assert job_row(world.db, ref).version == job.version
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(JobNote).where(JobNote.body == "Filter clogged")) == 1
        assert s.scalar(select(func.count()).select_from(PhotoRef)) == 1
        report = s.scalar(select(CompletionReport))
        assert report is not None and report.signer_name == "Anna"


def test_out_of_order_items_apply_in_client_time_order(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    shuffled = list(reversed(whole_visit(ref)))
    result = sync(world, shuffled)
    assert [r["client_event_id"] for r in result["results"]] == ["p-1", "s-1", "s-2", "n-1", "ph-1", "sg-1", "c-1"]
    assert result["applied"] == 7
    transitions = [(e.payload["from"], e.payload["to"]) for e in tail(world.db) if e.type == "job.status_changed"]
    assert transitions[-3:] == [("dispatched", "en_route"), ("en_route", "on_site"), ("on_site", "completed")]
    job = job_row(world.db, ref)
    assert (job.arrived_at, job.actual_end) == (at(9), at(10, 5))


def test_conflicting_items_are_rejected_and_the_rest_applies(world: FieldWorld) -> None:
    morning, noon = world.jobs["t1_morning"], world.jobs["t1_noon"]
    # While the phone was offline the dispatcher gave the noon job to T3.
    assign_job(world.db, DISPATCHER, noon, "T3", at(11), reassign=True)
    batch = [
        item("a", "status", at(8, 40), morning, status="en_route"),
        item("b", "status", at(8, 45), morning, status="paused"),  # illegal from en_route
        item("c", "status", at(9), morning, status="on_site"),
        item("d", "status", at(10, 30), noon, status="en_route"),  # reassigned meanwhile
        item("e", "note", at(10, 31), noon, body="On my way"),
        item("f", "position", at(10, 32), lat=60.2, lon=24.9),
    ]
    result = sync(world, batch)
    outcomes = {r["client_event_id"]: (r["outcome"], r["code"]) for r in result["results"]}
    assert outcomes == {
        "a": ("applied", None),
        "b": ("rejected", "illegal_transition"),
        "c": ("applied", None),
        "d": ("rejected", "reassigned"),
        "e": ("rejected", "reassigned"),
        "f": ("applied", None),
    }
    reason = next(r["reason"] for r in result["results"] if r["client_event_id"] == "d")
    assert f"job {noon} is assigned to T3, not T1" in reason
    assert job_row(world.db, morning).status is JobStatus.ON_SITE
    assert job_row(world.db, noon).status is JobStatus.SCHEDULED
    # A replay answers every item duplicate, rejected ones included, and writes nothing.
    seq = last_seq(world.db)
    again = sync(world, batch)
    assert {r["outcome"] for r in again["results"]} == {"duplicate"}
    assert "rejected" in next(r["reason"] for r in again["results"] if r["client_event_id"] == "d")
    assert last_seq(world.db) == seq


def test_an_unreadable_payload_rejects_only_its_item(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    result = sync(
        world,
        [
            item("x", "position", at(8), lat=123, lon=24.9),
            item("y", "note", at(8, 1), ref, text="wrong key"),
            item("z", "status", at(8, 2), ref, status="en_route"),
        ],
    )
    by_id = {r["client_event_id"]: r for r in result["results"]}
    assert by_id["x"]["outcome"] == "rejected" and by_id["x"]["field"] == "payload.lat"
    assert "less than or equal to 90" in by_id["x"]["reason"]
    assert by_id["y"]["outcome"] == "rejected" and by_id["y"]["field"] in {"payload.body", "payload.text"}
    assert by_id["z"]["outcome"] == "applied"


def test_a_malformed_envelope_refuses_the_whole_batch(world: FieldWorld) -> None:
    seq = last_seq(world.db)
    bad = item("k", "status", at(8), world.jobs["t1_morning"], status="en_route")
    bad["occurred_at"] = "2026-11-18T08:00:00"  # no time zone: cannot be ordered
    r = world.client.post("/v1/sync", json={"events": [bad]}, headers=world.auth())
    assert r.status_code == 422 and r.json()["error"]["field"] == "events.0.occurred_at"
    r = world.client.post("/v1/sync", json={"events": [{**bad, "type": "teleport"}]}, headers=world.auth())
    assert r.status_code == 422
    assert last_seq(world.db) == seq


def test_the_same_id_twice_in_one_batch_applies_once(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    result = sync(world, [item("n", "note", at(8), ref, body="once"), item("n", "note", at(8, 1), ref, body="once")])
    assert [r["outcome"] for r in result["results"]] == ["applied", "duplicate"]


def test_ids_are_per_technician(world: FieldWorld) -> None:
    one = sync(world, [item("same-id", "position", at(8), lat=60.1, lon=24.9)], tech="T1")
    two = sync(world, [item("same-id", "position", at(8), lat=60.1, lon=24.9)], tech="T2")
    assert one["applied"] == two["applied"] == 1


def test_concurrent_uploads_of_one_batch_apply_each_item_once(db: Database) -> None:
    world = next(field_world(db))
    ref = world.jobs["t1_morning"]
    with db.read() as s:
        from data.services.jobs import find_technician

        tech_id = find_technician(s, "T1").id
    actor = Actor("t1", Role.TECHNICIAN, "api", technician_id=tech_id)
    batch = [
        ClientEvent(f"s{i}", ClientEventType.STATUS, at(8, i), StatusChange(s), ref)
        for i, s in enumerate([JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.PAUSED])
    ]
    answers: list[list[SyncOutcome]] = []

    def upload() -> None:
        answers.append([r.outcome for r in apply_batch(db, actor, "T1", batch)])

    threads = [threading.Thread(target=upload) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    per_item = list(zip(*answers, strict=True))
    assert all(sorted(o).count(SyncOutcome.APPLIED) == 1 for o in per_item), answers
    assert all(set(o) <= {SyncOutcome.APPLIED, SyncOutcome.DUPLICATE} for o in per_item), answers
    assert job_row(db, ref).status is JobStatus.PAUSED
    changes = [e for e in tail(db) if e.type == "job.status_changed" and e.payload["ref"] == ref]
    assert [c.payload["to"] for c in changes][-3:] == ["en_route", "on_site", "paused"]


def test_replay_and_conflicts_on_both_engines(db: Database) -> None:
    for world in field_world(db):
        morning, noon = world.jobs["t1_morning"], world.jobs["t1_noon"]
        assign_job(world.db, DISPATCHER, noon, "T3", at(11), reassign=True)
        batch = [*whole_visit(morning), item("late", "status", at(10, 30), noon, status="en_route")]
        first = sync(world, batch)
        assert (first["applied"], first["rejected"]) == (7, 1)
        seq = last_seq(world.db)
        second = sync(world, list(reversed(batch)))
        assert second["duplicate"] == 8 and last_seq(world.db) == seq
        assert job_row(world.db, morning).arrived_at == at(9)
