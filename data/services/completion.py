"""Closing a visit: report, van stock, warranty returns, follow-up job, invoice and timesheet in one commit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from data.actor import Actor
from data.availability import local_date
from data.db import Database
from data.errors import Conflict, IllegalTransition, InsufficientStock, InvalidInput, NotFound
from data.models.customers import Asset, Contract, Site
from data.models.field import (
    CompletionReport,
    Expense,
    FieldFile,
    PartReturn,
    PartUsed,
    PhotoRef,
    ReportOutcome,
    ReturnDisposition,
    Timesheet,
)
from data.models.jobs import Job, JobStatus
from data.models.org import Branch
from data.models.stock import Part, StockLocation, StockLocationKind
from data.models.workforce import Technician
from data.services.field_files import file_facts, signature_file, signature_image_payload
from data.services.invoicing import draft_invoice_in, invoice_for_job, invoice_payload
from data.services.jobs import JobDraft, change_status_in, create_job_in, find_job
from data.services.stock import find_part, take_in, van_of
from data.services.timesheets import refresh_for_visit_in
from data.uow import UnitOfWork


@dataclass(frozen=True)
class PartInput:
    sku: str
    quantity: int
    serials: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExpenseInput:
    kind: str
    description: str
    amount: Decimal
    receipt_ref: str | None = None


@dataclass(frozen=True)
class FollowUpInput:
    description: str
    duration_minutes: int
    skills: dict[str, int] | None = None  # None: the same skills as the original job


@dataclass(frozen=True)
class SignatureInput:
    """Who signed, when, and what: the signed text (only its SHA-256 is kept) or that hash itself."""

    signer: str
    signed_at: datetime
    summary: str | None = None
    summary_sha256: str | None = None
    image: str | None = None  # the phone's client_file_id of the uploaded signature image

    @property
    def sha256(self) -> str | None:
        return self.summary_sha256 or (signature_hash(self.summary) if self.summary is not None else None)


@dataclass(frozen=True)
class CompletionInput:
    actual_start: datetime
    actual_end: datetime
    labour_minutes: int
    travel_minutes: int
    resolution_code: str
    first_time_fix: bool = True
    parts: list[PartInput] = field(default_factory=list)
    expenses: list[ExpenseInput] = field(default_factory=list)
    follow_up: FollowUpInput | None = None
    signature: SignatureInput | None = None
    notes: str | None = None
    client_event_id: str | None = None


@dataclass(frozen=True)
class CompletionResult:
    job_ref: str
    status: JobStatus
    report_id: int
    invoice_ref: str | None
    invoice_total: Decimal | None
    follow_up_ref: str | None
    part_return_ids: list[int]
    repeated: bool = False


def signature_hash(summary: str) -> str:
    return hashlib.sha256(summary.encode("utf-8")).hexdigest()


def _check(report: CompletionInput, record: str) -> None:
    for name in ("actual_start", "actual_end"):
        if getattr(report, name).tzinfo is None:
            raise InvalidInput("needs a time zone", record=record, field=name)
    if report.actual_end < report.actual_start:
        raise InvalidInput("must not be before actual_start", record=record, field="actual_end")
    for name in ("labour_minutes", "travel_minutes"):
        value = getattr(report, name)
        if not isinstance(value, int) or value < 0 or value > 24 * 60:
            raise InvalidInput("must be a whole number of minutes between 0 and 1440", record=record, field=name)
    if not report.resolution_code.strip():
        raise InvalidInput("must not be empty", record=record, field="resolution_code")
    for i, part in enumerate(report.parts):
        if not isinstance(part.quantity, int) or part.quantity <= 0:
            raise InvalidInput(f"part {part.sku}: must be a positive whole number", record=record, field=f"parts[{i}]")
        if len(set(part.serials)) != len(part.serials):
            raise InvalidInput(f"part {part.sku}: serials repeat", record=record, field=f"parts[{i}].serials")
    for i, expense in enumerate(report.expenses):
        if not isinstance(expense.amount, Decimal) or not expense.amount.is_finite() or expense.amount < 0:
            raise InvalidInput("must be a non-negative Decimal amount", record=record, field=f"expenses[{i}].amount")
    if report.signature is not None and report.signature.sha256 is None:
        raise InvalidInput("needs the signed summary or its SHA-256", record=record, field="signature.summary")
    if report.signature is not None and report.signature.signed_at.tzinfo is None:
        raise InvalidInput("needs a time zone", record=record, field="signature.signed_at")
    if report.follow_up is not None and report.follow_up.duration_minutes <= 0:
        raise InvalidInput("must be positive", record=record, field="follow_up.duration_minutes")


def _existing(uow: UnitOfWork, client_event_id: str | None, job_ref: str | int) -> CompletionResult | None:
    if not client_event_id:
        return None
    report = uow.session.scalar(select(CompletionReport).where(CompletionReport.client_event_id == client_event_id))
    if report is None:
        return None
    job = uow.session.get(Job, report.job_id)
    assert job is not None
    if find_job(uow.session, job_ref).id != job.id:
        raise InvalidInput(
            f"'{client_event_id}' already completed job {job.ref}",
            record=f"completion of job {job_ref}",
            field="client_event_id",
        )
    invoice = invoice_for_job(uow.session, job.id)
    follow = uow.session.get(Job, report.follow_up_job_id) if report.follow_up_job_id else None
    returns = uow.session.scalars(select(PartReturn.id).where(PartReturn.job_id == job.id)).all()
    return CompletionResult(
        job.ref,
        job.status,
        report.id,
        invoice.ref if invoice else None,
        invoice.total if invoice else None,
        follow.ref if follow else None,
        list(returns),
        repeated=True,
    )


def _van_of(uow: UnitOfWork, tech: Technician) -> StockLocation | None:
    return van_of(uow.session, tech.id)


def _warehouse_for(uow: UnitOfWork, branch_id: int) -> StockLocation | None:
    return uow.session.scalar(
        select(StockLocation)
        .where(StockLocation.branch_id == branch_id, StockLocation.kind == StockLocationKind.WAREHOUSE)
        .order_by(StockLocation.id)
        .limit(1)
    )


def finish_in(uow: UnitOfWork, job_ref: str | int, report: CompletionInput, outcome: ReportOutcome) -> CompletionResult:
    """Write the report and everything that follows from it inside the caller's unit of work."""
    repeat = _existing(uow, report.client_event_id, job_ref)
    if repeat is not None:
        return repeat
    s = uow.session
    job = uow.job_for_update(find_job(s, job_ref).id)
    record = f"completion of job {job.ref}"
    if job.technician_id is None:
        raise IllegalTransition(f"job {job.ref} has no technician: nobody can complete it")
    uow.actor.require_field(job.technician_id, f"complete job {job.ref}")
    if job.status not in (JobStatus.ON_SITE, JobStatus.PAUSED):
        raise IllegalTransition(
            f"job {job.ref} is {job.status.value}; only a job on site or paused can be "
            f"{'completed' if outcome is ReportOutcome.COMPLETED else 'reported incomplete'}"
        )
    _check(report, record)
    if outcome is ReportOutcome.INCOMPLETE and report.first_time_fix:
        raise InvalidInput("an incomplete visit cannot be a first-time fix", record=record, field="first_time_fix")
    if not report.first_time_fix and report.follow_up is None:
        raise InvalidInput("not a first-time fix: describe the follow-up visit", record=record, field="follow_up")
    if report.first_time_fix and report.follow_up is not None:
        raise InvalidInput("a first-time fix needs no follow-up visit", record=record, field="follow_up")
    tech = s.get(Technician, job.technician_id)
    branch = s.get(Branch, job.branch_id)
    assert tech is not None and branch is not None
    on = report.actual_end.astimezone(ZoneInfo(branch.timezone)).date()
    asset = s.get(Asset, job.asset_id) if job.asset_id else None
    warranty = asset is not None and asset.under_warranty(on)

    completion = CompletionReport(
        job_id=job.id,
        technician_id=tech.id,
        outcome=outcome,
        actual_start=report.actual_start,
        actual_end=report.actual_end,
        labour_minutes=report.labour_minutes,
        travel_minutes=report.travel_minutes,
        resolution_code=report.resolution_code.strip(),
        first_time_fix=report.first_time_fix,
        notes=report.notes,
        signer_name=report.signature.signer if report.signature else None,
        signed_at=report.signature.signed_at if report.signature else None,
        summary_sha256=report.signature.sha256 if report.signature else None,
        client_event_id=report.client_event_id,
    )
    if report.signature is not None and report.signature.image:
        image = signature_file(s, tech.id, job, report.signature.image, record)
        completion.signature_file_id = image.id
    van = _van_of(uow, tech) if report.parts else None
    if report.parts and van is None:
        raise InsufficientStock(f"{tech.code} {tech.name} has no van stock location; parts cannot be taken")
    warehouse = _warehouse_for(uow, job.branch_id)
    returns: list[PartReturn] = []
    for i, item in enumerate(report.parts):
        part = find_part(s, item.sku)
        if part.serial_tracked and len(item.serials) != item.quantity:
            raise InvalidInput(
                f"part {part.sku} is serial-tracked: {item.quantity} serial(s) needed, {len(item.serials)} given",
                record=record,
                field=f"parts[{i}].serials",
            )
        assert van is not None
        take_in(uow, van, part, item.quantity, f"job {job.ref}")
        completion.parts.append(
            PartUsed(
                part_id=part.id,
                quantity=item.quantity,
                serials=list(item.serials),
                from_location_id=van.id,
                under_warranty=warranty,
            )
        )
        if warranty:
            serials: list[str | None] = list(item.serials) or [None] * item.quantity
            for n, serial in enumerate(serials, start=1):
                returns.append(
                    PartReturn(
                        part_id=part.id,
                        serial=serial,
                        job_id=job.id,
                        from_location_id=van.id,
                        to_location_id=warehouse.id if warehouse else None,
                        disposition=ReturnDisposition.SUPPLIER if part.supplier else ReturnDisposition.REPAIR,
                        supplier=part.supplier,
                        warranty_claim_ref=f"WC-{job.ref}-{part.sku}-{n}",
                    )
                )
    for expense in report.expenses:
        completion.expenses.append(
            Expense(
                kind=expense.kind,
                description=expense.description,
                amount=expense.amount,
                receipt_ref=expense.receipt_ref,
            )
        )
    s.add(completion)
    s.add_all(returns)
    s.flush()

    follow_up: Job | None = None
    if report.follow_up is not None:
        site = s.get(Site, job.site_id)
        contract = s.get(Contract, job.contract_id) if job.contract_id else None
        assert site is not None
        follow_up = create_job_in(
            uow,
            JobDraft(
                type=job.type,
                site_code=site.code,
                summary=f"Follow-up of {job.ref}: {report.follow_up.description}"[:300],
                duration_minutes=report.follow_up.duration_minutes,
                priority=job.priority,
                skills=report.follow_up.skills if report.follow_up.skills is not None else job.skill_requirements(),
                description=report.follow_up.description,
                asset_serial=asset.serial if asset else None,
                contract_code=contract.code if contract else None,
                created_at=report.actual_end,
            ),
        )
        follow_up.follow_up_of_id = job.id
        completion.follow_up_job_id = follow_up.id

    if job.status is JobStatus.PAUSED and outcome is ReportOutcome.COMPLETED:
        change_status_in(uow, job.id, JobStatus.ON_SITE, at=report.actual_end, reason="resumed to complete")
    change_status_in(
        uow,
        job.id,
        JobStatus.COMPLETED if outcome is ReportOutcome.COMPLETED else JobStatus.INCOMPLETE,
        at=report.actual_end,
        reason=report.resolution_code,
    )
    job.actual_start = report.actual_start
    if job.arrived_at is None:
        job.arrived_at = report.actual_start
    s.flush()
    invoice = draft_invoice_in(uow, job, completion)
    refresh_for_visit_in(uow, tech.id, report.actual_start)

    for ret in returns:
        uow.emit(
            "part_return.created",
            "part_return",
            ret.id,
            {
                "job_ref": job.ref,
                "part_id": ret.part_id,
                "serial": ret.serial,
                "disposition": ret.disposition,
                "supplier": ret.supplier,
                "warranty_claim_ref": ret.warranty_claim_ref,
            },
        )
    uow.emit(
        "job.completed" if outcome is ReportOutcome.COMPLETED else "job.incomplete",
        "job",
        job.id,
        report_payload(uow, job, tech, completion, follow_up),
        idempotency_key=f"completion:{report.client_event_id}" if report.client_event_id else None,
    )
    return CompletionResult(
        job.ref,
        job.status,
        completion.id,
        invoice.ref,
        invoice.total,
        follow_up.ref if follow_up else None,
        [r.id for r in returns],
    )


