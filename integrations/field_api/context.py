"""What a technician needs to know about a job before arriving: customer, site, asset, contract, history."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.availability import local_date, local_day_bounds
from data.models.customers import Asset, Contact, Contract, Customer, Site
from data.models.field import CompletionReport, PhotoRef
from data.models.jobs import VISITED_STATUSES, Job, JobNote, JobStatus
from data.models.org import Branch
from data.models.stock import StockLevel, StockLocation
from data.models.workforce import Technician
from data.queries.offers import offers_of_job
from data.services.api_tokens import FieldIdentity
from integrations.field_api.schemas import (
    AssetOut,
    ContactOut,
    ContractOut,
    CustomerOut,
    JobContext,
    JobOut,
    NoteOut,
    OfferOut,
    PhotoOut,
    SiteOut,
    StockLine,
    StockOut,
    VisitOut,
)

PREVIOUS_VISITS = 5


def _notes(session: Session, job_id: int) -> list[NoteOut]:
    rows = session.scalars(select(JobNote).where(JobNote.job_id == job_id).order_by(JobNote.created_at, JobNote.id))
    return [
        NoteOut(author=n.author, author_kind=n.author_kind.value, body=n.body, created_at=n.created_at) for n in rows
    ]


def job_out(job: Job) -> JobOut:
    return JobOut(
        ref=job.ref,
        type=job.type.value,
        status=job.status.value,
        priority=job.priority,
        summary=job.summary,
        version=job.version,
        arrived_at=job.arrived_at,
        actual_start=job.actual_start,
        actual_end=job.actual_end,
    )


def job_context(session: Session, job: Job) -> JobContext:
    branch = session.get(Branch, job.branch_id)
    customer = session.get(Customer, job.customer_id)
    site = session.get(Site, job.site_id)
    assert branch is not None and customer is not None and site is not None
    day = local_date(job.planned_start or job.window_start or job.created_at, branch.timezone)
    asset = session.get(Asset, job.asset_id) if job.asset_id else None
    contract = session.get(Contract, job.contract_id) if job.contract_id else None
    contacts = session.scalars(
        select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.primary.desc(), Contact.name)
    )
    photos = session.scalars(select(PhotoRef).where(PhotoRef.job_id == job.id).order_by(PhotoRef.taken_at))
    return JobContext(
        **job_out(job).model_dump(),
        description=job.description,
        duration_minutes=job.duration_minutes,
        window_start=job.window_start,
        window_end=job.window_end,
        sla_due=job.sla_due,
        planned_start=job.planned_start,
        planned_end=job.planned_end,
        required_skills=job.skill_requirements(),
        customer=CustomerOut(
            code=customer.code,
            name=customer.name,
            email=customer.email,
            phone=customer.phone,
            notes=customer.notes,
            preferences=dict(customer.preferences or {}),
        ),
        contacts=[
            ContactOut(name=c.name, role=c.role, email=c.email, phone=c.phone, primary=c.primary) for c in contacts
        ],
        site=SiteOut(
            code=site.code,
            name=site.name,
            address=site.address,
            postcode=site.postcode,
            city=site.city,
            lat=site.lat,
            lon=site.lon,
            access_notes=site.access_notes,
        ),
        asset=_asset(asset, day),
        contract=_contract(contract, day),
        notes=_notes(session, job.id),
        photos=[
            PhotoOut(id=p.id, uri=p.uri, caption=p.caption, taken_at=p.taken_at, file_id=p.file_id) for p in photos
        ],
        previous_visits=previous_visits(session, job),
        offers=[OfferOut(**asdict(o)) for o in offers_of_job(session, job)],
    )


def _asset(asset: Asset | None, day: date) -> AssetOut | None:
    if asset is None:
        return None
    return AssetOut(
        kind=asset.kind,
        model=asset.model,
        serial=asset.serial,
        install_date=asset.install_date,
        warranty_end=asset.warranty_end,
        under_warranty=asset.under_warranty(day),
    )


def _contract(contract: Contract | None, day: date) -> ContractOut | None:
    if contract is None:
        return None
    return ContractOut(
        code=contract.code,
        name=contract.name,
        sla_response_hours=contract.sla_response_hours,
        covered_job_types=list(contract.covered_job_types),
        covered_part_skus=list(contract.covered_part_skus),
        valid_from=contract.valid_from,
        valid_to=contract.valid_to,
        in_force=contract.valid_on(day),
    )


def previous_visits(session: Session, job: Job) -> list[VisitOut]:
    """The latest finished visits at the same site, newest first, with what was written about them."""
    rows = session.execute(
        select(Job, Technician.code, CompletionReport.resolution_code, CompletionReport.notes)
        .outerjoin(Technician, Technician.id == Job.technician_id)
        .outerjoin(CompletionReport, CompletionReport.job_id == Job.id)
        .where(Job.site_id == job.site_id, Job.id != job.id, Job.status.in_(VISITED_STATUSES))
        .order_by(Job.actual_end.desc().nulls_last(), Job.id.desc())
        .limit(PREVIOUS_VISITS)
    )
    return [
        VisitOut(
            ref=visit.ref,
            type=visit.type.value,
            status=visit.status.value,
            summary=visit.summary,
            technician=code,
            arrived_at=visit.arrived_at,
            actual_end=visit.actual_end,
            resolution_code=resolution,
            report_notes=report_notes,
            notes=_notes(session, visit.id),
        )
        for visit, code, resolution, report_notes in rows
    ]


def day_jobs(session: Session, me: FieldIdentity, day: date) -> list[JobContext]:
    """My jobs planned on a local day, in planned order (cancelled ones left out)."""
    start, end = local_day_bounds(day, me.timezone)
    jobs = session.scalars(
        select(Job)
        .where(
            Job.technician_id == me.technician_id,
            Job.planned_start >= start,
            Job.planned_start < end,
            Job.status != JobStatus.CANCELLED,
        )
        .order_by(Job.planned_start, Job.id)
    )
    return [job_context(session, job) for job in jobs]


def van_stock(session: Session, me: FieldIdentity) -> StockOut | None:
    van = session.scalar(select(StockLocation).where(StockLocation.technician_id == me.technician_id))
    if van is None:
        return None
    levels = session.scalars(select(StockLevel).where(StockLevel.location_id == van.id, StockLevel.quantity > 0)).all()
    lines = sorted(
        (
            StockLine(
                sku=lv.part.sku,
                name=lv.part.name,
                quantity=lv.quantity,
                serial_tracked=lv.part.serial_tracked,
                list_price=lv.part.list_price,
            )
            for lv in levels
        ),
        key=lambda line: line.sku,
    )
    return StockOut(location=van.code, lines=lines)
