"""Recurring maintenance: plans per asset or contract that generate jobs ahead of their due dates, once each."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput
from data.models.base import utcnow
from data.models.customers import Asset, Contract, Site
from data.models.field import MaintenancePlan, MaintenanceVisit
from data.models.jobs import JobType
from data.models.org import Branch
from data.permissions import Permission
from data.services.jobs import JobDraft, create_job_in, skills_by_code
from data.uow import UnitOfWork

DEFAULT_DAY_START = time(8, 0)
DEFAULT_DAY_END = time(17, 0)


def add_months(day: date, months: int) -> date:
    """The same day N months later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def into_season(day: date, season_months: list[int]) -> date:
    """The due date itself when its month is in season, else the first day of the next month that is."""
    if not season_months or day.month in season_months:
        return day
    probe = date(day.year, day.month, 1)
    for _ in range(12):
        probe = add_months(probe, 1)
        if probe.month in season_months:
            return probe
    return day


@dataclass(frozen=True)
class PlanInput:
    code: str
    site_code: str
    summary: str
    interval_months: int
    first_due: date
    duration_minutes: int
    asset_serial: str | None = None
    contract_code: str | None = None
    season_months: list[int] = field(default_factory=list)
    skills: dict[str, int] = field(default_factory=dict)
    job_type: JobType = JobType.MAINTENANCE


@dataclass(frozen=True)
class GeneratedVisit:
    plan_code: str
    due: date
    job_ref: str
    window_start: datetime
    window_end: datetime


def check_plan_rules(interval_months: int, season_months: list[int], duration_minutes: int, record: str) -> None:
    """What every plan keeps to, however it is made or changed."""
    if not 1 <= interval_months <= 120:
        raise InvalidInput("must be 1 to 120 months", record=record, field="interval_months")
    if any(not 1 <= m <= 12 for m in season_months):
        raise InvalidInput("months are 1 (January) to 12", record=record, field="season_months")
    if not 0 < duration_minutes <= 24 * 60:
        raise InvalidInput("must be between 1 and 1440 minutes", record=record, field="duration_minutes")


def create_plan(db: Database, actor: Actor, plan: PlanInput) -> MaintenancePlan:
    actor.require_write("create maintenance plans", Permission.EDIT_MASTER_DATA)
    record = f"maintenance plan {plan.code}"
    check_plan_rules(plan.interval_months, plan.season_months, plan.duration_minutes, record)
    if not plan.asset_serial and not plan.contract_code:
        raise InvalidInput("a plan belongs to an asset or a contract", record=record, field="asset")
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        if s.scalar(select(MaintenancePlan).where(MaintenancePlan.code == plan.code)) is not None:
            raise InvalidInput("is already taken", record=record, field="code")
        site = s.scalar(select(Site).where(Site.code == plan.site_code))
        if site is None:
            raise InvalidInput(f"unknown site '{plan.site_code}'", record=record, field="site")
        asset = None
        if plan.asset_serial:
            asset = s.scalar(select(Asset).where(Asset.serial == plan.asset_serial, Asset.site_id == site.id))
            if asset is None:
                raise InvalidInput(f"no asset '{plan.asset_serial}' at site {site.code}", record=record, field="asset")
        contract = None
        if plan.contract_code:
            contract = s.scalar(select(Contract).where(Contract.code == plan.contract_code))
            if contract is None or contract.customer_id != site.customer_id:
                raise InvalidInput(
                    f"no contract '{plan.contract_code}' for this site's customer", record=record, field="contract"
                )
        skills_by_code(s, list(plan.skills), record)
        row = MaintenancePlan(
            code=plan.code,
            site_id=site.id,
            asset_id=asset.id if asset else None,
            contract_id=contract.id if contract else None,
            job_type=plan.job_type.value,
            summary=plan.summary,
            interval_months=plan.interval_months,
            season_months=sorted(set(plan.season_months)),
            duration_minutes=plan.duration_minutes,
            skills=dict(plan.skills),
            next_due=plan.first_due,
        )
        s.add(row)
        s.flush()
        uow.emit(
            "maintenance_plan.created",
            "maintenance_plan",
            row.id,
            {"code": row.code, "site": site.code, "interval_months": row.interval_months, "next_due": row.next_due},
        )
        return row


def visit_window(day: date, tz: str, contract: Contract | None) -> tuple[datetime, datetime]:
    """The visit's window opens at the start of the coverage day and closes within the contract's SLA."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, contract.coverage_start if contract else DEFAULT_DAY_START, zone)
    if contract is not None:
        end = start + timedelta(hours=contract.sla_response_hours)
    else:
        end = datetime.combine(day, DEFAULT_DAY_END, zone)
    return start, end


def generate_due_jobs(
    db: Database,
    actor: Actor,
    horizon_days: int = 30,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[GeneratedVisit]:
    """Create the jobs of every plan due within the horizon (in season); a due date never gets two jobs.

    `progress`, if given, is called with (plans done, plans) after each plan."""
    actor.require_write("generate maintenance jobs")
    if horizon_days < 0:
        raise InvalidInput("must not be negative", record="maintenance generation", field="horizon_days")
    today = today or utcnow().date()
    limit = today + timedelta(days=horizon_days)
    generated: list[GeneratedVisit] = []
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        plans = list(
            s.scalars(select(MaintenancePlan).where(MaintenancePlan.active.is_(True)).order_by(MaintenancePlan.id))
        )
        for number, plan in enumerate(plans, start=1):
            site = s.get(Site, plan.site_id)
            assert site is not None
            branch = s.get(Branch, site.branch_id)
            assert branch is not None
            contract = s.get(Contract, plan.contract_id) if plan.contract_id else None
            asset = s.get(Asset, plan.asset_id) if plan.asset_id else None
            due = plan.next_due
            while True:
                due = into_season(due, plan.season_months)
                if due > limit or (contract is not None and not contract.valid_on(due)):
                    break
                done = s.scalar(
                    select(MaintenanceVisit).where(MaintenanceVisit.plan_id == plan.id, MaintenanceVisit.due == due)
                )
                if done is None:
                    start, end = visit_window(max(due, today), branch.timezone, contract)
                    job = create_job_in(
                        uow,
                        JobDraft(
                            type=JobType(plan.job_type),
                            site_code=site.code,
                            summary=f"{plan.summary} (due {due.isoformat()})"[:300],
                            duration_minutes=plan.duration_minutes,
                            skills=dict(plan.skills),
                            asset_serial=asset.serial if asset else None,
                            contract_code=contract.code if contract else None,
                            window_start=start,
                            window_end=end,
                            sla_due=end,
                        ),
                    )
                    s.add(MaintenanceVisit(plan_id=plan.id, due=due, job_id=job.id))
                    s.flush()
                    uow.emit(
                        "maintenance.job_generated",
                        "maintenance_plan",
                        plan.id,
                        {"plan": plan.code, "due": due, "job_ref": job.ref},
                        idempotency_key=f"maintenance:{plan.id}:{due.isoformat()}",
                    )
                    generated.append(GeneratedVisit(plan.code, due, job.ref, start, end))
                plan.last_generated = due
                due = add_months(due, plan.interval_months)
            plan.next_due = due
            if progress is not None:
                progress(number, len(plans))
    return generated


def list_plans(db: Database) -> list[MaintenancePlan]:
    with db.read() as session:
        return list(session.scalars(select(MaintenancePlan).order_by(MaintenancePlan.code)))
