"""`dispatch maintenance ...` and `dispatch timesheets ...` over the field services."""

from __future__ import annotations

import json
from datetime import date

from typer.testing import CliRunner

from data.db import Database
from data.services.maintenance import PlanInput, create_plan
from dispatch_tui.cli.main import app
from tests.data.test_field_timesheets import _visit
from tests.factories import DAY, DISPATCHER, build_world, local


def _cli(db: Database, user: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", db.url, "--as", user, *args])
    return result.exit_code, result.stdout + (result.stderr or "")


def test_maintenance_generate_and_plans(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    create_plan(
        sqlite_db,
        DISPATCHER,
        PlanInput("PM-HP", "S1", "Heat pump service", 6, date(2026, 12, 1), 60, asset_serial="HP-001"),
    )
    code, text = _cli(
        sqlite_db, "dana", "maintenance", "generate", "--horizon-days", "30", "--today", "2026-11-25", "--json"
    )
    assert code == 0, text
    (made,) = json.loads(text)
    assert made["plan"] == "PM-HP" and made["due"] == "2026-12-01" and made["job"].startswith("J")
    code, text = _cli(sqlite_db, "dana", "maintenance", "generate", "--today", "2026-11-25")
    assert code == 0 and "No maintenance due" in text
    code, text = _cli(sqlite_db, "sam", "maintenance", "generate", "--today", "2026-11-25")
    assert code == 2 and "read-only" in text
    code, text = _cli(sqlite_db, "sam", "maintenance", "plans", "--json")
    assert code == 0 and json.loads(text)[0]["next_due"] == "2027-06-01"


def test_timesheets_show_close_list(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _visit(sqlite_db, DAY, local(9), 120, 15)
    code, text = _cli(sqlite_db, "sam", "timesheets", "show", "T2", "--date", DAY.isoformat(), "--json")
    assert code == 0 and json.loads(text)["worked_minutes"] == 120
    assert _cli(sqlite_db, "sam", "timesheets", "close", "T2", "--date", DAY.isoformat())[0] == 2
    code, text = _cli(sqlite_db, "dana", "timesheets", "close", "T2", "--date", DAY.isoformat())
    assert code == 0, text
    code, text = _cli(sqlite_db, "sam", "timesheets", "list", "--date", DAY.isoformat(), "--json")
    (sheet,) = json.loads(text)
    assert sheet["technician"] == "T2" and sheet["status"] == "closed" and sheet["travel_minutes"] == 15
    code, text = _cli(sqlite_db, "sam", "timesheets", "list", "--date", DAY.isoformat())
    assert code == 0 and "2:00" in text and "closed" in text


def test_report_visit_shows_report_invoice_and_timesheet(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _visit(sqlite_db, DAY, local(9), 70, 15)
    with sqlite_db.read() as s:
        from sqlalchemy import select

        from data.models import Job

        ref = s.scalars(select(Job.ref)).one()
    code, text = _cli(sqlite_db, "sam", "report", "visit", ref, "--json")
    assert code == 0, text
    data = json.loads(text)
    assert data["report"]["labour_minutes"] == 70 and data["timesheet"]["worked_minutes"] == 70
    # S2 repair at 09:00 is covered by contract K1: labour and call-out at zero.
    assert data["invoice"]["total"] == "0.00" and all(ln["covered"] for ln in data["invoice"]["lines"])
    code, text = _cli(sqlite_db, "sam", "report", "visit", ref)
    assert code == 0 and "HEL-2026-000001" in text and "contract K1" in text
    assert _cli(sqlite_db, "sam", "report", "visit", "J999999")[0] == 2
