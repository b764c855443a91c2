"""Messages on the job between office and field: threads, audiences kept apart, events, offline through sync."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput, PermissionDenied
from data.feed import last_seq, tail
from data.models.messages import MessageAudience
from data.services.api_tokens import authenticate
from data.services.messages import read_thread, send_message, unread_counts
from dispatch_tui.cli.main import app
from tests.factories import DISPATCHER, SUPERVISOR
from tests.integrations.test_field_api_sync import item, sync
from tests.integrations.test_field_api_world import FieldWorld, at, field_world

runner = CliRunner()


@pytest.fixture
def world(sqlite_db: Database) -> Iterator[FieldWorld]:
    yield from field_world(sqlite_db)


def test_the_office_writes_on_job_and_technician_threads_and_the_audiences_stay_apart(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]
    before = last_seq(world.db)
    send_message(world.db, DISPATCHER, job_ref=ref, body="Bring the long ladder")
    send_message(
        world.db, DISPATCHER, job_ref=ref, body="Your technician arrives at 9", audience=MessageAudience.CUSTOMER
    )
    send_message(world.db, SUPERVISOR, technician="T1", body="Call me after lunch")  # supervisors write too
    events = [e for e in tail(world.db, before) if e.type.startswith("message.")]
    assert [e.type for e in events] == ["message.internal", "message.customer", "message.internal"]
    assert events[1].payload["job_ref"] == ref and events[1].payload["audience"] == "customer"

    body = world.client.get("/v1/me/messages", headers=world.auth("T1")).json()
    assert [m["body"] for m in body["messages"]] == [
        "Bring the long ladder",
        "Call me after lunch",
    ]  # never the customer's
    assert body["unread"] == 2
    assert world.client.get("/v1/me/messages", headers=world.auth("T2")).json()["messages"] == []  # not T2's jobs


def test_a_technicians_message_sent_offline_arrives_once_through_sync(world: FieldWorld) -> None:
    ref = world.jobs["t1_noon"]
    batch = [
        item("m-1", "message", at(10, 5), ref, body="Customer not home, waiting 10 min"),
        item("m-2", "message", at(10, 6), body="Van tyre low"),  # no job: the technician's own thread
    ]
    first = sync(world, batch)
    assert [r["outcome"] for r in first["results"]] == ["applied", "applied"], first
    again = sync(world, batch)
    assert [r["outcome"] for r in again["results"]] == ["duplicate", "duplicate"]

    assert unread_counts(world.db, DISPATCHER) == {f"job:{_job_id(world, ref)}": 1, f"technician:{_tech_id(world)}": 1}
    thread = read_thread(world.db, DISPATCHER, job_ref=ref)
    assert [(m.body, m.author_kind, m.created_at) for m in thread] == [
        ("Customer not home, waiting 10 min", "technician", at(10, 5))
    ]
    assert f"job:{_job_id(world, ref)}" not in unread_counts(world.db, DISPATCHER)  # reading it marked it read
    events = [e for e in tail(world.db, 0) if e.type == "message.internal"]
    assert len(events) == 2 and events[0].payload["author_kind"] == "technician"


def test_a_technician_writes_only_on_their_own_threads_and_never_to_the_customer(world: FieldWorld) -> None:
    other = world.jobs["t2_job"]
    refused = sync(world, [item("m-x", "message", at(10), other, body="hello")])
    assert refused["results"][0]["outcome"] == "rejected"
    r = world.client.post("/v1/me/messages", json={"body": "Parts arrived"}, headers=world.auth("T1"))
    assert r.status_code == 200, r.text
    assert r.json()["thread"].startswith("technician:") and r.json()["author_kind"] == "technician"
    tech_actor = _tech_actor(world)
    with pytest.raises(InvalidInput, match="customer-facing messages are sent by the office"):
        send_message(world.db, tech_actor, technician="T1", body="x", audience=MessageAudience.CUSTOMER)
    with pytest.raises(PermissionDenied):
        read_thread(world.db, tech_actor, technician="T2")


def test_messages_cli_send_and_list(world: FieldWorld) -> None:
    ref = world.jobs["t1_morning"]

    def run(*args: str) -> str:
        result = runner.invoke(app, ["--db", world.db.url, "--as", "dana", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    sent = json.loads(run("messages", "send", "--job", ref, "Gate code is 4455", "--json"))
    assert sent["job_ref"] == ref and sent["audience"] == "internal"
    run("messages", "send", "--tech", "T1", "--customer", "Running 10 min late")
    sync(world, [item("m-1", "message", at(10), ref, body="Thanks")])
    assert json.loads(run("messages", "list", "--json"))["unread"] == {f"job:{_job_id(world, ref)}": 1}
    listed = json.loads(run("messages", "list", "--job", ref, "--json"))
    assert [m["body"] for m in listed] == ["Gate code is 4455", "Thanks"]
    assert json.loads(run("messages", "list", "--json"))["unread"] == {}
    bad = runner.invoke(
        app, ["--db", world.db.url, "--as", "dana", "messages", "send", "--job", ref, "--tech", "T1", "x"]
    )
    assert bad.exit_code == 2 and "name a job or a technician" in bad.stderr


def _job_id(world: FieldWorld, ref: str) -> int:
    from data.services.jobs import find_job

    with world.db.read() as s:
        return find_job(s, ref).id


def _tech_id(world: FieldWorld, code: str = "T1") -> int:
    from data.services.jobs import find_technician

    with world.db.read() as s:
        return find_technician(s, code).id


def _tech_actor(world: FieldWorld) -> Actor:
    """T1 as the field API knows them, from their token."""

    return authenticate(world.db, world.tokens["T1"]).actor
