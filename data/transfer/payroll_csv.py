"""The payroll CSV: one row per technician per local day of an ISO week, in the layout `docs/payroll-csv.md` fixes.

Any payroll system takes it (a Finnish one included): UTF-8, comma, header row, hours as Decimal text with two
decimals and a point, local dates as YYYY-MM-DD, instants as UTC ISO 8601 with the offset written. An approved day
carries the figures it was approved with; with `approved_only=False` the other days are computed as they stand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.db import Database
from data.models.field import Timesheet, TimesheetStatus
from data.models.org import Branch
from data.models.workforce import AbsenceKind, Technician
from data.services.timesheets import (
    TimesheetFigures,
    decimal_hours,
    from_sheet,
    parse_week,
    technicians_in_scope,
    week_in,
    week_label,
)
from data.transfer.csv_formats import iso, write_rows

OVERTIME_KINDS = ("daily", "weekly", "rest_day", "holiday")
COLUMNS: tuple[str, ...] = (
    "week",
    "date",
    "technician",
    "technician_name",
    "branch",
    "timezone",
    "status",
    "rostered",
    "holiday",
    "clock_in_utc",
    "clock_out_utc",
    "paid_hours",
    "regular_hours",
    "travel_hours",
    "on_site_hours",
    "waiting_hours",
    "break_hours",
    *(f"{kind}_overtime_{what}" for kind in OVERTIME_KINDS for what in ("hours", "rate")),
    *(f"absence_{kind.value}_hours" for kind in AbsenceKind),
    "approved_by",
    "approved_at_utc",
)


def _row(
    label: str, tech: Technician, branch: Branch, figures: TimesheetFigures, sheet: Timesheet | None
) -> dict[str, Any]:
    breakdown = figures.split.breakdown(figures.rules)
    status = "open" if sheet is None else sheet.status.value
    if sheet is not None and sheet.approved_at is not None:
        status = "approved"
    absences = figures.absences or {}
    row: dict[str, Any] = {
        "week": label,
        "date": figures.day.isoformat(),
        "technician": tech.code,
        "technician_name": tech.name,
        "branch": branch.code,
        "timezone": branch.timezone,
        "status": status,
        "rostered": figures.rostered,
        "holiday": figures.holiday,
        "clock_in_utc": iso(figures.clock_in),
        "clock_out_utc": iso(figures.clock_out),
        "paid_hours": decimal_hours(figures.paid_minutes),
        "regular_hours": decimal_hours(figures.split.regular),
        "travel_hours": decimal_hours(figures.travel_minutes),
        "on_site_hours": decimal_hours(figures.on_site_minutes),
        "waiting_hours": decimal_hours(figures.waiting_minutes),
        "break_hours": decimal_hours(figures.break_minutes),
        "approved_by": sheet.approved_by if sheet is not None else None,
        "approved_at_utc": iso(sheet.approved_at) if sheet is not None else None,
    }
    for kind in OVERTIME_KINDS:
        row[f"{kind}_overtime_hours"] = decimal_hours(int(breakdown[kind]["minutes"]))
        row[f"{kind}_overtime_rate"] = breakdown[kind]["multiplier"]
    for absence in AbsenceKind:
        row[f"absence_{absence.value}_hours"] = decimal_hours(int(absences.get(absence.value, 0)))
    return row


def _technician_rows(
    session: Session, label: str, monday: date, tech: Technician, approved_only: bool, now: datetime
) -> list[dict[str, Any]]:
    branch = session.get(Branch, tech.branch_id)
    assert branch is not None
    week_days = Timesheet.day.between(monday, monday + timedelta(days=6))
    sheets = {s.day: s for s in session.scalars(select(Timesheet).where(Timesheet.technician_id == tech.id, week_days))}
    rows = []
    for figures in week_in(session, tech, monday, now=now):
        sheet = sheets.get(figures.day)
        if approved_only and (sheet is None or sheet.approved_at is None):
            continue
        if sheet is None and figures.is_empty:
            continue
        closed = sheet is not None and sheet.status is TimesheetStatus.CLOSED
        rows.append(_row(label, tech, branch, from_sheet(sheet, figures) if closed and sheet else figures, sheet))
    return rows


def payroll_csv(
    db: Database,
    week: str,
    *,
    technician: str | None = None,
    branch: str | None = None,
    approved_only: bool = True,
    now: datetime,
) -> tuple[str, int]:
    """The CSV text of a week (one technician, a branch, or everyone) and its number of data rows."""
    monday = parse_week(week)
    label = week_label(monday)
    rows: list[dict[str, Any]] = []
    with db.read() as session:
        for tech in technicians_in_scope(session, technician, branch, everyone=True):
            rows += _technician_rows(session, label, monday, tech, approved_only, now)
    return write_rows("csv", COLUMNS, rows), len(rows)