def report_payload(
    uow: UnitOfWork, job: Job, tech: Technician, report: CompletionReport, follow_up: Job | None
) -> dict[str, Any]:
    parts = []
    for used in report.parts:
        part = uow.session.get(Part, used.part_id)
        parts.append(
            {
                "sku": part.sku if part else None,
                "quantity": used.quantity,
                "serials": used.serials,
                "under_warranty": used.under_warranty,
            }
        )
    return {
        "ref": job.ref,
        "customer_id": job.customer_id,
        "site_id": job.site_id,
        "branch_id": job.branch_id,
        "technician": tech.code,
        "technician_id": tech.id,
        "outcome": report.outcome,
        "actual_start": report.actual_start,
        "actual_end": report.actual_end,
        "arrived_at": job.arrived_at,
        "labour_minutes": report.labour_minutes,
        "travel_minutes": report.travel_minutes,
        "resolution_code": report.resolution_code,
        "first_time_fix": report.first_time_fix,
        "follow_up_ref": follow_up.ref if follow_up else None,
        "custom_fields": job.custom_fields,
        "notes": report.notes,
        "parts": parts,
        "expenses": [
            {"kind": e.kind, "description": e.description, "amount": e.amount, "receipt_ref": e.receipt_ref}
            for e in report.expenses
        ],
        "signature": {
            "signer": report.signer_name,
            "signed_at": report.signed_at,
            "summary_sha256": report.summary_sha256,
            "image": _signature_image(uow, report),
        }
        if report.signer_name
        else None,
        "photos": _photos(uow, job),
    }


