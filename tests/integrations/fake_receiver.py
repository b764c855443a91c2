"""A local stand-in for a remote system: an ASGI app that records effects by idempotency key.

Like the vendors, it applies an effect once per key (repeats are answered but not re-applied), and
it can be told to misbehave for the next requests: a status (500, 429 with Retry-After, 400), a
delay past the client's timeout (the effect still lands: the client just never hears), or a
malformed body. With a secret it verifies Standard Webhooks signatures and refuses bad ones.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from standardwebhooks import Webhook

Scope = dict[str, Any]


class Clock:
    """A clock the test moves, so backoff and cool-downs pass without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def catch_up(self) -> None:
        """Operator actions stamp real time; move the test clock past it."""
        self.now = max(self.now, datetime.now(UTC)) + timedelta(seconds=1)


@dataclass
class Misbehaviour:
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error":"injected"}'
    delay: float = 0.0  # sleep before answering; with apply=True the effect still lands
    apply: bool = False  # record the effect even though the answer is bad (timeouts, lost acks)


@dataclass
class Effect:
    key: str
    body: Any
    at: float
    path: str


class FakeReceiver:
    def __init__(self, secret: str | None = None, delay: float = 0.0) -> None:
        self.verifier = Webhook(secret) if secret else None
        self.delay = delay
        self.effects: dict[str, Effect] = {}
        self.order: list[str] = []  # keys in the order their effect was applied
        self.raw: list[tuple[str, float, int]] = []  # (key, time, status) of every request
        self.bad_signatures = 0
        self.script: deque[Misbehaviour] = deque()
        self.per_key: dict[str, deque[Misbehaviour]] = {}
        self.reject_when: Any = None  # callable(body) -> str | None: a 400 with that message
        self._lock = threading.Lock()

    # -- what tests ask
    def fail_next(self, *behaviours: Misbehaviour) -> None:
        with self._lock:
            self.script.extend(behaviours)

    def fail_key(self, key: str, *behaviours: Misbehaviour) -> None:
        with self._lock:
            self.per_key.setdefault(key, deque()).extend(behaviours)

    def raw_count(self, key: str) -> int:
        return sum(1 for k, _t, _s in self.raw if k == key)

    def duplicates(self) -> int:
        """Requests that repeated an effect already applied (what the idempotency key absorbed)."""
        return sum(1 for _k, _t, s in self.raw if s == 200) - len(self.effects)

    # -- ASGI
    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender died mid-request (a killed worker): nothing arrived
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"].startswith("/_"):
            await self._control(scope["path"], send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        key = headers.get("webhook-id") or headers.get("idempotency-key") or _query(scope).get("requestid", "")
        status, answer, extra = await self._handle(key, headers, body, scope["path"])
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")]
                + [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _handle(
        self, key: str, headers: dict[str, str], body: bytes, path: str
    ) -> tuple[int, bytes, dict[str, str]]:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.verifier is not None:
            try:
                self.verifier.verify(body, headers)
            except Exception:
                with self._lock:
                    self.bad_signatures += 1
                    self.raw.append((key, time.time(), 401))
                return 401, b'{"error":"bad signature"}', {}
        with self._lock:
            queue = self.per_key.get(key)
            bad = queue.popleft() if queue else (self.script.popleft() if self.script else None)
        if bad is not None:
            if bad.delay:
                await asyncio.sleep(bad.delay)
            with self._lock:
                if bad.apply:
                    self._apply(key, body, path)
                self.raw.append((key, time.time(), bad.status))
            return bad.status, bad.body, bad.headers
        parsed = json.loads(body) if body else None
        if self.reject_when is not None:
            problem = self.reject_when(parsed)
            if problem:
                with self._lock:
                    self.raw.append((key, time.time(), 400))
                return 400, json.dumps({"error": problem}).encode(), {}
        with self._lock:
            self._apply(key, body, path)
            self.raw.append((key, time.time(), 200))
        return 200, json.dumps({"id": f"ext-{key}"}).encode(), {}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "effects": {k: e.at for k, e in self.effects.items()},
                "requests": len(self.raw),
                "duplicates": self.duplicates(),
                "max_sends_per_key": max(Counter(k for k, _t, _s in self.raw).values(), default=0),
                "bad_signatures": self.bad_signatures,
            }

    def reset(self) -> None:
        with self._lock:
            self.effects.clear()
            self.order.clear()
            self.raw.clear()
            self.bad_signatures = 0

    async def _control(self, path: str, send: Any) -> None:
        """`/_stats` reports what arrived, `/_reset` forgets it (for a receiver in another process)."""
        if path == "/_reset":
            self.reset()
        body = json.dumps(self.snapshot()).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    def _apply(self, key: str, body: bytes, path: str) -> None:
        if key not in self.effects:
            self.effects[key] = Effect(key, json.loads(body) if body else None, time.time(), path)
            self.order.append(key)


def _query(scope: Scope) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode()))


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app on 127.0.0.1 (a free port) in a background thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("fake receiver did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- wiring shared by the delivery tests and the benchmark

SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy1vbmx5LTMyLWJ5dGVz"  # base64 of a test-only key
SECRET_ENV = "DISPATCH_TEST_WEBHOOK_SECRET"


def webhook_table(url: str, events: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "secret_env": SECRET_ENV, "events": events or ["job.completed"], **extra}


def emit_events(db: Any, count: int, *, type: str = "job.completed", subject: Any = None, start: int = 1) -> list[int]:
    """Append `count` events in one transaction (subject job:<n> each, or one shared subject)."""
    from data.actor import SYSTEM
    from data.uow import UnitOfWork

    with UnitOfWork(db, SYSTEM) as uow:
        for n in range(start, start + count):
            sid = subject if subject is not None else n
            uow.emit(type, "job", sid, {"ref": f"J{n:05d}", "resolution": "fixed", "n": n, "type": "repair"})
    return uow.committed_seqs
