"""Position pings from phones and vehicle trackers: the hot path, written in groups (see ping_writer)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from data.errors import DispatchError
from data.models.base import utcnow
from data.services.api_tokens import Unauthenticated
from data.services.positions import PingRequest
from integrations.field_api.actions import position_action
from integrations.field_api.auth import PingCaller
from integrations.field_api.ping_writer import PingWriter
from integrations.field_api.problems import ERROR_RESPONSES
from integrations.field_api.schemas import PositionsBody, PositionsIn, PositionsOut

router = APIRouter(prefix="/v1", tags=["positions"], responses=ERROR_RESPONSES)


@router.post("/positions", summary="Report my position (one ping or many)", response_model=PositionsOut)
async def post_positions(body: PositionsBody, me: PingCaller, request: Request) -> PositionsOut:
    """Record one fix (`{"lat", "lon", "at"}`) or several (`{"positions": [...]}`). The live position
    moves only forward in time; every fix is kept in the event log as `technician.position`."""
    pings = body.positions if isinstance(body, PositionsIn) else [body]
    now = utcnow()
    writer: PingWriter = request.app.state.ping_writer
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
        request.app.state.token_cache.forget(me.token_id)
    if isinstance(outcome, DispatchError):
        raise outcome
    return PositionsOut(recorded=outcome)
