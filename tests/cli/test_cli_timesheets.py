"""`dispatch techs clock`, `dispatch timesheets approve` and `dispatch timesheets export`: a clocked week to payroll."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from data.db import Database
from data.feed import tail
from data.transfer.payroll_csv import COLUMNS
from dispatch_tui.cli import dates
from tests.cli.test_cli_office import _ok, _run
from tests.factories import DAY, build_world, local

MONDAY = DAY - timedelta(days=DAY.weekday())


@pytest.fixture
def clocked(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    build_world(sqlite_db)
    monkeypatch.setattr(dates, "now", lambda tz: local(1, 0, MONDAY + timedelta(days=7)).astimezone(ZoneInfo(tz)))
    day = DAY.isoformat()
    for act, at in (("clock_in", "07:45"), ("break_start", "12:00"), ("break_end", "12:30"), ("clock_out", "17:15")):
        shown = json.loads(_ok(sqlite_db, "techs", "clock", "T2", act, "--at", at, "--date", day, "--json"))
        assert shown["act"] == act and shown["local_day"] == day
    return sqlite_db


def test_a_clocked_day_is_shown_approved_and_exported_for_payroll(clocked: Database, tmp_path: Path) -> None:
    shown = json.loads(_ok(clocked, "timesheets", "show", "T2", "--date", DAY.isoformat(), "--json"))
    assert shown["source"] == "attendance" and shown["paid_minutes"] == 540 and shown["break_minutes"] == 30
    assert shown["overtime"]["daily"]["minutes"] == 60
    [approval] = json.loads(_ok(clocked, "timesheets", "approve", "--week", "2026-W48", "--technician", "T2", "--json"))
    assert approval == {
        "technician": "T2",
        "week": "2026-W48",
        "days": [DAY.isoformat()],
        "paid_minutes": 540,
        "overtime_minutes": 60,
    }
    assert [e.type for e in tail(clocked)][-3:] == ["timesheet.closed", "timesheet.approved", "timesheet.week_approved"]
    out = tmp_path / "payroll.csv"
    written = json.loads(
        _ok(clocked, "timesheets", "export", "--week", "2026-W48", "--format", "csv", "--out", str(out), "--json")
    )
    assert written == {"week": "2026-W48", "rows": 1, "out": str(out)}
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["date"] == "2026-11-25" and row["technician"] == "T2" and row["timezone"] == "Europe/Helsinki"
    assert row["clock_in_utc"] == "2026-11-25T05:45:00+00:00" and row["clock_out_utc"] == "2026-11-25T15:15:00+00:00"
    assert (row["paid_hours"], row["regular_hours"], row["break_hours"]) == ("9.00", "8.00", "0.50")
    assert (row["daily_overtime_hours"], row["daily_overtime_rate"]) == ("1.00", "1.5")
    assert row["status"] == "approved" and row["approved_by"] == "dana"
    assert row["approved_at_utc"] == "2026-11-29T23:00:00+00:00"
    # Locked: the office cannot clock into an approved day.
    code, _, stderr = _run(clocked, "techs", "clock", "T2", "clock_in", "--at", "18:00", "--date", DAY.isoformat())
    assert code == 2 and "locked" in stderr


def test_export_without_approval_is_empty_unless_asked_for_every_day(clocked: Database) -> None:
    body = _ok(clocked, "timesheets", "export", "--week", "2026-W48", "--branch", "HEL")
    assert body.strip() == ",".join(COLUMNS)
    rows = list(csv.DictReader(io.StringIO(_ok(clocked, "timesheets", "export", "--week", "2026-W48", "--all",
                                                "--branch", "HEL"))))  # fmt: skip
    assert [(r["technician"], r["date"], r["status"]) for r in rows] == [("T2", "2026-11-25", "open")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("approve", "--week", "2026-48", "--tech", "T2"), "timesheet week: week: '2026-48' is not an ISO week"),
        (("approve", "--week", "2026-W48"), "timesheet week: scope: give --technician or --branch"),
        (("approve", "--week", "2026-W48", "--branch", "XXX"), "timesheet week: branch: no branch XXX"),
        (("export", "--week", "2026-W48", "--tech", "T2", "--format", "json"), "--format: 'json' is not a payroll"),
        (("export", "--week", "2026-W48", "--tech", "T2", "--json"), "--json: the CSV takes standard output"),
    ],
)
def test_bad_options_name_the_field_and_write_nothing(clocked: Database, args: tuple[str, ...], message: str) -> None:
    before = len(tail(clocked))
    code, _, stderr = _run(clocked, "timesheets", *args)
    assert code == 2 and message in stderr, stderr
    assert len(tail(clocked)) == before
