"""Invoice drafts: exact Decimal pricing, rounding rules, warranty and contract cover, totals that reconcile."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from data.db import Database
from data.feed import tail
from data.models import Contract, JobStatus, JobType, PriceList
from data.models.field import InvoiceDraft, LineKind
from data.services.completion import CompletionInput, ExpenseInput, PartInput, complete_job
from data.services.invoicing import (
    Cover,
    ExpenseCharge,
    PartCharge,
    Visit,
    billed_labour_minutes,
    price_visit,
)
from data.services.jobs import JobDraft, assign_job, change_status, create_job
from data.services.stock import move_stock
from tests.factories import DISPATCHER, build_world, local

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.3"), places=3, allow_nan=False, allow_infinity=False)
covers = st.one_of(st.just(Cover()), st.just(Cover("warranty: asset X")), st.just(Cover("contract K1")))
parts = st.builds(PartCharge, st.sampled_from(["FLT-01", "VLV-2"]), st.just("part"), st.integers(1, 20), money, covers)
expenses = st.builds(ExpenseCharge, st.just("parking"), st.just("P-hall"), money)
visits = st.builds(
    Visit,
    labour_minutes=st.integers(0, 900),
    labour_rate=money,
    increment_minutes=st.integers(1, 60),
    minimum_minutes=st.integers(0, 120),
    callout_fee=money,
    tax_rate=rates,
    parts=st.lists(parts, max_size=5),
    expenses=st.lists(expenses, max_size=3),
    labour_cover=covers,
)


@settings(max_examples=300, deadline=None)
@given(visits)
def test_totals_reconcile_and_covered_lines_are_zero(visit: Visit) -> None:
    priced = price_visit(visit)
    assert priced.subtotal == sum((ln.amount for ln in priced.lines), Decimal(0))
    assert priced.tax == sum((ln.tax_amount for ln in priced.lines), Decimal(0))
    assert priced.total == priced.subtotal + priced.tax
    for value in (priced.subtotal, priced.tax, priced.total):
        assert isinstance(value, Decimal) and value == value.quantize(Decimal("0.01"))
    for ln in priced.lines:
        for v in (ln.quantity, ln.unit_price, ln.amount, ln.tax_rate, ln.tax_amount):
            assert isinstance(v, Decimal)
        assert ln.amount == ln.amount.quantize(Decimal("0.01")) and ln.amount >= 0
        if ln.covered:
            assert ln.amount == 0 and ln.tax_amount == 0 and ln.covered_reason
        if ln.kind is LineKind.EXPENSE:
            assert not ln.covered
    labour = [ln for ln in priced.lines if ln.kind is LineKind.LABOUR]
    assert bool(labour) == (visit.labour_minutes > 0)


@given(st.integers(1, 1000), st.integers(1, 60), st.integers(0, 240))
def test_labour_rounds_up_to_increment_with_minimum(minutes: int, increment: int, minimum: int) -> None:
    billed = billed_labour_minutes(minutes, increment, minimum)
    assert billed >= minutes and billed >= minimum
    assert billed == minimum or (billed % increment == 0 and billed - minutes < increment)


def test_float_is_refused() -> None:
    import pytest

    with pytest.raises(TypeError):
        price_visit(Visit(60, 78.0, 15, 60, Decimal(0), Decimal(0)))  # type: ignore[arg-type]


def test_hand_checked_invoice() -> None:
    # 70 min worked, 15-min blocks -> 75 min at 78.00/h = 97.50; call-out 45.00; 2 x 12.90 = 25.80;
    # parking 3.333 -> 3.33; tax 25.5 %: 24.8625 -> 24.86, 11.475 -> 11.48, 6.579 -> 6.58, 0.84915 -> 0.85.
    priced = price_visit(
        Visit(
            70,
            Decimal("78.00"),
            15,
            60,
            Decimal("45.00"),
            Decimal("0.255"),
            parts=[PartCharge("FLT-01", "Air filter", 2, Decimal("12.90"))],
            expenses=[ExpenseCharge("parking", "P-hall", Decimal("3.333"))],
        )
    )
    assert [ln.amount for ln in priced.lines] == [Decimal("97.50"), Decimal("45.00"), Decimal("25.80"), Decimal("3.33")]
    assert [ln.tax_amount for ln in priced.lines] == [
        Decimal("24.86"),
        Decimal("11.48"),
        Decimal("6.58"),
        Decimal("0.85"),
    ]
    assert priced.subtotal == Decimal("171.63") and priced.tax == Decimal("43.77") and priced.total == Decimal("215.40")


def _complete(db: Database, site: str, hour: int, job_type: JobType, day_offset: int = 0, **kw: object) -> InvoiceDraft:
    day = date(2026, 11, 25) + timedelta(days=day_offset)
    job = create_job(
        db,
        DISPATCHER,
        JobDraft(
            job_type,
            site,
            "Visit",
            60,
            skills={"hvac": 1},
            asset_serial="HP-001" if site == "S1" else None,
            created_at=local(7, day=day),
        ),
    )
    assign_job(db, DISPATCHER, job.ref, "T1", local(hour, day=day))
    for status in (JobStatus.DISPATCHED, JobStatus.EN_ROUTE, JobStatus.ON_SITE):
        change_status(db, DISPATCHER, job.ref, status, at=local(hour, day=day))
    complete_job(
        db, DISPATCHER, job.ref, CompletionInput(local(hour, day=day), local(hour + 1, day=day), 50, 15, "FIXED", **kw)
    )  # type: ignore[arg-type]
    with db.read() as s:
        inv = s.scalar(select(InvoiceDraft).where(InvoiceDraft.job_id == job.id))
        assert inv is not None
        assert inv.lines is not None
        s.expunge_all()  # keep the loaded lines after the read session ends
        return inv


def test_contract_covers_labour_within_hours_and_bills_outside(db: Database) -> None:
    build_world(db)
    move_stock(db, DISPATCHER, "FLT-01", 4, from_location="WH-HEL", to_location="VAN-T1", reason="load")
    covered = _complete(
        db,
        "S2",
        9,
        JobType.REPAIR,
        parts=[PartInput("FLT-01", 1)],
        expenses=[ExpenseInput("parking", "P", Decimal("4.00"))],
    )
    kinds = {ln.kind: ln for ln in covered.lines}
    assert kinds[LineKind.LABOUR].covered and kinds[LineKind.CALLOUT].covered
    assert "contract K1" in (kinds[LineKind.LABOUR].covered_reason or "")
    assert not kinds[LineKind.PART].covered and kinds[LineKind.PART].amount == Decimal("12.90")
    assert covered.subtotal == Decimal("16.90") and covered.tax == Decimal("3.29") + Decimal("1.02")
    assert covered.total == covered.subtotal + covered.tax
    # An install is not a covered job type: labour (minimum 60 min = 78.00) and call-out are billed.
    billed = _complete(db, "S3", 13, JobType.INSTALL)
    assert [ln.amount for ln in billed.lines] == [Decimal("78.00"), Decimal("45.00")]
    assert billed.tax == Decimal("19.89") + Decimal("11.48") and billed.total == Decimal("154.37")
    drafted = [e for e in tail(db) if e.type == "invoice.drafted"]
    assert drafted[-1].payload["total"] == "154.37" and drafted[-1].payload["lines"][0]["kind"] == "labour"


def test_contract_parts_and_price_list_prices(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    with sqlite_db.write_session() as s:
        contract = s.scalar(select(Contract))
        assert contract
        gold = PriceList(
            code="GOLD",
            name="Gold",
            labour_rate=Decimal("60.00"),
            callout_fee=Decimal("0"),
            labour_increment_minutes=30,
            labour_minimum_minutes=30,
            part_prices={"FLT-01": "10.00"},
        )
        s.add(gold)
        s.flush()
        contract.price_list_id = gold.id
        contract.covered_part_skus = ["FLT-01"]
        contract.coverage_start, contract.coverage_end = time(8), time(9)
        s.commit()
    move_stock(sqlite_db, DISPATCHER, "FLT-01", 4, from_location="WH-HEL", to_location="VAN-T3", reason="load")
    move_stock(sqlite_db, DISPATCHER, "FLT-01", 4, from_location="WH-HEL", to_location="VAN-T1", reason="load")
    inv = _complete(sqlite_db, "S2", 10, JobType.REPAIR, parts=[PartInput("FLT-01", 3)])
    labour, part = inv.lines
    # Outside the contract's 08-09 coverage: 50 min -> 60 min (30-min blocks) at 60.00 = 60.00.
    assert not labour.covered and labour.amount == Decimal("60.00") and labour.quantity == Decimal("1.0000")
    assert part.covered and part.amount == 0 and part.unit_price == Decimal("10.00")
    assert part.covered_reason == "contract K1 covers part FLT-01"


@given(
    st.dates(date(2025, 1, 1), date(2028, 12, 31)),
    st.one_of(st.none(), st.dates(date(2025, 1, 1), date(2028, 12, 31))),
    st.booleans(),
)
def test_part_cover_follows_warranty_end_then_contract(on: date, warranty_end: date | None, listed: bool) -> None:
    from data.models import Asset
    from data.services.invoicing import part_cover

    asset = Asset(serial="A1", kind="k", model="m", warranty_end=warranty_end)
    contract = Contract(
        code="K", covered_part_skus=["P1"] if listed else [], valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31)
    )
    cover = part_cover(asset, contract, "P1", on)
    if warranty_end is not None and on <= warranty_end:
        assert cover.reason is not None and cover.reason.startswith("warranty")
    elif listed and contract.valid_on(on):
        assert cover.reason == "contract K covers part P1"
    else:
        assert cover.reason is None
