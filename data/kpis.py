"""Operational KPIs over a date range, overall or by technician, branch or customer, with a daily series each.

Definitions (kept identical in docs/kpis.md): a *finished visit* is a job in status completed or
incomplete whose `actual_end` falls, in its branch's time zone, on a day of the range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.availability import local_date, resolve_shift
from data.db import Database
from data.errors import InvalidInput
from data.models.customers import Customer
from data.models.field import CANCELLED_INVOICE_STATUSES, CompletionReport, InvoiceDraft
from data.models.jobs import VISITED_STATUSES, Job, JobStatus
from data.models.org import Branch
from data.models.workforce import Absence, ShiftException, Technician

GroupBy = Literal["technician", "branch", "customer"]
GROUPINGS: tuple[str, ...] = ("technician", "branch", "customer")
KPI_NAMES: tuple[str, ...] = (
    "first_time_fix_rate",
    "sla_compliance",
    "mean_response_minutes",
    "utilisation",
    "travel_share",
    "repeat_visits",
    "revenue",
    "revenue_per_customer",
    "revenue_per_technician",
    "jobs_completed_per_day",
)
RATIOS = frozenset({"first_time_fix_rate", "sla_compliance", "utilisation", "travel_share"})
REPEAT_WINDOW = timedelta(days=30)
FINISHED = VISITED_STATUSES
KpiValue = float | Decimal | int | None


@dataclass(frozen=True)
class VisitFact:
    job_id: int
    day: date
    status: JobStatus
    technician_id: int | None
    branch_id: int
    customer_id: int
    site_id: int
    created_at: datetime
    arrived_at: datetime | None
    actual_end: datetime
    sla_due: datetime | None
    labour_minutes: int | None
    travel_minutes: int | None
    first_time_fix: bool | None
    revenue: Decimal | None
    repeat: bool


@dataclass
class KpiGroup:
    key: str
    label: str
    values: dict[str, KpiValue]
    series: dict[str, list[KpiValue]] = field(default_factory=dict)


@dataclass
class KpiReport:
    start: date
    end: date
    by: str | None
    days: list[date]
    groups: list[KpiGroup]


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def kpi_values(visits: list[VisitFact], shift_minutes: int | None, days: int) -> dict[str, KpiValue]:
    """Every KPI from a group's finished visits and its rostered minutes (None: not meaningful)."""
    reported = [v for v in visits if v.first_time_fix is not None]
    with_sla = [v for v in visits if v.sla_due is not None]
    sla_met = [v for v in with_sla if v.sla_due is not None and (v.arrived_at or v.actual_end) <= v.sla_due]
    responses = [(v.arrived_at - v.created_at).total_seconds() / 60 for v in visits if v.arrived_at is not None]
    labour = sum(v.labour_minutes or 0 for v in visits)
    travel = sum(v.travel_minutes or 0 for v in visits)
    invoiced = [v for v in visits if v.revenue is not None]
    revenue = sum((v.revenue for v in invoiced if v.revenue is not None), Decimal("0"))
    customers = {v.customer_id for v in invoiced}
    technicians = {v.technician_id for v in invoiced if v.technician_id is not None}
    completed = sum(1 for v in visits if v.status is JobStatus.COMPLETED)
    return {
        "first_time_fix_rate": _ratio(sum(1 for v in reported if v.first_time_fix), len(reported)),
        "sla_compliance": _ratio(len(sla_met), len(with_sla)),
        "mean_response_minutes": sum(responses) / len(responses) if responses else None,
        "utilisation": _ratio(labour, shift_minutes) if shift_minutes is not None else None,
        "travel_share": _ratio(travel, travel + labour),
        "repeat_visits": sum(1 for v in visits if v.repeat),
        "revenue": _money(revenue),
        "revenue_per_customer": _money(revenue / len(customers)) if customers else None,
        "revenue_per_technician": _money(revenue / len(technicians)) if technicians else None,
        "jobs_completed_per_day": completed / days if days else None,
    }


