"""The operator commands: integrations check/preview, worker --once, deliveries list/show/retry/replay/skip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from data.db import Database
from dispatch_tui.cli.main import app
from tests.factories import build_world
from tests.integrations.fake_receiver import SECRET, SECRET_ENV, FakeReceiver, Misbehaviour, emit_events, serve


@pytest.fixture
def setup(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, ...]]:
    build_world(sqlite_db)  # users, so --as ada acts as an admin
    monkeypatch.setenv(SECRET_ENV, SECRET)
    fake = FakeReceiver(secret=SECRET)
    with serve(fake) as url:
        config = tmp_path / "integrations.toml"
        config.write_text(
            f"""
[connectors.hook]
type = "webhook"
url = "{url}/in"
secret_env = "{SECRET_ENV}"
events = ["job.completed"]

[connectors.hook.mapping."job.completed"]
job = "payload.ref"
note = {{ template = "{{ref}}: {{resolution}}" }}
""",
            encoding="utf-8",
        )
        yield sqlite_db, fake, config


def run(db: Database, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", db.url, "--as", "ada", *args])


def test_check_preview_worker_and_dead_letter_handling(setup: tuple[Any, ...]) -> None:
    db, fake, config = setup
    checked = run(db, "integrations", "check", "--config", str(config), "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["connectors"][0]["ok"] is True

    (seq,) = emit_events(db, 1)
    preview = run(db, "integrations", "preview", str(seq), "--connector", "hook", "--config", str(config), "--json")
    assert preview.exit_code == 0, preview.output
    (request,) = json.loads(preview.output)
    assert request["method"] == "POST" and request["url"].endswith("/in")
    assert request["body"]["data"] == {"job": "J00001", "note": "J00001: fixed"}
    assert request["headers"]["webhook-id"] == f"dispatch-hook-{seq}-0"
    assert request["headers"]["webhook-signature"].endswith("****")  # masked
    assert fake.raw == []  # a preview sends nothing

    fake.fail_next(Misbehaviour(400, body=b'{"error":"unknown job"}'))
    worked = run(db, "worker", "--once", "--config", str(config), "--json")
    assert worked.exit_code == 0, worked.output
    assert json.loads(worked.output)["by_status"] == {"dead": 1}

    listed = json.loads(run(db, "deliveries", "list", "--status", "dead", "--json").output)
    assert [(d["id"], d["last_status_code"]) for d in listed] == [(1, 400)]
    shown = run(db, "deliveries", "show", "1")
    assert "unknown job" in shown.output and "webhook" not in shown.output.lower().split("request:")[0]

    assert run(db, "deliveries", "retry", "1").exit_code == 0
    assert run(db, "worker", "--once", "--config", str(config)).exit_code == 0
    (body,) = [e.body for e in fake.effects.values()]
    assert body["data"]["job"] == "J00001"
    assert json.loads(run(db, "deliveries", "show", "1", "--json").output)["status"] == "delivered"

    assert run(db, "deliveries", "skip", "1").exit_code == 2  # delivered cannot be skipped
    assert run(db, "deliveries", "show", "99").exit_code == 2
    assert run(db, "deliveries", "list", "--status", "lost").exit_code == 2


def test_broken_configuration_is_refused_naming_the_key(setup: tuple[Any, ...], tmp_path: Path) -> None:
    db, _fake, _config = setup
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[connectors.qbo]\ntype = "webhook"\nurl = "https://x.test"\n'
        '[connectors.qbo.mapping.invoice]\nCustomerRef = { lookup = "customers", from = "payload.c" }\n',
        encoding="utf-8",
    )
    result = run(db, "integrations", "check", "--config", str(bad))
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "bad.toml: connectors.qbo.mapping.invoice.CustomerRef: unknown lookup 'customers'" in message


def test_signature_of_a_delivered_webhook_verifies(setup: tuple[Any, ...]) -> None:
    db, fake, config = setup
    emit_events(db, 2)
    assert run(db, "worker", "--once", "--config", str(config)).exit_code == 0
    # The receiver verified each request with standardwebhooks' Webhook(secret).verify.
    assert len(fake.effects) == 2 and fake.bad_signatures == 0 and len(fake.raw) == 2


def test_retry_and_skip_print_the_delivery_as_json(setup: tuple[Any, ...]) -> None:
    db, fake, config = setup
    emit_events(db, 1)
    fake.fail_next(Misbehaviour(400, body=b'{"error":"unknown job"}'))
    assert run(db, "worker", "--once", "--config", str(config)).exit_code == 0
    retried = run(db, "deliveries", "retry", "1", "--json")
    assert retried.exit_code == 0, retried.output
    body = json.loads(retried.stdout)
    assert (body["id"], body["connector"], body["status"]) == (1, "hook", "pending")
    replayed = run(db, "deliveries", "replay", "1", "--json")
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["connector"] == "hook"
    skipped = run(db, "deliveries", "skip", "1", "--reason", "fixed by hand", "--json")
    assert skipped.exit_code == 0, skipped.output
    assert (json.loads(skipped.stdout)["id"], json.loads(skipped.stdout)["status"]) == (1, "skipped")
