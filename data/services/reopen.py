"""Undoing a mistaken completion: the job goes back to be done, and everything the completion wrote is undone.

One transaction: the invoice is voided (a draft) or credited by a credit note (issued), the van gets its parts
back, pending warranty returns and a follow-up visit nobody has started are withdrawn, the report goes (its
content stays in the `job.reopened` event), the day's open timesheet is recomputed, and the job is scheduled
again on its technician (or back in the queue without one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import IllegalTransition
from data.models.base import utcnow
from data.models.field import CompletionReport, PartReturn, ReturnStatus
from data.models.jobs import NOT_STARTED_STATUSES, VISITED_STATUSES, Job, JobStatus
from data.models.stock import Part, StockLocation
from data.permissions import Permission
from data.services.invoicing import cancel_invoice_in, invoice_for_job, required_reason
from data.services.jobs import change_status_in, find_job
from data.services.stock import level
from data.services.timesheets import refresh_for_visit_in
from data.uow import UnitOfWork


@dataclass(frozen=True)
class ReopenResult:
    job_ref: str
    status: JobStatus
    invoice: dict[str, Any] | None  # {"invoice": ref, "action": "voided" | "credited", "credit_note": ref | None}
    follow_up_cancelled: str | None
    parts_returned: dict[str, int]


def reopen_job(db: Database, actor: Actor, job_ref: str | int, reason: str, at: datetime | None = None) -> ReopenResult:
    """Reopen a completed (or incomplete) job; `reason` is required and goes on every event it emits."""
    when = at or utcnow()
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        job = uow.job_for_update(find_job(s, job_ref).id)
        for permission in (Permission.ASSIGN, Permission.SEE_MONEY):  # it voids or credits the bill too
            actor.require_write(f"reopen job {job.ref}", permission, job.branch_id)
        text = required_reason(reason, f"job {job.ref}")
        if job.status not in VISITED_STATUSES:
            raise IllegalTransition(
                f"job {job.ref} is {job.status.value}: only a completed or incomplete job can be reopened"
            )
        report = s.scalar(select(CompletionReport).where(CompletionReport.job_id == job.id))
        returns = list(s.scalars(select(PartReturn).where(PartReturn.job_id == job.id)))
        moved = [r for r in returns if r.status is not ReturnStatus.PENDING]
        if moved:
            raise IllegalTransition(
                f"job {job.ref}: {len(moved)} warranty return(s) already {moved[0].status.value}; "
                "close them before reopening the job"
            )
        follow_up = s.get(Job, report.follow_up_job_id) if report and report.follow_up_job_id else None
        if follow_up is not None and follow_up.status not in NOT_STARTED_STATUSES:
            raise IllegalTransition(
                f"job {job.ref}: its follow-up {follow_up.ref} is already {follow_up.status.value}; it cannot be undone"
            )

        invoice = invoice_for_job(s, job.id)
        cancelled = cancel_invoice_in(uow, invoice, f"job {job.ref} reopened: {text}", when) if invoice else None
        back: dict[str, int] = {}
        undone: dict[str, Any] | None = None
        if report is not None:
            for used in report.parts:
                part, van = s.get(Part, used.part_id), s.get(StockLocation, used.from_location_id)
                if part is not None and van is not None:
                    level(s, van, part).quantity += used.quantity
                    back[part.sku] = back.get(part.sku, 0) + used.quantity
            undone = {
                "technician_id": report.technician_id,
                "outcome": report.outcome,
                "actual_start": report.actual_start,
                "actual_end": report.actual_end,
                "labour_minutes": report.labour_minutes,
                "travel_minutes": report.travel_minutes,
                "resolution_code": report.resolution_code,
                "notes": report.notes,
            }
        for ret in returns:
            s.delete(ret)
        if follow_up is not None:
            report.follow_up_job_id = None  # type: ignore[union-attr]
            s.flush()
            change_status_in(uow, follow_up.id, JobStatus.CANCELLED, at=when, reason=f"{job.ref} reopened: {text}")
        worked_from = report.actual_start if report else job.actual_start
        worker = report.technician_id if report else job.technician_id
        if report is not None:
            s.delete(report)
        old = job.status
        job.status = JobStatus.SCHEDULED if job.technician_id and job.planned_start else JobStatus.NEW
        if job.status is JobStatus.NEW:
            job.technician_id = None
            job.planned_start = job.planned_end = None
            job.pinned = False
        job.actual_start = job.actual_end = job.arrived_at = None
        uow.touch(job)
        s.flush()
        if worker is not None and worked_from is not None:
            refresh_for_visit_in(uow, worker, worked_from)
        uow.emit(
            "job.reopened",
            "job",
            job.id,
            {
                "ref": job.ref,
                "from": old,
                "to": job.status,
                "at": when,
                "reason": text,
                "customer_id": job.customer_id,
                "branch_id": job.branch_id,
                "technician_id": job.technician_id,
                "invoice": cancelled,
                "follow_up_cancelled": follow_up.ref if follow_up else None,
                "parts_returned": back,
                "report": undone,
            },
        )
        return ReopenResult(job.ref, job.status, cancelled, follow_up.ref if follow_up else None, back)
