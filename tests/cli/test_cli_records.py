"""A company set up from nothing with `dispatch branches|skills|...|plans add|edit|list|show|archive`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from data.db import Database, create_database_engine
from data.feed import tail
from data.models import StockLevel, Technician
from data.services.record_kinds import KINDS
from dispatch_tui.cli.main import app
from tests.factories import build_world

runner = CliRunner()


def _run(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db.url, *args])
    return result.exit_code, result.stdout, result.stderr


def _ok(db: Database, *args: str) -> str:
    code, stdout, stderr = _run(db, *args)
    assert code == 0, stderr + stdout
    return stdout


COMPANY = [
    ["branches", "add", "HEL", "--name", "Helsinki", "--timezone", "Europe/Helsinki", "--depot-lat", "60.17",
     "--depot-lon", "24.94", "--tax-rate", "0.255"],
    ["skills", "add", "hvac", "--name", "HVAC"],
    ["skills", "add", "plumbing", "--name", "Plumbing"],
    ["skills", "add", "electrical", "--name", "Electrical"],
    ["technicians", "add", "T9", "--name", "Tiina", "--branch", "HEL", "--home-lat", "60.2", "--home-lon", "24.9",
     "--skills", "hvac:3;electrical:1", "--shifts", "mon-fri 08:00-16:00", "--hourly-cost", "38.50"],
    ["customers", "add", "C1", "--name", "Kallio Bakery Oy", "--phone", "+358 40 111", "--contact-name", "Kaisa",
     "--contact-phone", "+358 40 222"],
    ["sites", "add", "S1", "--customer", "C1", "--branch", "HEL", "--name", "Bakery", "--address", "Fleminginkatu 1",
     "--lat", "60.18", "--lon", "24.95"],
    ["assets", "add", "HP-001", "--site", "S1", "--kind", "heat pump", "--model", "NIBE F2120",
     "--install-date", "2025-05-01", "--warranty-end", "2027-05-01"],
    ["parts", "add", "FLT-01", "--name", "Air filter", "--unit-cost", "4.10", "--list-price", "12.90"],
    ["price-lists", "add", "STD", "--name", "Standard", "--labour-rate", "78.00", "--callout-fee", "45",
     "--part-prices", "FLT-01=11.50"],
    ["contracts", "add", "K1", "--customer", "C1", "--name", "Gold", "--sla-response-hours", "8",
     "--valid-from", "2026-01-01", "--valid-to", "2026-12-31", "--covered-job-types", "repair,maintenance",
     "--covered-parts", "FLT-01", "--coverage-weekdays", "mon-fri", "--price-list", "STD"],
    ["stock", "add", "WH-HEL", "--kind", "warehouse", "--branch", "HEL", "--levels", "FLT-01=10"],
    ["plans", "add", "MP-1", "--site", "S1", "--asset", "HP-001", "--summary", "Yearly service",
     "--interval-months", "12", "--duration-minutes", "90", "--next-due", "2027-04-01", "--skills", "hvac:2"],
]  # fmt: skip


def test_every_kind_of_record_is_added_listed_shown_and_archived_from_the_cli(sqlite_db: Database) -> None:
    for args in COMPANY:
        _ok(sqlite_db, *args)
    assert set(KINDS) == {args[0] for args in COMPANY}
    tech = json.loads(_ok(sqlite_db, "technicians", "show", "T9", "--json"))
    assert tech["branch"] == "HEL" and tech["skills"] == "electrical:1;hvac:3" and tech["van"] == "VAN-T9"
    assert tech["shifts"] == "mon-fri 08:00-16:00" and tech["hourly_cost"] == "38.50"
    customer = json.loads(_ok(sqlite_db, "customers", "show", "C1", "--json"))
    assert customer["contact_name"] == "Kaisa" and customer["contact_phone"] == "+358 40 222"
    contract = json.loads(_ok(sqlite_db, "contracts", "show", "K1", "--json"))
    assert contract["coverage_weekdays"] == "mon,tue,wed,thu,fri" and contract["price_list"] == "STD"
    assert json.loads(_ok(sqlite_db, "stock", "show", "WH-HEL", "--json"))["levels"] == {"FLT-01": 10}
    assert [p["code"] for p in json.loads(_ok(sqlite_db, "plans", "list", "--json"))] == ["MP-1"]
    types = [e.type for e in tail(sqlite_db)]
    assert types.count("skill.created") == 3 and "maintenance_plan.created" in types and "branch.created" in types

    _ok(sqlite_db, "plans", "edit", "MP-1", "--active", "no")
    assert json.loads(_ok(sqlite_db, "plans", "show", "MP-1", "--json"))["active"] is False
    assert "archived" in _ok(sqlite_db, "technicians", "archive", "T9")
    assert json.loads(_ok(sqlite_db, "technicians", "list", "--json")) == []
    [archived] = json.loads(_ok(sqlite_db, "technicians", "list", "--archived", "--json"))
    assert archived["archived_at"] and archived["active"] is False
    assert tail(sqlite_db)[-1].type == "technician.archived"


def test_bad_input_names_record_and_field_exits_2_and_writes_nothing(sqlite_db: Database) -> None:
    for args in COMPANY[:4]:
        _ok(sqlite_db, *args)
    before = len(tail(sqlite_db))
    cases = [
        (["technicians", "add", "T8", "--name", "X", "--branch", "HEL", "--home-lat", "91", "--home-lon", "24"],
         "technician T8: home_lat: 91 is outside -90..90"),
        (["technicians", "add", "T8", "--name", "X", "--branch", "ESP", "--home-lat", "60", "--home-lon", "24"],
         "technician T8: branch: unknown branch 'ESP' (known: HEL)"),
        (["technicians", "add", "T8", "--name", "X", "--branch", "HEL", "--home-lat", "60", "--home-lon", "24",
          "--skills", "welding:2"], "technician T8: skills: unknown skill 'welding'"),
        (["technicians", "add", "T8", "--name", "X", "--branch", "HEL", "--home-lon", "24"],
         "technician T8: home_lat: is required"),
        (["branches", "add", "ESP", "--name", "Espoo", "--timezone", "Mars/Olympus", "--depot-lat", "60",
          "--depot-lon", "24"], "branch ESP: timezone: 'Mars/Olympus' is not an IANA time zone"),
        (["branches", "add", "HEL", "--name", "Again", "--timezone", "UTC", "--depot-lat", "60", "--depot-lon", "24"],
         "branch HEL: code: is already taken"),
        (["branches", "edit", "HEL", "--tax-rate", "lots"], "branch HEL: tax_rate: 'lots' is not a number"),
        (["skills", "show", "welding"], "skill welding does not exist"),
    ]  # fmt: skip
    for args, message in cases:
        code, _, stderr = _run(sqlite_db, *args)
        assert code == 2, args
        assert message in stderr, stderr
    assert len(tail(sqlite_db)) == before
    with sqlite_db.read() as s:
        assert s.scalar(select(Technician).where(Technician.code == "T8")) is None


def test_an_archived_record_takes_no_new_references(sqlite_db: Database) -> None:
    for args in COMPANY[:7]:
        _ok(sqlite_db, *args)
    _ok(sqlite_db, "customers", "archive", "C1")
    code, _, stderr = _run(
        sqlite_db, "sites", "add", "S2", "--customer", "C1", "--branch", "HEL", "--name", "x", "--address", "y",
        "--lat", "60.1", "--lon", "24.9",
    )  # fmt: skip
    assert code == 2 and "site S2: customer: customer C1 is archived" in stderr
    assert json.loads(_ok(sqlite_db, "sites", "show", "S1", "--json"))["customer"] == "C1"  # history keeps it


def test_stock_counts_set_levels_and_a_van_needs_its_technician(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _ok(sqlite_db, "--as", "dana", "stock", "edit", "VAN-T1", "--levels", "FLT-01=3")
    with sqlite_db.read() as s:
        assert [lvl.quantity for lvl in s.scalars(select(StockLevel).where(StockLevel.quantity == 3))] == [3]
    code, _, stderr = _run(sqlite_db, "--as", "dana", "stock", "add", "VAN-X", "--kind", "van", "--branch", "HEL")
    assert code == 2 and "stock_location VAN-X: technician: a van belongs to a technician" in stderr
    code, _, stderr = _run(sqlite_db, "--as", "sam", "skills", "add", "gas", "--name", "Gas")
    assert code == 2 and "supervisor" in stderr.lower()


def test_init_then_branches_and_skills_by_command_then_the_exported_technicians_import(
    sqlite_db: Database, sqlite_template: Path, tmp_path: Path
) -> None:
    """The office manager's first hour: an exported technicians file lands in a company made with the commands."""
    source_path = tmp_path / "source.sqlite"
    shutil.copy(sqlite_template, source_path)
    source = Database(f"sqlite:///{source_path}", create_database_engine(f"sqlite:///{source_path}"))
    build_world(source)
    exported = tmp_path / "technicians.csv"
    _ok(source, "--as", "ada", "export", "technicians", "--out", str(exported))
    source.dispose()

    _ok(sqlite_db, "init")
    for args in COMPANY[:4]:
        _ok(sqlite_db, *args)
    out = _ok(sqlite_db, "import", "technicians", str(exported), "--json")
    assert json.loads(out)["created"] == 3
    techs = json.loads(_ok(sqlite_db, "technicians", "list", "--json"))
    assert [t["code"] for t in techs] == ["T1", "T2", "T3"] and techs[0]["van"] == "VAN-T1"


