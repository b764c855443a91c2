"""A JSON Lines file sink for on-premise systems: one line per delivery, fsynced, never written twice.

Settings: `path` (required; relative paths are taken from the configuration file's folder). Each
line is `{"id": <idempotency key>, "type", "timestamp", "data"}`. A sidecar `<path>.ids` lists the
ids written; before appending, the id is looked up there and in the last line of the file (which
covers a crash between writing the line and writing its id). A file lock makes concurrent workers safe.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from data.db import Database
from data.feed import EventRecord
from integrations.config import ConnectorConfig
from integrations.connector import MappingContext, OutboundRequest, Outcome, PullResult, SendResult
from integrations.mapping import apply_mapping

TAIL_BYTES = 65536


class JsonlConnector:
    idempotency_key_limit = 200

    def __init__(self, config: ConnectorConfig) -> None:
        self.name = config.name
        self.config = config
        path = Path(str(config.require("path"))).expanduser()
        self.path = path if path.is_absolute() else Path.cwd() / path
        self.index_path = self.path.with_name(self.path.name + ".ids")

    def subscribes(self) -> frozenset[str]:
        return self.config.events

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        source = event.as_dict()
        rules = self.config.mapping(event.type) or self.config.mapping("default")
        data = apply_mapping(rules, source) if rules else source
        body = {"type": event.type, "timestamp": event.at.astimezone(UTC).isoformat(), "data": data}
        return [OutboundRequest("APPEND", self.path.as_uri(), json=body, description=f"{event.type} to {self.path}")]

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        try:
            written = append_once(self.path, self.index_path, request.idempotency_key or "", request.json)
        except OSError as e:
            return SendResult(Outcome.RETRY, message=f"cannot write {self.path}: {e}")
        return SendResult(Outcome.DELIVERED, response_body="appended" if written else "already in the file")

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        return PullResult()

    def check(self) -> str:
        """Can the file be written (or its folder created)? Changes nothing on disk."""
        folder = self.path.parent
        while not folder.exists():
            folder = folder.parent
        target = self.path if self.path.exists() else folder
        if not os.access(target, os.W_OK):
            raise OSError(f"{target} is not writable by this user")
        return f"appends to {self.path}"


def append_once(path: Path, index_path: Path, key: str, body: Any) -> bool:
    """Append one line unless `key` is already written; True when a line was added."""
    if not key:
        raise OSError("a line needs its delivery's idempotency key")
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"id": key, **body}, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(path, "a+b") as data:
        fcntl.flock(data.fileno(), fcntl.LOCK_EX)
        try:
            if key in _written_ids(index_path):
                return False
            if key in _tail_ids(data):
                _remember(index_path, key)  # the line landed but its id did not: a crash in between
                return False
            data.write(line.encode())
            data.flush()
            os.fsync(data.fileno())
            _remember(index_path, key)
            return True
        finally:
            fcntl.flock(data.fileno(), fcntl.LOCK_UN)


_INDEX_CACHE: dict[Path, tuple[int, set[str]]] = {}


def _written_ids(index_path: Path) -> set[str]:
    """The ids in the sidecar, reading only what other writers appended since the last look."""
    offset, ids = _INDEX_CACHE.get(index_path, (0, set()))
    try:
        with open(index_path, "rb") as index:
            if os.fstat(index.fileno()).st_size < offset:
                offset, ids = 0, set()  # replaced or truncated: start over
            index.seek(offset)
            chunk = index.read()
    except FileNotFoundError:
        return set()
    complete = chunk.rfind(b"\n") + 1
    ids.update(chunk[:complete].decode().split())
    _INDEX_CACHE[index_path] = (offset + complete, ids)
    return ids


def _tail_ids(data: Any) -> set[str]:
    data.seek(0, os.SEEK_END)
    size = data.tell()
    data.seek(max(0, size - TAIL_BYTES))
    ids = set()
    for raw in data.read().splitlines()[-2:]:
        try:
            ids.add(str(json.loads(raw)["id"]))
        except (ValueError, KeyError, TypeError):
            continue
    data.seek(0, os.SEEK_END)
    return ids


def _remember(index_path: Path, key: str) -> None:
    with open(index_path, "a", encoding="utf-8") as index:
        index.write(key + "\n")
        index.flush()
        os.fsync(index.fileno())