def _photos(uow: UnitOfWork, job: Job) -> list[dict[str, Any]]:
    """The visit's photos by reference (the bytes stay in the file store; `uri` serves them)."""
    out = []
    for photo in uow.session.scalars(
        select(PhotoRef).where(PhotoRef.job_id == job.id).order_by(PhotoRef.taken_at, PhotoRef.id)
    ):
        row = uow.session.get(FieldFile, photo.file_id) if photo.file_id is not None else None
        facts = {"photo_id": photo.id, "caption": photo.caption, "taken_at": photo.taken_at, "uri": photo.uri}
        out.append({**facts, "file": file_facts(row) if row is not None else None})
    return out


def _signature_image(uow: UnitOfWork, report: CompletionReport) -> dict[str, Any] | None:
    if report.signature_file_id is None:
        return None
    row = uow.session.get(FieldFile, report.signature_file_id)
    return signature_image_payload(uow.db, row) if row is not None else None


def complete_job(db: Database, actor: Actor, job_ref: str | int, report: CompletionInput) -> CompletionResult:
    """Complete a job on site: the technician (for their own job) or a dispatcher acting for them."""
    return _finish(db, actor, job_ref, report, ReportOutcome.COMPLETED)


def complete_from_office(db: Database, actor: Actor, job_ref: str | int, report: CompletionInput) -> CompletionResult:
    """The office completes a visit the technician did not report from the phone: the same completion (report, van
    parts, invoice draft, timesheet, `job.completed`), after walking a dispatched job on site at the visit's start."""
    actor.require_write("complete jobs from the office")
    with UnitOfWork(db, actor) as uow:
        job = find_job(uow.session, job_ref)
        steps = {
            JobStatus.SCHEDULED: (JobStatus.DISPATCHED, JobStatus.ON_SITE),
            JobStatus.DISPATCHED: (JobStatus.ON_SITE,),
            JobStatus.EN_ROUTE: (JobStatus.ON_SITE,),
        }
        for status in steps.get(job.status, ()):
            change_status_in(uow, job.id, status, at=report.actual_start, reason="completed from the office")
        return finish_in(uow, job.id, report, ReportOutcome.COMPLETED)


