"""CRM cases marked for field service become jobs, once each, and later changes to the case flow in.

A case is matched by the ExternalRef (entity `job`) it left on the job it became, so pulling the
same case twice never makes a second job. The remote system owns the case's title, description and
priority; a case cancelled there cancels a job that has not started. The job lands on the first site
of the customer the case belongs to; a case whose customer is not known yet is skipped and named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import DispatchError
from data.models.customers import Site
from data.models.jobs import TRANSITIONS, Job, JobStatus, JobType
from data.permissions import Permission
from data.services.crm_sync import SyncCounts, entity_for, link_in
from data.services.jobs import JobDraft, change_status_in, create_job_in, update_job
from data.uow import UnitOfWork


@dataclass(frozen=True)
class PulledCase:
    external_id: str
    number: str
    customer_external_id: str | None
    title: str
    description: str | None = None
    priority: int = 3
    cancelled: bool = False


def upsert_cases(
    db: Database,
    actor: Actor,
    system: str,
    rows: Sequence[PulledCase],
    *,
    job_type: JobType = JobType.REPAIR,
    duration_minutes: int = 60,
) -> SyncCounts:
    """Create a job for each new case, update the job of each known one; errors name the case."""
    actor.require_write(f"sync cases from {system}", Permission.MANAGE_INTEGRATIONS)
    counts = SyncCounts()
    for row in rows:
        record = f"{system} case {row.number or row.external_id}"
        try:
            outcome = _upsert_case(db, actor, system, row, record, job_type, duration_minutes)
        except DispatchError as err:
            counts.skipped += 1
            counts.errors.append(f"{record}: {err}")
            continue
        if outcome == "created":
            counts.created += 1
        elif outcome == "updated":
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


def _upsert_case(
    db: Database, actor: Actor, system: str, row: PulledCase, record: str, job_type: JobType, duration: int
) -> str:
    summary = (row.title.strip() or row.number or row.external_id)[:200]
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        job_id = entity_for(s, "job", system, row.external_id)
        job = s.get(Job, job_id) if job_id is not None else None
        if job is None:
            if row.cancelled:
                return "unchanged"
            customer_id = (
                entity_for(s, "customer", system, row.customer_external_id) if row.customer_external_id else None
            )
            if customer_id is None:
                raise DispatchError(f"its customer {row.customer_external_id or '(none)'} is not a known customer")
            site = s.scalar(select(Site).where(Site.customer_id == customer_id).order_by(Site.id))
            if site is None:
                raise DispatchError("its customer has no site to send a technician to")
            draft = JobDraft(job_type, site.code, summary, duration, priority=row.priority, description=row.description)
            created = create_job_in(uow, draft)
            link_in(s, "job", created.id, system, row.external_id)
            return "created"
        ref, status = job.ref, job.status
        changes = {
            name: value
            for name, value in (("summary", summary), ("description", row.description), ("priority", row.priority))
            if getattr(job, name) != value
        }
        if row.cancelled and JobStatus.CANCELLED in TRANSITIONS[status]:
            change_status_in(uow, ref, JobStatus.CANCELLED, reason=f"cancelled in {system}")
            return "updated"
    if not changes or status in (JobStatus.COMPLETED, JobStatus.CANCELLED):
        return "unchanged"
    update_job(db, actor, ref, changes)
    return "updated"