def test_overtime_rules_are_set_per_branch_and_the_timesheet_rules_read_them(sqlite_db: Database) -> None:
    from data.services.timesheets import rules_for

    _ok(sqlite_db, *COMPANY[0])
    _ok(sqlite_db, "branches", "edit", "HEL", "--overtime-daily-after", "450", "--rest-day-rate", "2.5")
    shown = json.loads(_ok(sqlite_db, "branches", "show", "HEL", "--json"))
    assert (shown["overtime_daily_after"], shown["rest_day_rate"], shown["overtime_weekly_after"]) == (450, "2.5", 2400)
    with sqlite_db.read() as s:
        rules = rules_for(s, 1)
        assert rules.daily_threshold_minutes == 450
    code, _, stderr = _run(sqlite_db, "branches", "edit", "HEL", "--overtime-daily-rate", "9")
    assert code == 2 and "branch HEL: overtime_daily_rate: 9 is not 1-5" in stderr


def test_users_are_edited_shown_and_archived_but_the_last_admin_stays(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _ok(sqlite_db, "users", "edit", "dana", "--name", "Dana D.", "--email", "dana@example.com")
    assert json.loads(_ok(sqlite_db, "users", "show", "dana", "--json"))["email"] == "dana@example.com"
    assert "archived" in _ok(sqlite_db, "users", "archive", "sam")
    assert json.loads(_ok(sqlite_db, "users", "show", "sam", "--json"))["active"] is False
    code, _, stderr = _run(sqlite_db, "users", "edit", "ada", "--role", "dispatcher")
    assert code == 2 and "user ada: role: is the last active admin" in stderr
    code, _, stderr = _run(sqlite_db, "--as", "dana", "users", "edit", "sam", "--active")
    assert code == 2 and "admin" in stderr
    assert tail(sqlite_db)[-1].type == "user.updated"


def test_a_company_from_nothing_imports_schedules_and_completes_a_day_through_the_cli(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """No demo and no factory: init, master data by command, jobs by file, a plan, an office completion."""
    _ok(sqlite_db, "init")
    for args in COMPANY:
        _ok(sqlite_db, *args)
    _ok(sqlite_db, "stock", "move", "FLT-01", "3", "--from", "WH-HEL", "--to", "VAN-T9")
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "ref,type,priority,summary,site,skills,duration_minutes\n"
        "A1,repair,2,Heat pump noisy,S1,hvac:2,60\n"
        "A2,maintenance,3,Yearly service,S1,hvac:1,45\n",
        encoding="utf-8",
    )
    assert json.loads(_ok(sqlite_db, "import", "jobs", str(jobs), "--json"))["created"] == 2
    day = "2026-11-25"
    _ok(sqlite_db, "schedule", "--date", day, "--apply", "--time-limit", "1")
    planned = {j["ref"]: j for j in json.loads(_ok(sqlite_db, "jobs", "list", "--date", day, "--json"))}
    assert {planned["A1"]["technician"], planned["A2"]["technician"]} == {"T9"}
    done = json.loads(
        _ok(sqlite_db, "jobs", "complete", "A1", "--date", day, "--start", "09:00", "--end", "10:00", "--labour",
            "55", "--part", "FLT-01:1", "--json")
    )  # fmt: skip
    invoice = json.loads(_ok(sqlite_db, "invoices", "show", "A1", "--json"))
    assert invoice["ref"] == done["invoice"] and invoice["customer"] == "C1"
