"""The calling technician: who they are, their day's jobs with full context, their van's stock."""

from __future__ import annotations

from datetime import date as date_type
from typing import Annotated

from fastapi import APIRouter, Query

from data.availability import local_date
from data.errors import NotFound
from data.models.base import utcnow
from data.models.workforce import Technician
from integrations.field_api.auth import Caller, Db
from integrations.field_api.context import day_jobs, van_stock
from integrations.field_api.problems import ERROR_RESPONSES
from integrations.field_api.schemas import Day, DayOut, Me, StockOut

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