class Roster:
    """Rostered minutes (shift minus break, minus absences) per technician per local day, read in bulk."""

    def __init__(self, session: Session, technicians: list[Technician], start: date, end: date) -> None:
        self.techs = {t.id: t for t in technicians}
        self.zones = {b.id: b.timezone for b in session.scalars(select(Branch))}
        ids = list(self.techs)
        self.exceptions = {
            (e.technician_id, e.day): e
            for e in session.scalars(
                select(ShiftException).where(
                    ShiftException.technician_id.in_(ids), ShiftException.day >= start, ShiftException.day <= end
                )
            )
        }
        lo = datetime.combine(start - timedelta(days=1), datetime.min.time(), ZoneInfo("UTC"))
        hi = datetime.combine(end + timedelta(days=2), datetime.min.time(), ZoneInfo("UTC"))
        self.absences: dict[int, list[Absence]] = defaultdict(list)
        for a in session.scalars(
            select(Absence).where(Absence.technician_id.in_(ids), Absence.starts_at < hi, Absence.ends_at > lo)
        ):
            self.absences[a.technician_id].append(a)

    def minutes(self, technician_id: int, day: date) -> int:
        tech = self.techs[technician_id]
        exception = self.exceptions.get((technician_id, day))
        pattern = next((s for s in tech.shifts if s.weekday == day.weekday()), None)
        shift = resolve_shift(
            day,
            self.zones[tech.branch_id],
            (pattern.start, pattern.end, pattern.break_minutes) if pattern is not None else None,
            (exception.start, exception.end) if exception is not None else None,
        )
        if shift is None:
            return 0
        start, end, break_minutes = shift.start, shift.end, shift.break_minutes
        absent = 0.0
        for a in self.absences.get(technician_id, []):
            overlap = (min(end, a.ends_at) - max(start, a.starts_at)).total_seconds()
            absent += max(0.0, overlap)
        if absent >= (end - start).total_seconds():
            return 0
        return max(0, int(((end - start).total_seconds() - absent) // 60) - break_minutes)


def _dates(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def load_visits(session: Session, start: date, end: date) -> list[VisitFact]:
    zones = {b.id: b.timezone for b in session.scalars(select(Branch))}
    lo = datetime.combine(start - timedelta(days=1), datetime.min.time(), ZoneInfo("UTC"))
    hi = datetime.combine(end + timedelta(days=2), datetime.min.time(), ZoneInfo("UTC"))
    # Plain columns, not ORM objects: a 90-day history is thousands of visits.
    rows = session.execute(
        select(
            Job.id,
            Job.status,
            Job.technician_id,
            Job.branch_id,
            Job.customer_id,
            Job.site_id,
            Job.created_at,
            Job.arrived_at,
            Job.actual_start,
            Job.actual_end,
            Job.sla_due,
            CompletionReport.id.label("report_id"),
            CompletionReport.technician_id.label("report_technician_id"),
            CompletionReport.labour_minutes,
            CompletionReport.travel_minutes,
            CompletionReport.first_time_fix,
            InvoiceDraft.subtotal,
        )
        .outerjoin(CompletionReport, CompletionReport.job_id == Job.id)
        .outerjoin(
            InvoiceDraft,
            (InvoiceDraft.job_id == Job.id) & InvoiceDraft.status.not_in(CANCELLED_INVOICE_STATUSES),
        )
        .where(Job.status.in_(FINISHED), Job.actual_end >= lo, Job.actual_end < hi)
    ).all()
    in_range = []
    for row in rows:
        day = local_date(row.actual_end, zones[row.branch_id])
        if start <= day <= end:
            in_range.append((row, day))
    sites = {row.site_id for row, _ in in_range}
    earlier: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    if sites:
        for job_id, site_id, ended in session.execute(
            select(Job.id, Job.site_id, Job.actual_end).where(
                Job.site_id.in_(sites),
                Job.status.in_(FINISHED),
                Job.actual_end >= lo - REPEAT_WINDOW,
                Job.actual_end < hi,
            )
        ):
            if ended is not None:
                earlier[site_id].append((ended, job_id))
    followed_up = set(session.scalars(select(Job.follow_up_of_id).where(Job.follow_up_of_id.is_not(None)).distinct()))
    facts = []
    for row, day in in_range:
        ended_at: datetime = row.actual_end
        reported = row.report_id is not None
        # Visits recorded without a completion report (imports, history): labour is the on-site span and
        # a completed visit that no follow-up job points back to counts as fixed first time.
        on_site = int((ended_at - row.actual_start).total_seconds() // 60) if row.actual_start is not None else None
        repeat = any(
            other != row.id and ended_at - REPEAT_WINDOW <= ended < ended_at for ended, other in earlier[row.site_id]
        )
        facts.append(
            VisitFact(
                job_id=row.id,
                day=day,
                status=row.status,
                technician_id=row.report_technician_id if reported else row.technician_id,
                branch_id=row.branch_id,
                customer_id=row.customer_id,
                site_id=row.site_id,
                created_at=row.created_at,
                arrived_at=row.arrived_at,
                actual_end=ended_at,
                sla_due=row.sla_due,
                labour_minutes=row.labour_minutes if reported else on_site,
                travel_minutes=row.travel_minutes if reported else None,
                first_time_fix=row.first_time_fix
                if reported
                else row.status is JobStatus.COMPLETED and row.id not in followed_up,
                revenue=row.subtotal,
                repeat=repeat,
            )
        )
    return facts


def compute_kpis_in(session: Session, start: date, end: date, by: str | None = None) -> KpiReport:
    if end < start:
        raise InvalidInput("must not be before --from", record="kpi report", field="to")
    if by is not None and by not in GROUPINGS:
        raise InvalidInput(f"must be one of {', '.join(GROUPINGS)}", record="kpi report", field="by")
    days = _dates(start, end)
    visits = load_visits(session, start, end)
    technicians = list(session.scalars(select(Technician).where(Technician.active.is_(True))))
    roster = Roster(session, technicians, start, end)

    # Group keys are ids; the overall report is one group with key 0.
    key_of: Callable[[VisitFact], int | None]
    techs_of: Callable[[int], list[int]] | None
    labels: dict[int, str]
    keys: set[int]
    if by == "technician":
        key_of = lambda v: v.technician_id  # noqa: E731
        labels = {t.id: t.code for t in session.scalars(select(Technician))}
        keys = {t.id for t in technicians} | {v.technician_id for v in visits if v.technician_id is not None}
        techs_of = lambda k: [k] if k in roster.techs else []  # noqa: E731
    elif by == "branch":
        key_of = lambda v: v.branch_id  # noqa: E731
        labels = {b.id: b.code for b in session.scalars(select(Branch))}
        keys = {t.branch_id for t in technicians} | {v.branch_id for v in visits}
        techs_of = lambda k: [t.id for t in technicians if t.branch_id == k]  # noqa: E731
    elif by == "customer":
        key_of = lambda v: v.customer_id  # noqa: E731
        wanted = {v.customer_id for v in visits}
        labels = {c.id: c.code for c in session.scalars(select(Customer).where(Customer.id.in_(wanted)))}
        keys = wanted
        techs_of = None
    else:
        key_of = lambda v: 0  # noqa: E731
        labels = {0: "all"}
        keys = {0}
        techs_of = lambda k: [t.id for t in technicians]  # noqa: E731

    grouped: dict[int, list[VisitFact]] = defaultdict(list)
    for v in visits:
        key = key_of(v)
        if key is not None:
            grouped[key].append(v)
    groups = []
    for key in sorted(keys, key=lambda k: labels.get(k, str(k))):
        members = grouped.get(key, [])
        tech_ids = techs_of(key) if techs_of else None

        def rostered(ds: Iterable[date], ids: list[int] | None = tech_ids) -> int | None:
            if ids is None:
                return None
            return sum(roster.minutes(t, d) for t in ids for d in ds)

        by_day: dict[date, list[VisitFact]] = defaultdict(list)
        for v in members:
            by_day[v.day].append(v)
        daily = [kpi_values(by_day.get(d, []), rostered([d]), 1) for d in days]
        groups.append(
            KpiGroup(
                key=str(key),
                label=labels.get(key, str(key)),
                values=kpi_values(members, rostered(days), len(days)),
                series={name: [d[name] for d in daily] for name in KPI_NAMES},
            )
        )
    return KpiReport(start, end, by, days, groups)


def compute_kpis(db: Database, start: date, end: date, by: str | None = None) -> KpiReport:
    with db.read() as session:
        return compute_kpis_in(session, start, end, by)
