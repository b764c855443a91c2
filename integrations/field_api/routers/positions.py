"""Position pings from phones and vehicle trackers: the hot path, written in groups (see ping_writer).

A ping is the request a fleet sends most, so `PingFastPath` answers `POST /v1/positions` ahead of
FastAPI's routing and dependency machinery, with the same checks in the same order and the same error
shape; the route below is what the OpenAPI description shows and what the fast path shares.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from data.errors import DispatchError
from data.models.base import utcnow
from data.services.api_tokens import FieldIdentity, Unauthenticated
from data.services.positions import PingRequest
from integrations.field_api.actions import position_action
from integrations.field_api.auth import PingCaller, bearer_value, cached_identity
from integrations.field_api.ping_writer import PingWriter
from integrations.field_api.problems import ERROR_RESPONSES, domain_error, invalid_input
from integrations.field_api.schemas import PositionIn, PositionsBody, PositionsIn, PositionsOut

router = APIRouter(prefix="/v1", tags=["positions"], responses=ERROR_RESPONSES)
BODY: TypeAdapter[PositionIn | PositionsIn] = TypeAdapter(PositionsBody)
PATH = "/v1/positions"


async def record(app: FastAPI, me: FieldIdentity, pings: Sequence[PositionIn]) -> JSONResponse:
    now = utcnow()
    writer: PingWriter = app.state.ping_writer
    outcome = await writer.submit(
        PingRequest(
            me.technician_id,
            me.technician_code,
            me.actor,
            [(position_action(p), p.at or now) for p in pings],
            token_id=me.token_id,
        )
    )
    if isinstance(outcome, Unauthenticated):
        app.state.token_cache.forget(me.token_id)
    if isinstance(outcome, DispatchError):
        return domain_error(outcome)
    return JSONResponse({"recorded": outcome})


@router.post(PATH.removeprefix("/v1"), summary="Report my position (one ping or many)", response_model=PositionsOut)
async def post_positions(body: PositionsBody, me: PingCaller, request: Request) -> JSONResponse:
    """Record one fix (`{"lat", "lon", "at"}`) or several (`{"positions": [...]}`). The live position
    moves only forward in time; every fix is kept in the event log as `technician.position`."""
    return await record(request.app, me, body.positions if isinstance(body, PositionsIn) else [body])


class PingFastPath:
    """ASGI middleware: `POST /v1/positions` without routing, dependency injection or response models."""

    def __init__(self, app: ASGIApp, field_api: FastAPI) -> None:
        self.app = app
        self.field_api = field_api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        response = await self._answer(scope, receive)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> JSONResponse:
        headers = dict(scope["headers"])
        try:
            raw = bearer_value(headers.get(b"authorization", b"").decode("latin-1"))
            me = await cached_identity(self.field_api, raw)
        except DispatchError as err:
            return domain_error(err)
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return JSONResponse({}, status_code=400)  # the client left; BodyLimits answers a cut-off body
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        try:
            body = BODY.validate_json(b"".join(chunks))
        except ValidationError as err:
            return invalid_input([{**e, "loc": ("body", *e["loc"])} for e in err.errors()])
        return await record(self.field_api, me, body.positions if isinstance(body, PositionsIn) else [body])
