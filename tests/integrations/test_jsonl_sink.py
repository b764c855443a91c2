"""The JSON Lines sink: one fsynced line per delivery, never twice, even after a crash between writes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from data.feed import EventRecord
from integrations.config import parse_config
from integrations.connector import MappingContext, Outcome
from integrations.connectors.jsonl import JsonlConnector, append_once

EVENT = EventRecord(3, datetime(2026, 11, 25, tzinfo=UTC), "job.completed", "job", "1", {"ref": "J1"}, "dana", "cli")


def sink(tmp_path: Path) -> JsonlConnector:
    table = {"type": "jsonl", "path": str(tmp_path / "out" / "events.jsonl"), "events": ["job.completed"]}
    return JsonlConnector(parse_config({"connectors": {"erp": table}}).connector("erp"))


async def test_each_key_is_written_once(tmp_path: Path) -> None:
    c = sink(tmp_path)
    (request,) = c.map(EVENT, MappingContext(None, "erp", {}))  # type: ignore[arg-type]
    request = replace(request, idempotency_key="dispatch-erp-3-0")
    async with httpx.AsyncClient() as client:
        first = await c.send(request, client)
        again = await c.send(request, client)
    assert first.outcome is Outcome.DELIVERED and again.outcome is Outcome.DELIVERED
    assert again.response_body == "already in the file"
    lines = c.path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["id"] == "dispatch-erp-3-0" and json.loads(lines[0])["data"]["payload"]["ref"] == "J1"


def test_a_line_whose_id_missed_the_index_is_not_written_again(tmp_path: Path) -> None:
    path, index = tmp_path / "e.jsonl", tmp_path / "e.jsonl.ids"
    assert append_once(path, index, "k1", {"data": 1})
    # A crash after the line but before its id reached the index:
    path.write_text(path.read_text() + json.dumps({"id": "k2", "data": 2}) + "\n")
    assert not append_once(path, index, "k2", {"data": 2})
    assert append_once(path, index, "k3", {"data": 3})
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["k1", "k2", "k3"]
    assert index.read_text().split() == ["k1", "k2", "k3"]