def incomplete_job(db: Database, actor: Actor, job_ref: str | int, report: CompletionInput) -> CompletionResult:
    """Leave a job unfinished: status INCOMPLETE, with the follow-up visit the report asks for."""
    return _finish(db, actor, job_ref, report, ReportOutcome.INCOMPLETE)


def _finish(
    db: Database, actor: Actor, job_ref: str | int, report: CompletionInput, outcome: ReportOutcome
) -> CompletionResult:
    try:
        with UnitOfWork(db, actor) as uow:
            return finish_in(uow, job_ref, report, outcome)
    except (IntegrityError, Conflict):
        # Two uploads of the same completion raced: the loser answers with the winner's result.
        if report.client_event_id:
            with UnitOfWork(db, actor) as uow:
                repeat = _existing(uow, report.client_event_id, job_ref)
            if repeat is not None:
                return repeat
        raise


def report_for_job(db: Database, job_ref: str | int) -> CompletionReport | None:
    with db.read() as session:
        job = find_job(session, job_ref)
        return session.scalar(select(CompletionReport).where(CompletionReport.job_id == job.id))


def add_photo_ref(
    db: Database,
    actor: Actor,
    job_ref: str | int,
    uri: str,
    taken_at: datetime,
    caption: str | None = None,
) -> PhotoRef:
    """Record where a photo taken on site was stored (the file itself lives in the phone app's storage)."""
    record = f"photo of job {job_ref}"
    if not uri.strip() or len(uri) > 500:
        raise InvalidInput("must be a non-empty reference of at most 500 characters", record=record, field="uri")
    if taken_at.tzinfo is None:
        raise InvalidInput("needs a time zone", record=record, field="taken_at")
    with UnitOfWork(db, actor) as uow:
        job = find_job(uow.session, job_ref)
        actor.require_field(job.technician_id or -1, f"add photos to job {job.ref}")
        photo = PhotoRef(job_id=job.id, uri=uri.strip(), caption=caption, taken_at=taken_at, created_by=actor.login)
        uow.session.add(photo)
        uow.session.flush()
        uow.emit(
            "job.photo_added",
            "job",
            job.id,
            {"ref": job.ref, "photo_id": photo.id, "uri": photo.uri, "caption": caption, "taken_at": taken_at},
        )
        return photo


