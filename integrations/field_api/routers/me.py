"""The calling technician: who they are, their day's jobs with full context, their van's stock."""

from __future__ import annotations

from datetime import date as date_type
from typing import Annotated

from fastapi import APIRouter, Query

from data.availability import local_date
from data.errors import NotFound
from data.models.base import utcnow
from data.models.workforce import Technician
from data.services.attendance import Attendance, AttendanceState, attendance
from data.services.sync import ClientEventType, apply_now
from integrations.field_api.actions import clock_action
from integrations.field_api.auth import Caller, Db, Writes
from integrations.field_api.context import day_jobs, van_stock
from integrations.field_api.problems import ERROR_RESPONSES
from integrations.field_api.schemas import ClockIn, ClockOut, Day, DayOut, Me, StockOut

router = APIRouter(prefix="/v1/me", tags=["me"], responses=ERROR_RESPONSES)


@router.get("", summary="Who am I", response_model=Me)
def get_me(me: Caller, db: Db) -> Me:
    """The technician this token speaks for, with live status and last known position."""
    with db.read() as session:
        tech = session.get(Technician, me.technician_id)
        assert tech is not None
        return Me(
            technician=tech.code,
            name=tech.name,
            branch=me.branch_code,
            timezone=me.timezone,
            token_id=me.token_id,
            status=tech.status.value,
            skills=tech.skill_levels(),
            last_seen_at=tech.last_seen_at,
            last_lat=tech.last_lat,
            last_lon=tech.last_lon,
        )


@router.get("/jobs", summary="My day's jobs", response_model=DayOut)
def get_my_jobs(
    me: Caller,
    db: Db,
    date: Annotated[
        Day | None, Query(description="Local day in the branch's time zone (default: today)", examples=["2026-11-25"])
    ] = None,
) -> DayOut:
    """Every job planned for me on the day, in order, with customer, contacts, site access notes, asset and
    warranty, contract and SLA, and the previous visits at the site with their notes."""
    day: date_type = date or local_date(utcnow(), me.timezone)
    with db.read() as session:
        return DayOut(technician=me.technician_code, date=day, timezone=me.timezone, jobs=day_jobs(session, me, day))


@router.get("/stock", summary="My van's stock", response_model=StockOut)
def get_my_stock(me: Caller, db: Db) -> StockOut:
    """Parts on my van, by SKU."""
    with db.read() as session:
        stock = van_stock(session, me)
    if stock is None:
        raise NotFound(f"technician {me.technician_code} has no van stock location")
    return stock


def clock_out(now: Attendance) -> ClockOut:
    last = now.last
    return ClockOut(
        state=now.state.value,
        since=now.since,
        shift_started_at=last.shift_started_at if last and now.state is not AttendanceState.OFF else None,
        local_day=last.local_day if last and now.state is not AttendanceState.OFF else None,
    )


@router.get("/clock", summary="Am I clocked in, on a break or off", response_model=ClockOut)
def get_my_clock(me: Caller, db: Db) -> ClockOut:
    return clock_out(attendance(db, me.technician_id))


@router.post("/clock", summary="Clock in or out, start or end a break", response_model=ClockOut)
def post_my_clock(body: ClockIn, me: Caller, db: Db, lock: Writes) -> ClockOut:
    """Recorded as `technician.clocked_in`, `technician.break_started`, `technician.break_ended` or
    `technician.clocked_out`. Out of order (a break while clocked out, a second clock-in) answers 409."""
    with lock:
        event = apply_now(
            db, me.actor, me.technician_id, ClientEventType.CLOCK, clock_action(body), occurred_at=body.at
        )
    return ClockOut(
        state=event.state.value,
        since=event.at,
        shift_started_at=event.shift_started_at if event.state is not AttendanceState.OFF else None,
        local_day=event.local_day if event.state is not AttendanceState.OFF else None,
    )
