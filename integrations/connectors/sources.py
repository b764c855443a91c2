"""What the vendor connectors read about an event beyond its payload: the job, its report, customer and refs.

Each function returns a plain dict (JSON-safe) so the same source feeds a connector's default request
and any mapping rules configured on top of it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from data.db import Database
from data.feed import EventRecord
from data.jsonable import jsonable
from data.models.customers import Contact, Customer, ExternalRef, Site
from data.models.field import CompletionReport, InvoiceDraft, Timesheet
from data.models.jobs import Job, JobNote, NoteAuthorKind
from data.models.workforce import Technician


def _refs(session: Any, entity: str, entity_id: int) -> dict[str, str]:
    rows = session.execute(
        select(ExternalRef.system, ExternalRef.external_id).where(
            ExternalRef.entity == entity, ExternalRef.entity_id == entity_id
        )
    )
    return {system: external_id for system, external_id in rows}


def customer_source(session: Any, customer_id: int) -> dict[str, Any]:
    customer = session.get(Customer, customer_id)
    if customer is None:
        return {}
    contacts = list(
        session.scalars(
            select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.primary.desc(), Contact.id)
        )
    )
    return {
        "id": customer.id,
        "code": customer.code,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "payment_terms_days": customer.payment_terms_days,
        "refs": _refs(session, "customer", customer.id),
        "contacts": [
            {
                "id": c.id,
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "primary": c.primary,
                "refs": _refs(session, "contact", c.id),
            }
            for c in contacts
        ],
    }


def job_source(db: Database, event: EventRecord) -> dict[str, Any]:
    """A completed (or changed) job with its report, technician notes, customer and site."""
    ref = event.payload.get("ref") or event.payload.get("job_ref")
    with db.read() as s:
        job = s.scalar(select(Job).where(Job.ref == ref)) if ref else None
        if job is None and event.subject_type == "job" and event.subject_id.isdigit():
            job = s.get(Job, int(event.subject_id))
        if job is None:
            return {"event": event.as_dict(), "job": None}
        report = s.scalar(select(CompletionReport).where(CompletionReport.job_id == job.id))
        tech = s.get(Technician, job.technician_id) if job.technician_id else None
        site = s.get(Site, job.site_id)
        notes = list(
            s.scalars(
                select(JobNote)
                .where(JobNote.job_id == job.id, JobNote.author_kind == NoteAuthorKind.TECHNICIAN)
                .order_by(JobNote.created_at, JobNote.id)
            )
        )
        source = {
            "event": event.as_dict(),
            "job": {
                "id": job.id,
                "ref": job.ref,
                "type": job.type.value,
                "status": job.status.value,
                "priority": job.priority,
                "summary": job.summary,
                "description": job.description,
                "actual_start": job.actual_start,
                "actual_end": job.actual_end,
                "refs": _refs(s, "job", job.id),
            },
            "report": None
            if report is None
            else {
                "outcome": report.outcome.value,
                "resolution_code": report.resolution_code,
                "notes": report.notes,
                "labour_minutes": report.labour_minutes,
                "first_time_fix": report.first_time_fix,
                "actual_end": report.actual_end,
            },
            "technician": None if tech is None else {"code": tech.code, "name": tech.name},
            "site": None if site is None else {"code": site.code, "name": site.name, "address": site.address},
            "notes": [{"id": n.id, "body": n.body, "at": n.created_at, "author": n.author} for n in notes],
            "customer": customer_source(s, job.customer_id),
        }
    return jsonable(source)


def invoice_source(db: Database, event: EventRecord) -> dict[str, Any]:
    """The `invoice.drafted` payload plus the customer it bills and the draft's id."""
    payload = dict(event.payload)
    with db.read() as s:
        draft = s.scalar(select(InvoiceDraft).where(InvoiceDraft.ref == payload.get("ref")))
        customer_id = payload.get("customer_id") or (draft.customer_id if draft else None)
        customer = customer_source(s, int(customer_id)) if customer_id is not None else {}
        job = s.scalar(select(Job).where(Job.ref == payload.get("job_ref"))) if payload.get("job_ref") else None
    source = {
        "event": event.as_dict(),
        "invoice": payload,
        "invoice_id": draft.id if draft else None,
        "customer": customer,
        "job": None if job is None else {"ref": job.ref, "type": job.type.value, "summary": job.summary},
    }
    return jsonable(source)


def timesheet_source(db: Database, event: EventRecord) -> dict[str, Any]:
    """A closed timesheet: the payload, completed from the stored row when fields are missing."""
    payload = dict(event.payload)
    with db.read() as s:
        sheet = None
        if event.subject_type == "timesheet" and event.subject_id.isdigit():
            sheet = s.get(Timesheet, int(event.subject_id))
        tech = None
        code = payload.get("technician") or payload.get("technician_code")
        if code:
            tech = s.scalar(select(Technician).where(Technician.code == code))
        elif sheet is not None:
            tech = s.get(Technician, sheet.technician_id)
        source: dict[str, Any] = {
            "event": event.as_dict(),
            "technician": None
            if tech is None
            else {"id": tech.id, "code": tech.code, "name": tech.name, "refs": _refs(s, "technician", tech.id)},
            "day": payload.get("day") or (sheet.day if sheet else None),
            "worked_minutes": payload.get("worked_minutes", sheet.worked_minutes if sheet else 0),
            "travel_minutes": payload.get("travel_minutes", sheet.travel_minutes if sheet else 0),
            "overtime_minutes": payload.get("overtime_minutes", sheet.overtime_minutes if sheet else 0),
            "overtime_breakdown": payload.get("overtime_breakdown", sheet.overtime_breakdown if sheet else {}),
            "skill": payload.get("skill"),
        }
    return jsonable(source)
