"""Office paperwork from the command line: quotes proposed on site and accepted into jobs, invoices, stock moves."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from data.db import Database
from data.feed import tail
from data.services.completion import complete_job
from data.services.timesheets import list_timesheets
from dispatch_tui.cli.main import app
from tests.data.test_field_completion import on_site_job, report, tech_actor
from tests.factories import DAY, build_world

runner = CliRunner()


def _run(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db.url, "--as", "dana", *args])
    return result.exit_code, result.stdout, result.stderr


def _ok(db: Database, *args: str) -> str:
    code, stdout, stderr = _run(db, *args)
    assert code == 0, stderr + stdout
    return stdout


def test_a_quote_is_proposed_listed_accepted_into_a_job_and_cannot_be_decided_twice(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    proposed = json.loads(
        _ok(sqlite_db, "quotes", "propose", ref, "--summary", "New fan motor", "--line", "Fan motor;1;189.90;part",
            "--line", "Labour;1.5;78", "--duration", "90", "--skills", "hvac:2", "--json")
    )  # fmt: skip
    assert proposed["total"] == "306.90" and proposed["ref"] == f"Q-{ref}-1"
    [listed] = json.loads(_ok(sqlite_db, "quotes", "list", "--status", "proposed", "--json"))
    assert listed["ref"] == proposed["ref"] and listed["job"] == ref
    assert len(json.loads(_ok(sqlite_db, "quotes", "show", proposed["ref"], "--json"))["lines"]) == 2
    accepted = json.loads(
        _ok(sqlite_db, "quotes", "accept", proposed["ref"], "--date", DAY.isoformat(), "--window-start", "13:00",
            "--window-end", "16:00", "--json")
    )  # fmt: skip
    assert accepted["status"] == "accepted"
    assert json.loads(_ok(sqlite_db, "jobs", "show", accepted["job"], "--json"))["job"]["summary"] == "New fan motor"
    assert tail(sqlite_db)[-1].type == "quote.accepted"
    code, _, stderr = _run(sqlite_db, "quotes", "decline", proposed["ref"])
    assert code == 2 and "already accepted" in stderr
    code, _, stderr = _run(sqlite_db, "quotes", "propose", ref, "--summary", "x", "--line", "Labour;one;78")
    assert code == 2 and "--line 1" in stderr


def test_invoices_are_listed_and_shown_with_their_lines(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    complete_job(sqlite_db, tech_actor(sqlite_db, "T1"), ref, report())
    [invoice] = json.loads(_ok(sqlite_db, "invoices", "list", "--customer", "C1", "--json"))
    assert invoice["job"] == ref and invoice["status"] == "draft"
    shown = json.loads(_ok(sqlite_db, "invoices", "show", ref, "--json"))
    assert shown["ref"] == invoice["ref"] and shown["lines"] and shown["total"] == invoice["total"]
    assert json.loads(_ok(sqlite_db, "invoices", "list", "--from", "2030-01-01", "--json")) == []
    code, _, stderr = _run(sqlite_db, "invoices", "show", "NOPE")
    assert code == 2 and "no invoice NOPE" in stderr


def test_stock_moves_restock_a_van_and_refuse_what_the_warehouse_does_not_hold(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _ok(sqlite_db, "stock", "move", "FLT-01", "4", "--from", "WH-HEL", "--to", "VAN-T1")
    assert json.loads(_ok(sqlite_db, "stock", "show", "VAN-T1", "--json"))["levels"] == {"FLT-01": 4}
    assert json.loads(_ok(sqlite_db, "stock", "show", "WH-HEL", "--json"))["levels"] == {"FLT-01": 6}
    code, _, stderr = _run(sqlite_db, "stock", "move", "FLT-01", "40", "--from", "WH-HEL", "--to", "VAN-T2")
    assert code != 0 and "WH-HEL holds 6 x FLT-01" in stderr
    assert tail(sqlite_db)[-1].type == "stock.moved"


def test_status_completed_is_refused_and_points_at_the_office_completion(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = on_site_job(sqlite_db)
    code, _, stderr = _run(sqlite_db, "jobs", "status", ref, "completed")
    assert code == 2 and f"dispatch jobs complete {ref}" in stderr
    assert json.loads(_ok(sqlite_db, "jobs", "show", ref, "--json"))["job"]["status"] == "on_site"


def test_an_office_completion_is_a_real_completion_with_report_invoice_timesheet_and_event(
    sqlite_db: Database,
) -> None:
    from data.models.jobs import JobType
    from data.services.jobs import JobDraft, assign_job, create_job
    from tests.factories import DISPATCHER, local

    build_world(sqlite_db)
    _ok(sqlite_db, "stock", "move", "FLT-01", "2", "--from", "WH-HEL", "--to", "VAN-T1")
    job = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Filter", 60, created_at=local(7)))
    assign_job(sqlite_db, DISPATCHER, job.ref, "T1", local(9))  # scheduled: the technician never used the phone
    done = json.loads(
        _ok(sqlite_db, "jobs", "complete", job.ref, "--date", DAY.isoformat(), "--start", "09:00", "--end", "10:10",
            "--labour", "70", "--travel", "20", "--part", "FLT-01:1", "--expense", "parking;Kamppi garage;6.50",
            "--notes", "Filter replaced", "--json")
    )  # fmt: skip
    assert done["status"] == "completed" and done["invoice"]
    types = [e.type for e in tail(sqlite_db)]
    assert {"job.completed", "invoice.drafted"} <= set(types)
    invoice = json.loads(_ok(sqlite_db, "invoices", "show", job.ref, "--json"))
    assert {line["kind"] for line in invoice["lines"]} >= {"labour", "part", "expense"}
    assert json.loads(_ok(sqlite_db, "stock", "show", "VAN-T1", "--json"))["levels"] == {"FLT-01": 1}
    [sheet] = list_timesheets(sqlite_db, DAY, DAY, "T1")
    assert sheet.worked_minutes > 0
    code, _, stderr = _run(
        sqlite_db, "jobs", "complete", job.ref, "--start", "09:00", "--end", "10:00", "--labour", "5"
    )
    assert code == 2 and "completed" in stderr


def test_a_mistaken_office_completion_is_reopened_and_an_issued_invoice_is_credited(sqlite_db: Database) -> None:
    from data.models.jobs import JobType
    from data.services.jobs import JobDraft, assign_job, create_job
    from tests.factories import DISPATCHER, local

    build_world(sqlite_db)
    job = create_job(sqlite_db, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Filter", 60, created_at=local(7)))
    assign_job(sqlite_db, DISPATCHER, job.ref, "T1", local(9))
    complete = ["jobs", "complete", job.ref, "--date", DAY.isoformat(), "--start", "09:00", "--end", "10:00"]
    first = json.loads(_ok(sqlite_db, *complete, "--labour", "60", "--json"))["invoice"]
    assert first == "HEL-2026-000001"
    reopened = json.loads(_ok(sqlite_db, "jobs", "reopen", job.ref, "--reason", "wrong job", "--json"))
    assert reopened["status"] == "scheduled" and reopened["invoice"]["action"] == "voided"
    assert json.loads(_ok(sqlite_db, "invoices", "show", first, "--json"))["status"] == "void"
    second = json.loads(_ok(sqlite_db, *complete, "--labour", "45", "--json"))["invoice"]
    assert second == "HEL-2026-000002"
    credited = json.loads(_ok(sqlite_db, "invoices", "credit", second, "--reason", "price agreed lower", "--json"))
    assert credited["ref"] == "HEL-CN-2026-000001"
    shown = json.loads(_ok(sqlite_db, "invoices", "show", second, "--json"))
    assert shown["status"] == "credited" and shown["credit_note"]["ref"] == credited["ref"]
    [note] = json.loads(_ok(sqlite_db, "invoices", "credit-notes", "--json"))
    assert note["invoice"] == second and note["total"] == shown["total"]
    code, _, stderr = _run(sqlite_db, "invoices", "credit", second, "--reason", "again")
    assert code == 2 and "already credited" in stderr
    code, _, stderr = _run(sqlite_db, "jobs", "reopen", "J999", "--reason", "x")
    assert code == 2 and "J999" in stderr
