"""KPIs on a hand-made history: every expected figure below is worked out by hand in the comments."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from data.db import Database
from data.errors import InvalidInput
from data.kpis import compute_kpis
from data.models import Absence, AbsenceKind, Customer, Job, JobStatus, JobType, Site
from data.models.field import CompletionReport, InvoiceDraft, ReportOutcome
from tests.factories import DAY, build_world, local

D1, D2 = DAY, DAY + timedelta(days=1)  # Wednesday and Thursday, both rostered 08-16 with a 30 min break


def _visit(
    db: Database,
    ref: str,
    tech: int,
    site: str,
    status: JobStatus,
    created: datetime,
    arrived: datetime | None,
    ended: datetime,
    sla: datetime | None,
    labour: int | None = None,
    travel: int = 0,
    ftf: bool = True,
    revenue: str | None = None,
) -> None:
    with db.write_session() as s:
        site_row = s.scalar(select(Site).where(Site.code == site))
        customer = s.scalar(select(Customer))
        assert site_row and customer
        job = Job(
            ref=ref,
            type=JobType.REPAIR,
            status=status,
            summary=ref,
            customer_id=customer.id,
            site_id=site_row.id,
            branch_id=site_row.branch_id,
            duration_minutes=60,
            technician_id=tech,
            created_at=created,
            arrived_at=arrived,
            actual_start=arrived,
            actual_end=ended,
            sla_due=sla,
        )
        s.add(job)
        s.flush()
        if labour is not None:
            s.add(
                CompletionReport(
                    job_id=job.id,
                    technician_id=tech,
                    outcome=ReportOutcome(status.value),
                    actual_start=arrived or ended,
                    actual_end=ended,
                    labour_minutes=labour,
                    travel_minutes=travel,
                    resolution_code="X",
                    first_time_fix=ftf,
                )
            )
        if revenue is not None:
            amount = Decimal(revenue)
            s.add(
                InvoiceDraft(
                    ref=f"INV-{ref}",
                    job_id=job.id,
                    customer_id=customer.id,
                    branch_id=site_row.branch_id,
                    technician_id=tech,
                    currency="EUR",
                    subtotal=amount,
                    tax=Decimal("0"),
                    total=amount,
                    issued_on=ended.date(),
                )
            )
        s.commit()


@pytest.fixture
def history(db: Database) -> Database:
    world = build_world(db)
    t1, t2, t3 = (world.technician_ids[c] for c in ("T1", "T2", "T3"))
    # Before the range: F at S1 five days earlier (makes A and C repeats), E at S2 forty days earlier (too old for B).
    _visit(
        db,
        "F",
        t3,
        "S1",
        JobStatus.COMPLETED,
        local(8, 0, D1 - timedelta(5)),
        local(9, 0, D1 - timedelta(5)),
        local(10, 0, D1 - timedelta(5)),
        None,
        60,
    )
    _visit(
        db,
        "E",
        t3,
        "S2",
        JobStatus.COMPLETED,
        local(8, 0, D1 - timedelta(40)),
        local(9, 0, D1 - timedelta(40)),
        local(10, 0, D1 - timedelta(40)),
        None,
        60,
    )
    # A: T1 at S1 on D1, created 07:00, on site 09:00 (120 min), SLA 12:00 met; 60 labour, 20 travel; fixed; 100.00.
    _visit(db, "A", t1, "S1", JobStatus.COMPLETED, local(7), local(9), local(10), local(12), 60, 20, True, "100.00")
    # B: T1 at S2 on D2, created 08:00, on site 11:00 (180 min), SLA 10:00 missed; 90 labour, 30 travel; 200.00.
    _visit(
        db,
        "B",
        t1,
        "S2",
        JobStatus.COMPLETED,
        local(8, 0, D2),
        local(11, 0, D2),
        local(12, 30, D2),
        local(10, 0, D2),
        90,
        30,
        False,
        "200.00",
    )
    # C: T2 at S1 on D2, incomplete, created D1 12:00, on site D2 09:00 (1260 min), no SLA; 60 labour, 10 travel; 50.00.
    _visit(
        db,
        "C",
        t2,
        "S1",
        JobStatus.INCOMPLETE,
        local(12, 0, D1),
        local(9, 0, D2),
        local(10, 0, D2),
        None,
        60,
        10,
        False,
        "50.00",
    )
    # A cancelled job in range counts for nothing.
    _visit(db, "X", t2, "S3", JobStatus.CANCELLED, local(7), None, local(11), local(12))
    # T3 is sick all of D2: no rostered minutes that day.
    with db.write_session() as s:
        s.add(
            Absence(
                technician_id=t3,
                kind=AbsenceKind.SICK,
                starts_at=local(0, 0, D2),
                ends_at=local(0, 0, D2 + timedelta(1)),
            )
        )
        s.commit()
    return db


def test_overall_kpis(history: Database) -> None:
    report = compute_kpis(history, D1, D2)
    (overall,) = report.groups
    v = overall.values
    assert v["first_time_fix_rate"] == pytest.approx(1 / 3)  # A fixed of A, B, C
    assert v["sla_compliance"] == pytest.approx(1 / 2)  # A met, B missed, C has no SLA
    assert v["mean_response_minutes"] == pytest.approx((120 + 180 + 1260) / 3)  # 520
    # Rostered: 3 techs x 2 days x (480 - 30) = 2700, minus T3's sick day 450 = 2250; labour 60+90+60 = 210.
    assert v["utilisation"] == pytest.approx(210 / 2250)
    assert v["travel_share"] == pytest.approx(60 / (60 + 210))
    assert v["repeat_visits"] == 2  # A (after F) and C (after A); B's earlier visit E is 40 days old
    assert v["revenue"] == Decimal("350.00")
    assert v["revenue_per_customer"] == Decimal("350.00")  # one customer
    assert v["revenue_per_technician"] == Decimal("175.00")  # T1 and T2
    assert v["jobs_completed_per_day"] == pytest.approx(1.0)  # A and B completed over 2 days (C is incomplete)
    assert overall.series["first_time_fix_rate"] == [1.0, 0.0]
    assert overall.series["revenue"] == [Decimal("100.00"), Decimal("250.00")]
    assert overall.series["utilisation"] == [pytest.approx(60 / 1350), pytest.approx(150 / 900)]


def test_kpis_by_technician(history: Database) -> None:
    groups = {g.label: g.values for g in compute_kpis(history, D1, D2, "technician").groups}
    assert set(groups) == {"T1", "T2", "T3"}
    t1, t2, t3 = groups["T1"], groups["T2"], groups["T3"]
    assert t1["first_time_fix_rate"] == pytest.approx(0.5) and t1["sla_compliance"] == pytest.approx(0.5)
    assert t1["mean_response_minutes"] == pytest.approx(150) and t1["utilisation"] == pytest.approx(150 / 900)
    assert t1["travel_share"] == pytest.approx(50 / 200) and t1["revenue"] == Decimal("300.00")
    assert t2["sla_compliance"] is None and t2["mean_response_minutes"] == pytest.approx(1260)
    assert t2["travel_share"] == pytest.approx(10 / 70) and t2["jobs_completed_per_day"] == 0
    assert t3["utilisation"] == 0 and t3["first_time_fix_rate"] is None and t3["revenue"] == Decimal("0.00")


def test_kpis_by_customer_and_branch(history: Database) -> None:
    (c1,) = compute_kpis(history, D1, D2, "customer").groups
    assert c1.label == "C1" and c1.values["utilisation"] is None and c1.values["revenue"] == Decimal("350.00")
    (hel,) = compute_kpis(history, D1, D2, "branch").groups
    assert hel.label == "HEL" and hel.values["utilisation"] == pytest.approx(210 / 2250)


def test_bad_range_and_grouping(sqlite_db: Database) -> None:
    with pytest.raises(InvalidInput, match="to"):
        compute_kpis(sqlite_db, date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(InvalidInput, match="by"):
        compute_kpis(sqlite_db, date(2026, 1, 1), date(2026, 1, 2), "planet")


def test_visits_without_report_use_field_times_and_follow_ups(sqlite_db: Database) -> None:
    world = build_world(sqlite_db)
    t1 = world.technician_ids["T1"]
    # G: no report, on site 09:00-09:45 -> 45 labour minutes, no travel known; H: no report, but a follow-up
    # job points back at it -> not a first-time fix.
    _visit(sqlite_db, "G", t1, "S2", JobStatus.COMPLETED, local(7), local(9), local(9, 45), None)
    _visit(sqlite_db, "H", t1, "S3", JobStatus.COMPLETED, local(7), local(10), local(11), None)
    with sqlite_db.write_session() as s:
        h = s.scalar(select(Job).where(Job.ref == "H"))
        assert h
        s.add(
            Job(
                ref="H2",
                type=JobType.REPAIR,
                summary="again",
                customer_id=h.customer_id,
                site_id=h.site_id,
                branch_id=h.branch_id,
                duration_minutes=30,
                follow_up_of_id=h.id,
            )
        )
        s.commit()
    (overall,) = compute_kpis(sqlite_db, D1, D1).groups
    assert overall.values["first_time_fix_rate"] == pytest.approx(1 / 2)
    assert overall.values["utilisation"] == pytest.approx((45 + 60) / (3 * 450))
    assert overall.values["travel_share"] == pytest.approx(0.0)
