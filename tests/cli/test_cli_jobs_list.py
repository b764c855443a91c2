"""`dispatch jobs list` narrowed the way the office asks, `jobs show` with who to call and what happened there before,
`jobs create` warning about times that cannot be kept, and `dispatch customers show` with what is still owed."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from data.db import Database
from data.models import Customer
from data.models.customers import Contact
from data.models.field import InvoiceDraft
from data.models.jobs import JobType
from data.models.payments import AccountingInvoice, AccountingInvoiceStatus, Payment
from data.services.jobs import JobDraft, add_note, assign_job, create_job
from dispatch_tui.cli import dates
from dispatch_tui.cli.commands import jobs as jobs_command
from dispatch_tui.cli.main import app
from tests.data.test_field_completion import report
from tests.factories import DAY, DISPATCHER, build_world, local

runner = CliRunner()
LATER = DAY + timedelta(days=2)


@pytest.fixture
def world(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    build_world(sqlite_db)
    monkeypatch.setattr(jobs_command, "now", lambda tz: local(8, 0))
    monkeypatch.setattr(dates, "now", lambda tz: local(8, 0))
    jobs = [
        JobDraft(JobType.REPAIR, "S1", "Leaking valve", 60, priority=1, ref="A1", sla_due=local(9, 30)),
        JobDraft(JobType.MAINTENANCE, "S2", "Yearly service", 90, priority=3, ref="A2", description="Boiler room"),
        JobDraft(JobType.INSPECTION, "S3", "Check the pump", 30, priority=4, ref="A3", window_start=local(10),
                 window_end=local(12), sla_due=local(16, day=DAY + timedelta(days=1))),
        JobDraft(JobType.REPAIR, "S1", "Noisy fan", 45, priority=2, ref="A4", window_start=local(9, day=LATER),
                 window_end=local(11, day=LATER)),
    ]  # fmt: skip
    for draft in jobs:
        create_job(sqlite_db, DISPATCHER, draft)
    return sqlite_db


def _run(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db.url, "--as", "dana", *args])
    return result.exit_code, result.stdout, result.stderr


def _refs(db: Database, *args: str) -> list[str]:
    code, stdout, stderr = _run(db, "jobs", "list", "--date", DAY.isoformat(), *args, "--json")
    assert code == 0, stderr
    return sorted(r["ref"] for r in json.loads(stdout))


def test_jobs_list_narrows_by_customer_site_priority_type_risk_and_text(world: Database) -> None:
    assert _refs(world) == ["A1", "A2", "A3"]
    assert _refs(world, "--site", "S1") == ["A1"]
    assert _refs(world, "--priority", "3") == ["A2"]
    assert _refs(world, "--type", "inspection") == ["A3"]
    assert _refs(world, "--at-risk") == ["A1"]  # due 09:30, it is 08:00: within the at-risk lead
    assert _refs(world, "--search", "boiler") == ["A2"]  # the description
    assert _refs(world, "--search", "KALLIO") == ["A1", "A2", "A3"]  # the customer's name, any case
    assert _refs(world, "--customer", "C1", "--search", "pump") == ["A3"]


def test_jobs_list_over_a_range_of_days(world: Database) -> None:
    code, stdout, stderr = _run(
        world, "jobs", "list", "--from", DAY.isoformat(), "--to", (DAY + timedelta(days=2)).isoformat(), "--json"
    )
    assert code == 0, stderr
    assert sorted(r["ref"] for r in json.loads(stdout)) == ["A1", "A2", "A3", "A4"]
    assert _refs(world, "--date", (DAY + timedelta(days=1)).isoformat()) == ["A1", "A2"]  # unplanned, no window


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--customer", "C9"], "--customer"),
        (["--site", "S9"], "--site"),
        (["--priority", "7"], "--priority"),
        (["--type", "fix"], "--type"),
        (["--search", "  "], "--search"),
        (["--from", "2026-11-26", "--to", "2026-11-20"], "--to"),
        (["--from", "someday soonish"], "--from"),
    ],
)
def test_a_bad_filter_names_its_option(world: Database, args: list[str], field: str) -> None:
    code, _, stderr = _run(world, "jobs", "list", *args)
    assert code == 2 and field in stderr, stderr


def test_creating_a_job_with_a_past_window_or_an_sla_outside_it_warns(world: Database) -> None:
    code, stdout, stderr = _run(
        world, "jobs", "create", "--site", "S2", "--summary", "Late", "--date", DAY.isoformat(),
        "--window-start", "06:00", "--window-end", "07:30", "--json",
    )  # fmt: skip
    assert code == 0 and "window is already over" in stderr and json.loads(stdout)["warnings"]
    code, _, stderr = _run(
        world, "jobs", "create", "--site", "S2", "--summary", "Tight", "--date", DAY.isoformat(),
        "--window-start", "13:00", "--window-end", "15:00", "--sla-due", "12:00",
    )  # fmt: skip
    assert code == 0 and "SLA falls due before its time window opens" in stderr


def test_jobs_show_gives_who_to_call_their_preferences_and_the_last_visits_there(world: Database) -> None:
    from data.services.completion import complete_from_office

    with world.write_session() as s:
        customer = s.scalar(select(Customer).where(Customer.code == "C1"))
        assert customer is not None
        customer.phone = "+358 9 123 4567"
        customer.preferences = {"call_ahead": "30 min"}
        s.add(Contact(customer_id=customer.id, name="Anna Asiakas", phone="+358 40 111", primary=True))
        s.commit()
    earlier = create_job(world, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Old leak", 60, ref="OLD"))
    assign_job(world, DISPATCHER, earlier.ref, "T1", local(9))
    add_note(world, DISPATCHER, earlier.ref, "Valve key is in the boiler room")
    complete_from_office(world, DISPATCHER, earlier.ref, report(signature=None))
    code, stdout, stderr = _run(world, "jobs", "show", "A1", "--json")
    assert code == 0, stderr
    shown = json.loads(stdout)
    assert shown["customer_phone"] == "+358 9 123 4567" and shown["customer_preferences"] == {"call_ahead": "30 min"}
    assert shown["contact"].startswith("Anna Asiakas") and "+358 40 111" in shown["contact"]
    [visit] = shown["last_visits"]
    assert visit["ref"] == "OLD" and visit["technician"] == "T1" and visit["notes"][0]["body"].startswith("Valve key")
    code, text, _ = _run(world, "jobs", "show", "A1")
    assert "+358 9 123 4567" in text and "call_ahead: 30 min" in text and "OLD completed T1" in text


def test_customers_show_gives_sites_assets_contracts_open_invoices_and_payments_as_pulled(world: Database) -> None:
    from data.services.completion import complete_from_office

    assign_job(world, DISPATCHER, "A2", "T1", local(9))
    invoice = complete_from_office(world, DISPATCHER, "A2", report(signature=None)).invoice_ref
    with world.write_session() as s:
        customer_id = s.scalar(select(Customer.id).where(Customer.code == "C1"))
        draft_id = s.scalar(select(InvoiceDraft.id))
        s.add(AccountingInvoice(system="xero", external_id="X-1", number=invoice, invoice_id=draft_id,
                                customer_id=customer_id, currency="EUR", total=Decimal("100.00"),
                                balance=Decimal("40.00"), status=AccountingInvoiceStatus.PARTLY_PAID))  # fmt: skip
        s.add(Payment(system="xero", external_id="P-1", invoice_external_id="X-1", customer_id=customer_id,
                      amount=Decimal("60.00"), currency="EUR", paid_on=DAY))  # fmt: skip
        s.commit()
    code, stdout, stderr = _run(world, "customers", "show", "C1", "--json")
    assert code == 0, stderr
    shown = json.loads(stdout)
    assert [site["code"] for site in shown["sites"]] == ["S1", "S2", "S3"]
    assert shown["assets"][0]["serial"] == "HP-001" and shown["contracts"][0]["code"] == "K1"
    [owed] = shown["open_invoices"]
    assert owed["ref"] == invoice and owed["balance"] == "40.00" and owed["accounting_status"] == "partly_paid"
    status = shown["payment_status"]
    assert status["balance_due"] == "40.00" and status["recent_payments"][0]["amount"] == "60.00"
    code, text, _ = _run(world, "customers", "show", "C1")
    assert code == 0 and "HP-001" in text and invoice in text and "40.00" in text
    code, _, stderr = _run(world, "customers", "show", "C9")
    assert code == 2 and "C9" in stderr
