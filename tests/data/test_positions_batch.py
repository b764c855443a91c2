"""Grouped pings on both engines: one transaction, tokens re-checked, positions only move forward."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput
from data.feed import tail
from data.models import Role, Technician
from data.services.api_tokens import Unauthenticated, issue_token, revoke_token
from data.services.attendance import AttendanceState, ClockAct, attendance, record_act
from data.services.positions import PingRequest, record_ping_batch
from data.services.sync import PositionPing
from tests.factories import ADMIN, DISPATCHER, build_world, local


def request(db: Database, code: str, token_id: int | None, *fixes: tuple[float, float, int]) -> PingRequest:
    with db.read() as s:
        tech = s.scalar(select(Technician).where(Technician.code == code))
        assert tech is not None
    actor = Actor(code, Role.TECHNICIAN, "api", technician_id=tech.id)
    base = local(9) - timedelta(days=7)
    pings = [(PositionPing(lat, lon), base + timedelta(minutes=m)) for lat, lon, m in fixes]
    return PingRequest(tech.id, code, actor, pings, token_id=token_id)


def test_one_batch_for_many_phones(db: Database) -> None:
    build_world(db)
    t1 = issue_token(db, ADMIN, "T1").token_id
    t2 = issue_token(db, ADMIN, "T2").token_id
    revoked = issue_token(db, ADMIN, "T2").token_id
    revoke_token(db, ADMIN, revoked)
    outcomes = record_ping_batch(
        db,
        [
            request(db, "T1", t1, (60.10, 24.90, 5), (60.11, 24.91, 10)),
            request(db, "T2", t2, (60.20, 24.80, 7)),
            request(db, "T1", t1, (60.05, 24.85, 1)),  # older than what T1 sent above: logged, not live
            request(db, "T2", revoked, (61.0, 25.0, 8)),
            request(db, "T2", t2, (True, 24.8, 9)),  # type: ignore[arg-type]
        ],
    )
    assert outcomes[:3] == [2, 1, 1]
    assert isinstance(outcomes[3], Unauthenticated) and isinstance(outcomes[4], InvalidInput)
    with db.read() as s:
        live = {t.code: (t.last_lat, t.last_lon) for t in s.scalars(select(Technician))}
    assert live["T1"] == (60.11, 24.91) and live["T2"] == (60.20, 24.80)
    events = [e for e in tail(db) if e.type == "technician.position"]
    assert [(e.actor, e.payload["lat"]) for e in events] == [("T1", 60.10), ("T1", 60.11), ("T2", 60.20), ("T1", 60.05)]
    assert {e.source for e in events} == {"api"}


def test_attendance_on_both_engines(db: Database) -> None:
    build_world(db)
    day = local(8) - timedelta(days=7)
    for act, minutes in ((ClockAct.CLOCK_IN, 0), (ClockAct.BREAK_START, 240), (ClockAct.BREAK_END, 270)):
        record_act(db, DISPATCHER, "T1", act, day + timedelta(minutes=minutes))
    now = attendance(db, "T1")
    assert now.state is AttendanceState.WORKING and now.last is not None
    assert now.last.shift_started_at == day and now.since == day + timedelta(minutes=270)
