"""Quotes proposed on site, and recurring maintenance plans generating jobs once per due date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from data.db import Database
from data.errors import IllegalTransition, InvalidInput, PermissionDenied
from data.feed import tail
from data.models import Contract, Job, JobStatus, JobType
from data.models.field import LineKind, QuoteStatus
from data.services.jobs import JobDraft, assign_job, create_job
from data.services.maintenance import PlanInput, add_months, create_plan, generate_due_jobs, into_season
from data.services.quotes import QuoteInput, QuoteLineInput, accept_quote, decline_quote, propose_quote
from tests.data.test_field_completion import on_site_job, tech_actor
from tests.factories import DISPATCHER, SUPERVISOR, build_world, local

QUOTE = QuoteInput(
    "Replace worn fan motor",
    [
        QuoteLineInput("Fan motor", Decimal("1"), Decimal("189.90"), LineKind.PART),
        QuoteLineInput("Labour", Decimal("1.5"), Decimal("78.00")),
        QuoteLineInput("Loyalty discount", Decimal("1"), Decimal("10.00"), LineKind.DISCOUNT),
    ],
    duration_minutes=90,
    skills={"hvac": 2},
)


def test_quote_accepted_becomes_a_job(db: Database) -> None:
    build_world(db)
    ref = on_site_job(db)
    actor = tech_actor(db, "T1")
    quote = propose_quote(db, actor, ref, QUOTE)
    assert quote.total == Decimal("296.90") and quote.ref == f"Q-{ref}-1"
    accepted, job = accept_quote(db, actor, quote.ref, at=local(10))
    assert accepted.status is QuoteStatus.ACCEPTED and job.status is JobStatus.NEW
    assert job.summary == "Replace worn fan motor" and job.duration_minutes == 90
    with db.read() as s:
        fresh = s.scalar(select(Job).where(Job.ref == job.ref))
        assert fresh is not None and fresh.skill_requirements() == {"hvac": 2} and fresh.asset_id is not None
    types = [e.type for e in tail(db)]
    assert types[-2:] == ["job.created", "quote.accepted"]
    with pytest.raises(IllegalTransition, match="already accepted"):
        decline_quote(db, actor, quote.ref)


def test_quote_rules(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    with pytest.raises(PermissionDenied):
        propose_quote(sqlite_db, tech_actor(sqlite_db, "T3"), ref, QUOTE)
    with pytest.raises(InvalidInput, match="at least one line"):
        propose_quote(sqlite_db, DISPATCHER, ref, QuoteInput("x", [], 30))
    q = propose_quote(sqlite_db, DISPATCHER, ref, QUOTE)
    assert decline_quote(sqlite_db, tech_actor(sqlite_db, "T1"), q.ref).status is QuoteStatus.DECLINED
    assert propose_quote(sqlite_db, DISPATCHER, ref, QUOTE).ref == f"Q-{ref}-2"
    assert any(e.type == "quote.declined" for e in tail(sqlite_db))
    later = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "x", 30, created_at=local(7)))
    assign_job(sqlite_db, DISPATCHER, later.ref, "T1", local(13))
    with pytest.raises(IllegalTransition, match="on site"):
        propose_quote(sqlite_db, DISPATCHER, later.ref, QUOTE)


def test_month_arithmetic() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert into_season(date(2026, 12, 10), [4, 5, 9]) == date(2027, 4, 1)
    assert into_season(date(2026, 5, 10), [4, 5, 9]) == date(2026, 5, 10)


def test_generation_is_idempotent_and_within_sla(db: Database) -> None:
    build_world(db)
    with db.write_session() as s:  # this test's contract ends with the year
        s.execute(update(Contract).where(Contract.code == "K1").values(valid_to=date(2026, 12, 31)))
        s.commit()
    create_plan(
        db,
        DISPATCHER,
        PlanInput(
            "PM-HP",
            "S1",
            "Heat pump service",
            1,
            date(2026, 11, 30),
            60,
            asset_serial="HP-001",
            contract_code="K1",
            skills={"hvac": 1},
        ),
    )
    made = generate_due_jobs(db, DISPATCHER, horizon_days=40, today=date(2026, 11, 25))
    # Due 30 Nov and 30 Dec fall in 40 days; 30 Jan does not; K1 ends 31 Dec anyway.
    assert [v.due for v in made] == [date(2026, 11, 30), date(2026, 12, 30)]
    first = made[0]
    assert first.window_start == local(8, 0, date(2026, 11, 30))
    assert first.window_end - first.window_start == timedelta(hours=8)
    assert generate_due_jobs(db, DISPATCHER, horizon_days=40, today=date(2026, 11, 25)) == []
    assert generate_due_jobs(db, DISPATCHER, horizon_days=400, today=date(2026, 11, 26)) == []  # contract ends
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 2
        job = s.scalar(select(Job).where(Job.ref == first.job_ref))
        assert job is not None and job.type is JobType.MAINTENANCE and job.sla_due == first.window_end
    assert sum(e.type == "maintenance.job_generated" for e in tail(db)) == 2


def test_season_and_permissions(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    with pytest.raises(PermissionDenied):
        create_plan(sqlite_db, SUPERVISOR, PlanInput("P", "S1", "x", 6, date(2026, 12, 1), 60, asset_serial="HP-001"))
    with pytest.raises(InvalidInput, match="asset or a contract"):
        create_plan(sqlite_db, DISPATCHER, PlanInput("P", "S1", "x", 6, date(2026, 12, 1), 60))
    create_plan(
        sqlite_db,
        DISPATCHER,
        PlanInput("P", "S1", "Spring check", 12, date(2026, 12, 1), 60, asset_serial="HP-001", season_months=[4, 5]),
    )
    assert generate_due_jobs(sqlite_db, DISPATCHER, horizon_days=60, today=date(2026, 11, 25)) == []
    made = generate_due_jobs(sqlite_db, DISPATCHER, horizon_days=200, today=date(2026, 11, 25))
    assert [v.due for v in made] == [date(2027, 4, 1)]
    assert made[0].window_end == local(17, 0, date(2027, 4, 1))
