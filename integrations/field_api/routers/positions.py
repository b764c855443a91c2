"""Position pings from phones and vehicle trackers."""

from __future__ import annotations

from fastapi import APIRouter

from data.services.sync import record_positions
from integrations.field_api.actions import position_action
from integrations.field_api.auth import Caller, Db, Writes
from integrations.field_api.problems import ERROR_RESPONSES
from integrations.field_api.schemas import PositionsBody, PositionsIn, PositionsOut

router = APIRouter(prefix="/v1", tags=["positions"], responses=ERROR_RESPONSES)


@router.post("/positions", summary="Report my position (one ping or many)", response_model=PositionsOut)
def post_positions(body: PositionsBody, me: Caller, db: Db, lock: Writes) -> PositionsOut:
    """Record one fix (`{"lat", "lon", "at"}`) or several (`{"positions": [...]}`). The live position
    moves only forward in time; every fix is kept in the event log as `technician.position`."""
    pings = body.positions if isinstance(body, PositionsIn) else [body]
    with lock:
        recorded = record_positions(db, me.actor, me.technician_id, [(position_action(p), p.at) for p in pings])
    return PositionsOut(recorded=recorded)
