"""Position pings from many phones in one transaction: the group commit behind the field API's hot path.

The API collects the pings that arrive while the previous batch is being written and hands them over
together. One transaction re-checks every token (a token revoked a moment ago is refused here, not a
minute later), moves each technician's live position forward with one UPDATE per technician, and
appends one `technician.position` event per fix, with the technician as actor. A bad request is
answered on its own before the transaction; it never sinks the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, bindparam, or_, select, text, update

from data.actor import SYSTEM, Actor
from data.db import Database
from data.errors import DispatchError, InvalidInput
from data.models.api_tokens import ApiToken
from data.models.workforce import Technician
from data.services.api_tokens import Unauthenticated
from data.services.sync import PositionPing, check_occurred_at
from data.services.technicians import check_coordinates
from data.uow import UnitOfWork

MAX_PINGS_PER_REQUEST = 500


@dataclass(frozen=True)
class PingRequest:
    """One phone's request: who sends it (and by which token, re-checked on write) and its fixes."""

    technician_id: int
    technician_code: str
    actor: Actor
    pings: Sequence[tuple[PositionPing, datetime]]
    token_id: int | None = None  # None when no token is involved (a dispatcher, the simulator)


Outcome = int | DispatchError


def _check(request: PingRequest) -> None:
    request.actor.require_field(request.technician_id, "report positions")
    if not request.pings or len(request.pings) > MAX_PINGS_PER_REQUEST:
        raise InvalidInput(
            f"1 to {MAX_PINGS_PER_REQUEST} positions per request",
            record=f"positions of {request.technician_code}",
            field="positions",
        )
    for ping, at in request.pings:
        check_coordinates(ping.lat, ping.lon, f"position of {request.technician_code}")
        check_occurred_at(at, "position")


def record_ping_batch(db: Database, requests: Sequence[PingRequest]) -> list[Outcome]:
    """Write many requests' pings in one transaction; per request, the number recorded or why not."""
    outcomes: list[Outcome | None] = [None] * len(requests)
    for i, request in enumerate(requests):
        try:
            _check(request)
        except DispatchError as err:
            outcomes[i] = err
    todo = [i for i, o in enumerate(outcomes) if o is None]
    if not todo:
        return [o for o in outcomes if o is not None]
    with UnitOfWork(db, SYSTEM) as uow:
        token_ids = {requests[i].token_id for i in todo if requests[i].token_id is not None}
        live: set[int] = set()
        if token_ids:
            live = set(
                uow.session.scalars(
                    select(ApiToken.id)
                    .join(Technician, Technician.id == ApiToken.technician_id)
                    .where(ApiToken.id.in_(token_ids), ApiToken.revoked_at.is_(None), Technician.active.is_(True))
                )
            )
        latest: dict[int, tuple[PositionPing, datetime]] = {}
        for i in list(todo):
            request = requests[i]
            if request.token_id is not None and request.token_id not in live:
                outcomes[i] = Unauthenticated(f"API token {request.token_id} was revoked or its technician left")
                todo.remove(i)
                continue
            for ping, at in request.pings:
                current = latest.get(request.technician_id)
                if current is None or at >= current[1]:
                    latest[request.technician_id] = (ping, at)
                uow.emit(
                    "technician.position",
                    "technician",
                    request.technician_id,
                    {"code": request.technician_code, "lat": ping.lat, "lon": ping.lon, "at": at},
                    actor=request.actor,
                )
            outcomes[i] = len(request.pings)
        if latest:
            table = cast(Table, Technician.__table__)
            move = (
                update(table)
                .where(
                    and_(
                        table.c.id == bindparam("tech_id"),
                        or_(table.c.last_seen_at.is_(None), table.c.last_seen_at <= bindparam("at")),
                    )
                )
                .values(last_lat=bindparam("lat"), last_lon=bindparam("lon"), last_seen_at=bindparam("at"))
            )
            # Sorted: two processes updating the same technicians take their row locks in one order.
            params = [
                {"tech_id": tech_id, "lat": ping.lat, "lon": ping.lon, "at": at}
                for tech_id, (ping, at) in sorted(latest.items())
            ]
            if db.dialect == "postgresql":
                # One statement for every technician in the batch instead of one round of UPDATE each.
                uow.session.execute(
                    text(
                        "UPDATE technicians AS t SET last_lat = v.lat, last_lon = v.lon, last_seen_at = v.at "
                        "FROM unnest(CAST(:ids AS integer[]), CAST(:lats AS float8[]), CAST(:lons AS float8[]), "
                        "CAST(:ats AS timestamptz[])) AS v(id, lat, lon, at) "
                        "WHERE t.id = v.id AND (t.last_seen_at IS NULL OR t.last_seen_at <= v.at)"
                    ),
                    {
                        "ids": [p["tech_id"] for p in params],
                        "lats": [p["lat"] for p in params],
                        "lons": [p["lon"] for p in params],
                        "ats": [p["at"] for p in params],
                    },
                )
            else:
                uow.session.execute(move, params)
    return [o if o is not None else 0 for o in outcomes]
