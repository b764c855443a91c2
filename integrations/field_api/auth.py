"""Bearer-token authentication: every field route knows which technician is calling, or answers 401."""

from __future__ import annotations

import asyncio
import hmac
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from data.db import Database
from data.models.base import utcnow
from data.services.api_tokens import (
    FieldIdentity,
    Unauthenticated,
    authenticate,
    digest,
    parse_token,
    touch_token,
)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="TechnicianToken",
    description="A technician's API token from `dispatch tokens issue TECH`, sent as `Authorization: Bearer <token>`.",
)


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _bearer_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        header = request.headers.get("authorization")
        if header:
            raise Unauthenticated("the Authorization header must read 'Bearer <token>'")
        raise Unauthenticated("missing API token: send 'Authorization: Bearer <token>'")
    return credentials.credentials


def identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> FieldIdentity:
    raw = _bearer_token(request, credentials)
    db = database(request)
    me = authenticate(db, raw, touch=False)
    if me.last_use_stale:
        with write_lock(request):
            touch_token(db, me.token_id, utcnow())
    return me


Caller = Annotated[FieldIdentity, Depends(identity)]
Db = Annotated[Database, Depends(database)]


def write_lock(request: Request) -> AbstractContextManager[Any]:
    """On SQLite, writers queue on an in-process lock: waiting in SQLite's busy handler (sleep and retry)
    collapses throughput under concurrent requests. On PostgreSQL a few writers run at once, the rest
    queue here instead of timing out on the connection pool."""
    lock: AbstractContextManager[Any] | None = request.app.state.write_lock
    return lock if lock is not None else nullcontext()


Writes = Annotated[AbstractContextManager[Any], Depends(write_lock)]


class TokenCache:
    """Who a token speaks for, remembered briefly so a ping needs no read before its write.

    Only for routes whose write re-checks the token in its own transaction (positions): a revoked
    token is still refused on its next request, by that check.
    """

    def __init__(self, ttl: timedelta = timedelta(seconds=30)) -> None:
        self.ttl = ttl
        self._known: dict[int, tuple[str, FieldIdentity, datetime]] = {}

    def get(self, raw: str, now: datetime) -> FieldIdentity | None:
        parsed = parse_token(raw)
        if parsed is None:
            return None
        hit = self._known.get(parsed[0])
        if hit is None or hit[2] <= now or not hmac.compare_digest(hit[0], digest(parsed[1])):
            return None
        return hit[1]

    def put(self, raw: str, me: FieldIdentity, now: datetime) -> None:
        parsed = parse_token(raw)
        if parsed is not None:
            self._known[parsed[0]] = (digest(parsed[1]), me, now + self.ttl)

    def forget(self, token_id: int) -> None:
        self._known.pop(token_id, None)


async def ping_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> FieldIdentity:
    return await cached_identity(request.app, _bearer_token(request, credentials))


async def cached_identity(app: Any, raw: str) -> FieldIdentity:
    cache: TokenCache = app.state.token_cache
    now = utcnow()
    me = cache.get(raw, now)
    if me is None:
        me = await asyncio.to_thread(identity_for_token, app, raw)
        cache.put(raw, me, now)
    return me


def bearer_value(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header, refusing as `identity` does."""
    scheme, _, value = header.strip().partition(" ")
    if not header.strip():
        raise Unauthenticated("missing API token: send 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must read 'Bearer <token>'")
    return value.strip()


def identity_for_token(app: Any, raw: str) -> FieldIdentity:
    db: Database = app.state.db
    me = authenticate(db, raw, touch=False)
    if me.last_use_stale:
        lock: AbstractContextManager[Any] = app.state.write_lock or nullcontext()
        with lock:
            touch_token(db, me.token_id, utcnow())
    return me


PingCaller = Annotated[FieldIdentity, Depends(ping_identity)]
