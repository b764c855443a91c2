"""Invoices are numbered in a gap-free series per branch and year; a reopened job's bill is voided or credited."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from data.actor import Actor
from data.db import Database
from data.errors import IllegalTransition, InvalidInput, PermissionDenied
from data.feed import tail
from data.models import Job, JobStatus, JobType, Role
from data.models.field import CompletionReport, CreditNote, InvoiceDraft, InvoiceStatus, Timesheet
from data.permissions import Permission
from data.services.completion import PartInput, complete_from_office, complete_job
from data.services.invoice_numbers import SeriesKind, next_number
from data.services.invoicing import credit_invoice
from data.services.jobs import JobDraft, assign_job, create_job
from data.services.reopen import reopen_job
from data.uow import UnitOfWork
from tests.data.test_field_completion import on_site_job, report, stock_van, tech_actor, van_qty
from tests.factories import DAY, DISPATCHER, SUPERVISOR, build_world, local


def _scheduled(db: Database, hour: int, tech: str = "T1") -> str:
    job = create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Filter", 60, created_at=local(7)))
    assign_job(db, DISPATCHER, job.ref, tech, local(hour))
    return job.ref


def _office(db: Database, ref: str, hour: int, **kw: object) -> str | None:
    done = complete_from_office(db, DISPATCHER, ref, report(actual_start=local(hour), actual_end=local(hour, 50), **kw))
    return done.invoice_ref


def test_invoices_take_the_next_number_of_their_branch_series(db: Database) -> None:
    build_world(db)
    first = complete_job(db, tech_actor(db, "T1"), on_site_job(db), report()).invoice_ref
    second = _office(db, _scheduled(db, 12), 12)
    assert (first, second) == ("HEL-2026-000001", "HEL-2026-000002")


def test_a_failed_transaction_gives_its_number_back(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    with sqlite_db.read() as s:
        branch_id = s.scalar(text("SELECT id FROM branches WHERE code = 'HEL'"))
    with pytest.raises(RuntimeError), UnitOfWork(sqlite_db, DISPATCHER) as uow:
        assert next_number(uow.session, branch_id, SeriesKind.INVOICE, 2026) == 1
        raise RuntimeError("the completion failed after numbering")
    assert _office(sqlite_db, _scheduled(sqlite_db, 12), 12) == "HEL-2026-000001"


def test_concurrent_completions_on_postgresql_queue_on_the_series_and_share_no_number(pg_db: Database) -> None:
    """A holds the branch's series row in an open transaction; B's completion waits for it (seen in pg_stat_activity),
    then takes the next number when A commits."""
    build_world(pg_db)
    ref_b = _scheduled(pg_db, 12)
    with pg_db.read() as s:
        branch_id = s.scalar(text("SELECT id FROM branches WHERE code = 'HEL'"))
    taken = threading.Event()
    release = threading.Event()
    results: dict[str, object] = {}

    def holder() -> None:
        with UnitOfWork(pg_db, DISPATCHER) as uow:
            results["a"] = next_number(uow.session, branch_id, SeriesKind.INVOICE, 2026)
            taken.set()
            release.wait()

    def completer() -> None:
        try:
            results["b"] = _office(pg_db, ref_b, 12)
        except Exception as e:
            results["b"] = e

    a = threading.Thread(target=holder)
    a.start()
    assert taken.wait(30)
    b = threading.Thread(target=completer)
    b.start()
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%invoice_series%'"
    with pg_db.engine.connect() as conn:
        for _ in range(10_000):
            if conn.execute(text(waiting)).scalar_one() >= 1:
                break
            conn.rollback()
        else:  # pragma: no cover - the completion never queued
            release.set()
            pytest.fail("the second completion did not wait for the series row")
    release.set()
    a.join(30)
    b.join(30)
    assert results == {"a": 1, "b": "HEL-2026-000002"}


def test_many_completions_at_once_on_postgresql_number_every_invoice_once_without_gaps(pg_db: Database) -> None:
    """Four technicians' jobs completed at the same moment from four threads: 1..4, each once."""
    build_world(pg_db)
    refs = [_scheduled(pg_db, 9 + i, tech) for i, tech in enumerate(("T1", "T2", "T1", "T2"))]
    start = threading.Barrier(len(refs))
    numbers: list[str | None] = []
    errors: list[BaseException] = []

    def complete(ref: str, hour: int) -> None:
        start.wait()
        try:
            numbers.append(_office(pg_db, ref, hour))
        except BaseException as e:  # the test reads it
            errors.append(e)

    threads = [threading.Thread(target=complete, args=(ref, 9 + i)) for i, ref in enumerate(refs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(n or "" for n in numbers) == [f"HEL-2026-{n:06d}" for n in range(1, 5)]


def test_reopening_voids_the_draft_returns_the_parts_and_a_new_completion_takes_the_next_number(db: Database) -> None:
    build_world(db)
    stock_van(db, 3)
    ref = _scheduled(db, 9)
    first = _office(db, ref, 9, parts=[PartInput("FLT-01", 2)])
    assert van_qty(db) == 1
    done = reopen_job(db, DISPATCHER, ref, "completed the wrong job", at=local(11))
    assert done.status is JobStatus.SCHEDULED and done.invoice == {
        "invoice": first,
        "action": "voided",
        "credit_note": None,
    }
    assert done.parts_returned == {"FLT-01": 2} and van_qty(db) == 3
    with db.read() as s:
        voided = s.scalar(select(InvoiceDraft).where(InvoiceDraft.ref == first))
        assert voided is not None and voided.status is InvoiceStatus.VOID and "wrong job" in (voided.void_reason or "")
        job = s.scalar(select(Job).where(Job.ref == ref))
        assert job is not None and job.actual_end is None and job.technician_id is not None
        assert s.scalar(select(CompletionReport).where(CompletionReport.job_id == job.id)) is None
        sheet = s.scalar(select(Timesheet).where(Timesheet.day == DAY))
        assert sheet is not None and sheet.worked_minutes == 0
    events = [e for e in tail(db) if e.type in ("job.reopened", "invoice.voided")]
    assert [e.type for e in events] == ["invoice.voided", "job.reopened"]
    assert (
        events[1].payload["invoice"]["action"] == "voided" and events[1].payload["reason"] == "completed the wrong job"
    )
    again = _office(db, ref, 13)
    assert again == "HEL-2026-000002"


def test_reopening_a_job_whose_invoice_was_sent_credits_it_from_the_credit_note_series(db: Database) -> None:
    build_world(db)
    ref = _scheduled(db, 9)
    sent = _office(db, ref, 9)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE invoice_drafts SET status = 'sent'"))
    done = reopen_job(db, DISPATCHER, ref, "customer was not home", at=local(11))
    assert done.invoice == {"invoice": sent, "action": "credited", "credit_note": "HEL-CN-2026-000001"}
    with db.read() as s:
        note = s.scalar(select(CreditNote))
        invoice = s.scalar(select(InvoiceDraft).where(InvoiceDraft.ref == sent))
        assert note is not None and invoice is not None and invoice.status is InvoiceStatus.CREDITED
        assert note.total == invoice.total and note.reason.endswith("customer was not home")
    [issued] = [e for e in tail(db) if e.type == "credit_note.issued"]
    assert issued.payload["invoice_ref"] == sent and issued.payload["lines"]


def test_only_a_visited_job_reopens_and_a_reason_is_needed(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = _scheduled(sqlite_db, 9)
    with pytest.raises(IllegalTransition, match="only a completed or incomplete job"):
        reopen_job(sqlite_db, DISPATCHER, ref, "why not")
    _office(sqlite_db, ref, 9)
    with pytest.raises(InvalidInput, match="reason"):
        reopen_job(sqlite_db, DISPATCHER, ref, "  ")
    with pytest.raises(PermissionDenied):
        reopen_job(sqlite_db, SUPERVISOR, ref, "looked wrong")
    planner = Actor("pia", Role.DISPATCHER, "cli", role_name="planner", granted=frozenset({Permission.ASSIGN}))
    with pytest.raises(PermissionDenied, match="see_money"):
        reopen_job(sqlite_db, planner, ref, "looked wrong")  # it would void or credit a bill


def test_credit_once_and_never_by_a_supervisor(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = _office(sqlite_db, _scheduled(sqlite_db, 9), 9)
    assert ref is not None
    with pytest.raises(PermissionDenied):
        credit_invoice(sqlite_db, SUPERVISOR, ref, "wrong price")
    note = credit_invoice(sqlite_db, DISPATCHER, ref, "wrong price", on=DAY + timedelta(days=1))
    assert note.ref == "HEL-CN-2026-000001"
    with pytest.raises(IllegalTransition, match="already credited"):
        credit_invoice(sqlite_db, DISPATCHER, ref, "again")