def visit_summary(database: Database, job_ref: str) -> dict[str, Any]:
    """A finished job's completion report, invoice draft and the technician's timesheet line for that day."""
    with database.read() as s:
        job = find_job(s, job_ref)
        report = s.scalar(select(CompletionReport).where(CompletionReport.job_id == job.id))
        if report is None:
            raise NotFound(f"job {job.ref} has no completion report (status {job.status.value})")
        tech = s.get(Technician, report.technician_id)
        branch = s.get(Branch, job.branch_id)
        assert tech is not None and branch is not None
        invoice = invoice_for_job(s, job.id)
        day = local_date(report.actual_start, branch.timezone)
        sheet = s.scalar(select(Timesheet).where(Timesheet.technician_id == tech.id, Timesheet.day == day))
        parts = [
            {"sku": p.sku, "quantity": u.quantity, "serials": u.serials, "under_warranty": u.under_warranty}
            for u in report.parts
            if (p := s.get(Part, u.part_id)) is not None
        ]
        return {
            "job": job.ref,
            "status": job.status,
            "technician": tech.code,
            "report": {
                "actual_start": report.actual_start,
                "actual_end": report.actual_end,
                "labour_minutes": report.labour_minutes,
                "travel_minutes": report.travel_minutes,
                "resolution_code": report.resolution_code,
                "first_time_fix": report.first_time_fix,
                "signer": report.signer_name,
                "summary_sha256": report.summary_sha256,
                "parts": parts,
                "expenses": [
                    {"kind": e.kind, "description": e.description, "amount": e.amount} for e in report.expenses
                ],
                "notes": report.notes,
            },
            "invoice": invoice_payload(invoice, job, tech.code) if invoice else None,
            "timesheet": {
                "day": sheet.day,
                "worked_minutes": sheet.worked_minutes,
                "travel_minutes": sheet.travel_minutes,
                "break_minutes": sheet.break_minutes,
                "overtime_minutes": sheet.overtime_minutes,
                "status": sheet.status,
            }
            if sheet
            else None,
        }
