"""Bearer-token authentication: every field route knows which technician is calling, or answers 401."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from data.db import Database
from data.models.base import utcnow
from data.services.api_tokens import FieldIdentity, Unauthenticated, authenticate, touch_token

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="TechnicianToken",
    description="A technician's API token from `dispatch tokens issue TECH`, sent as `Authorization: Bearer <token>`.",
)


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> FieldIdentity:
    if credentials is None:
        header = request.headers.get("authorization")
        if header:
            raise Unauthenticated("the Authorization header must read 'Bearer <token>'")
        raise Unauthenticated("missing API token: send 'Authorization: Bearer <token>'")
    db = database(request)
    me = authenticate(db, credentials.credentials, touch=False)
    if me.last_use_stale:
        with write_lock(request):
            touch_token(db, me.token_id, utcnow())
    return me


Caller = Annotated[FieldIdentity, Depends(identity)]
Db = Annotated[Database, Depends(database)]


def write_lock(request: Request) -> AbstractContextManager[Any]:
    """On SQLite, writers queue on an in-process lock: waiting in SQLite's busy handler (sleep and retry)
    collapses throughput under concurrent requests. PostgreSQL needs no such thing."""
    lock: AbstractContextManager[Any] | None = request.app.state.write_lock
    return lock if lock is not None else nullcontext()


Writes = Annotated[AbstractContextManager[Any], Depends(write_lock)]
