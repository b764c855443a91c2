"""Completing a visit: van stock, warranty returns, follow-ups, idempotency, invoice and timesheet in one commit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.errors import IllegalTransition, InsufficientStock, InvalidInput, PermissionDenied
from data.feed import tail
from data.models import Job, JobStatus, JobType, Part, Role, StockLevel, StockLocation
from data.models.field import CompletionReport, InvoiceDraft, PartReturn, ReturnDisposition, Timesheet
from data.services.completion import (
    CompletionInput,
    ExpenseInput,
    FollowUpInput,
    PartInput,
    SignatureInput,
    complete_job,
    incomplete_job,
    signature_hash,
)
from data.services.jobs import JobDraft, assign_job, change_status, create_job
from data.services.stock import move_stock
from tests.factories import DAY, DISPATCHER, build_world, local


def tech_actor(db: Database, code: str) -> Actor:
    with db.read() as s:
        from data.services.jobs import find_technician

        return Actor(code.lower(), Role.TECHNICIAN, "api", technician_id=find_technician(s, code).id)


def on_site_job(
    db: Database,
    site: str = "S1",
    asset: str | None = "HP-001",
    job_type: JobType = JobType.REPAIR,
    tech: str = "T1",
    hour: int = 9,
) -> str:
    job = create_job(
        db,
        DISPATCHER,
        JobDraft(job_type, site, "Heat pump noisy", 60, skills={"hvac": 1}, asset_serial=asset, created_at=local(7)),
    )
    assign_job(db, DISPATCHER, job.ref, tech, local(hour))
    actor = tech_actor(db, tech)
    change_status(db, DISPATCHER, job.ref, JobStatus.DISPATCHED, at=local(hour) - timedelta(minutes=30))
    change_status(db, actor, job.ref, JobStatus.EN_ROUTE, at=local(hour) - timedelta(minutes=20))
    change_status(db, actor, job.ref, JobStatus.ON_SITE, at=local(hour))
    return job.ref


def stock_van(db: Database, qty: int = 3, van: str = "VAN-T1") -> None:
    move_stock(db, DISPATCHER, "FLT-01", qty, from_location="WH-HEL", to_location=van, reason="load van")


def report(**kw: object) -> CompletionInput:
    base: dict[str, object] = dict(
        actual_start=local(9),
        actual_end=local(10, 10),
        labour_minutes=70,
        travel_minutes=20,
        resolution_code="FIXED",
        signature=SignatureInput("Anna Asiakas", local(10, 10), "Filter replaced; unit runs quietly"),
    )
    base.update(kw)
    return CompletionInput(**base)  # type: ignore[arg-type]


def van_qty(db: Database, van: str = "VAN-T1") -> int:
    with db.read() as s:
        loc = s.scalar(select(StockLocation).where(StockLocation.code == van))
        part = s.scalar(select(Part).where(Part.sku == "FLT-01"))
        assert loc and part
        row = s.get(StockLevel, (loc.id, part.id))
        return row.quantity if row else 0


def test_completion_takes_van_stock_and_drafts_invoice(db: Database) -> None:
    build_world(db)
    stock_van(db)
    ref = on_site_job(db)
    result = complete_job(db, tech_actor(db, "T1"), ref, report(parts=[PartInput("FLT-01", 2)]))
    assert result.status is JobStatus.COMPLETED and result.invoice_ref == "HEL-2026-000001"
    assert van_qty(db) == 1
    with db.read() as s:
        rep = s.scalar(select(CompletionReport))
        assert rep is not None and rep.summary_sha256 == signature_hash("Filter replaced; unit runs quietly")
        assert [p.quantity for p in rep.parts] == [2] and rep.parts[0].under_warranty
        job = s.scalar(select(Job).where(Job.ref == ref))
        assert job is not None and job.status is JobStatus.COMPLETED and job.actual_end == local(10, 10)
        sheet = s.scalar(select(Timesheet))
        assert sheet is not None and sheet.day == DAY and sheet.worked_minutes == 70 and sheet.travel_minutes == 20
    types = [e.type for e in tail(db)]
    assert "job.completed" in types and "invoice.drafted" in types
    done = next(e for e in tail(db) if e.type == "job.completed")
    assert done.payload["technician"] == "T1" and done.payload["parts"][0]["sku"] == "FLT-01"
    assert done.payload["first_time_fix"] is True and done.payload["labour_minutes"] == 70


def test_warranty_parts_create_return_records(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    with sqlite_db.write_session() as s:
        part = s.scalar(select(Part).where(Part.sku == "FLT-01"))
        assert part
        part.serial_tracked, part.supplier = True, "NIBE"
        s.commit()
    stock_van(sqlite_db)
    ref = on_site_job(sqlite_db)
    result = complete_job(
        sqlite_db, tech_actor(sqlite_db, "T1"), ref, report(parts=[PartInput("FLT-01", 2, ["SN1", "SN2"])])
    )
    assert len(result.part_return_ids) == 2
    with sqlite_db.read() as s:
        returns = list(s.scalars(select(PartReturn).order_by(PartReturn.id)))
        assert [r.serial for r in returns] == ["SN1", "SN2"]
        assert {r.disposition for r in returns} == {ReturnDisposition.SUPPLIER}
        assert returns[0].supplier == "NIBE" and returns[0].warranty_claim_ref == f"WC-{ref}-FLT-01-1"
        inv = s.scalar(select(InvoiceDraft))
        assert inv is not None
        part_line = next(ln for ln in inv.lines if ln.kind.value == "part")
        assert (
            part_line.covered and part_line.amount == Decimal("0.00") and "warranty" in (part_line.covered_reason or "")
        )


def test_serial_tracked_part_needs_serials(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    with sqlite_db.write_session() as s:
        part = s.scalar(select(Part).where(Part.sku == "FLT-01"))
        assert part
        part.serial_tracked = True
        s.commit()
    stock_van(sqlite_db)
    ref = on_site_job(sqlite_db)
    with pytest.raises(InvalidInput, match="serial-tracked"):
        complete_job(sqlite_db, DISPATCHER, ref, report(parts=[PartInput("FLT-01", 1)]))


def test_no_warranty_no_return(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    stock_van(sqlite_db)
    ref = on_site_job(sqlite_db, site="S2", asset=None)
    result = complete_job(sqlite_db, DISPATCHER, ref, report(parts=[PartInput("FLT-01", 1)]))
    assert result.part_return_ids == []


def test_insufficient_van_stock_names_van_and_part_and_changes_nothing(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    stock_van(sqlite_db, 1)
    ref = on_site_job(sqlite_db)
    with pytest.raises(InsufficientStock, match=r"VAN-T1 holds 1 x FLT-01"):
        complete_job(sqlite_db, tech_actor(sqlite_db, "T1"), ref, report(parts=[PartInput("FLT-01", 2)]))
    assert van_qty(sqlite_db) == 1
    with sqlite_db.read() as s:
        assert s.scalar(select(CompletionReport)) is None
        job = s.scalar(select(Job).where(Job.ref == ref))
        assert job is not None and job.status is JobStatus.ON_SITE


def test_completion_is_idempotent_on_client_event_id(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    stock_van(sqlite_db)
    ref = on_site_job(sqlite_db)
    actor = tech_actor(sqlite_db, "T1")
    first = complete_job(sqlite_db, actor, ref, report(parts=[PartInput("FLT-01", 1)], client_event_id="phone-1"))
    events = len(tail(sqlite_db))
    again = complete_job(sqlite_db, actor, ref, report(parts=[PartInput("FLT-01", 1)], client_event_id="phone-1"))
    assert again.repeated and again.report_id == first.report_id and again.invoice_ref == first.invoice_ref
    assert len(tail(sqlite_db)) == events and van_qty(sqlite_db) == 2
    with pytest.raises(IllegalTransition, match="completed"):
        complete_job(sqlite_db, actor, ref, report(client_event_id="phone-2"))


def test_not_first_time_fix_creates_follow_up(db: Database) -> None:
    build_world(db)
    ref = on_site_job(db)
    result = complete_job(
        db,
        tech_actor(db, "T1"),
        ref,
        report(first_time_fix=False, follow_up=FollowUpInput("Replace compressor", 120)),
    )
    assert result.follow_up_ref is not None
    with db.read() as s:
        follow = s.scalar(select(Job).where(Job.ref == result.follow_up_ref))
        original = s.scalar(select(Job).where(Job.ref == ref))
        assert follow and original and follow.follow_up_of_id == original.id
        assert follow.status is JobStatus.NEW and follow.duration_minutes == 120
        assert follow.skill_requirements() == {"hvac": 1} and follow.asset_id == original.asset_id


def test_follow_up_is_required_when_not_fixed(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    with pytest.raises(InvalidInput, match="follow_up"):
        complete_job(sqlite_db, DISPATCHER, ref, report(first_time_fix=False))


def test_incomplete_job_sets_status_and_follow_up(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    result = incomplete_job(
        sqlite_db,
        tech_actor(sqlite_db, "T1"),
        ref,
        report(first_time_fix=False, resolution_code="PARTS_NEEDED", follow_up=FollowUpInput("Bring valve", 60)),
    )
    assert result.status is JobStatus.INCOMPLETE and result.follow_up_ref
    assert any(e.type == "job.incomplete" for e in tail(sqlite_db))


def test_technician_completes_only_own_job_and_only_on_site(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    with pytest.raises(PermissionDenied):
        complete_job(sqlite_db, tech_actor(sqlite_db, "T3"), ref, report())
    other = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Leak", 30, created_at=local(7)))
    assign_job(sqlite_db, DISPATCHER, other.ref, "T1", local(12))
    with pytest.raises(IllegalTransition, match="scheduled"):
        complete_job(sqlite_db, DISPATCHER, other.ref, report())


def test_paused_job_can_be_completed(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    actor = tech_actor(sqlite_db, "T1")
    change_status(sqlite_db, actor, ref, JobStatus.PAUSED, at=local(9, 30))
    assert complete_job(sqlite_db, actor, ref, report()).status is JobStatus.COMPLETED


def test_bad_report_fields_are_named(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    with pytest.raises(InvalidInput, match="actual_end"):
        complete_job(sqlite_db, DISPATCHER, ref, report(actual_end=local(8)))
    with pytest.raises(InvalidInput, match=r"expenses\[0\].amount"):
        complete_job(sqlite_db, DISPATCHER, ref, report(expenses=[ExpenseInput("parking", "P", Decimal("-1"))]))


def test_photo_refs_belong_to_the_job_technician(sqlite_db: Database) -> None:
    from data.models.field import PhotoRef
    from data.services.completion import add_photo_ref

    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    photo = add_photo_ref(sqlite_db, tech_actor(sqlite_db, "T1"), ref, "s3://photos/j1/1.jpg", local(9, 5), "Before")
    assert photo.id and tail(sqlite_db)[-1].type == "job.photo_added"
    with pytest.raises(PermissionDenied):
        add_photo_ref(sqlite_db, tech_actor(sqlite_db, "T2"), ref, "s3://x", local(9, 6))
    with pytest.raises(InvalidInput, match="uri"):
        add_photo_ref(sqlite_db, DISPATCHER, ref, " ", local(9, 6))
    with sqlite_db.read() as s:
        assert [p.caption for p in s.scalars(select(PhotoRef))] == ["Before"]


def test_client_event_id_of_another_job_is_refused(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    first = on_site_job(sqlite_db)
    second = on_site_job(sqlite_db, site="S2", asset=None, tech="T3", hour=13)
    complete_job(sqlite_db, DISPATCHER, first, report(client_event_id="dup"))
    with pytest.raises(InvalidInput, match=f"already completed job {first}"):
        complete_job(sqlite_db, DISPATCHER, second, report(client_event_id="dup"))


def test_racing_duplicate_uploads_give_one_completion(db: Database) -> None:
    import threading

    build_world(db)
    ref = on_site_job(db)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def upload() -> None:
        barrier.wait()
        try:
            results.append(complete_job(db, DISPATCHER, ref, report(client_event_id="same-upload")))
        except Exception as e:  # pragma: no cover - reported by the assertion below
            results.append(e)

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(bool(r.repeated) for r in results) == [False, True]  # type: ignore[attr-defined]
    assert sum(e.type == "job.completed" for e in tail(db)) == 1
