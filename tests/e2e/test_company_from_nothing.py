"""A company from nothing through the command line only (no demo, no factories): branch, skills, price list, parts,
stock, technicians, a customer and its sites, jobs imported from a CSV file, the day scheduled, one job completed
from the office and one from the technician's phone through the field API, and then both invoices in the branch's
series, both timesheets, and the CRM and accounting deliveries the worker made of them; then a mistaken completion
reopened (its draft voided) and an invoice credited, both reaching the accounting connector."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from data.db import Database
from dispatch_tui.cli.main import app
from integrations.field_api.app import create_app

runner = CliRunner()
DAY = date(2026, 11, 25)  # a Wednesday, before the wall clock: the phone's times are not in the future
ZONE = ZoneInfo("Europe/Helsinki")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=ZONE)


def cli(db: Database, *args: str) -> str:
    result = runner.invoke(app, ["--db", db.url, *args])
    assert result.exit_code == 0, f"{' '.join(args)}: {result.stderr}{result.stdout}"
    return result.stdout


def cli_json(db: Database, *args: str) -> Any:
    return json.loads(cli(db, *args, "--json"))


@pytest.fixture
def company(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    config = tmp_path / "integrations.toml"
    config.write_text(
        f"""
[connectors.crm]
type = "jsonl"
events = ["job.completed"]
path = "{tmp_path / "crm.jsonl"}"

[connectors.books]
type = "jsonl"
events = ["invoice.drafted", "invoice.voided", "credit_note.issued"]
path = "{tmp_path / "books.jsonl"}"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("DISPATCH_INTEGRATIONS_CONFIG", str(config))
    monkeypatch.setattr("dispatch_tui.cli.commands.schedule.utcnow", lambda: at(6).astimezone(UTC))
    db = sqlite_db
    cli(db, "init")
    cli(db, "branches", "add", "HEL", "--name", "Helsinki", "--timezone", "Europe/Helsinki", "--depot-lat", "60.17",
        "--depot-lon", "24.94", "--tax-rate", "0.255", "--currency", "EUR")  # fmt: skip
    cli(db, "skills", "add", "hvac", "--name", "HVAC")
    cli(db, "price-lists", "add", "STD", "--name", "Standard", "--labour-rate", "80", "--callout-fee", "45")
    cli(db, "parts", "add", "FLT-01", "--name", "Filter", "--unit-cost", "5", "--list-price", "12.50")
    cli(db, "stock", "add", "WH-HEL", "--kind", "warehouse", "--branch", "HEL", "--levels", "FLT-01=10")
    for code, name, lat in (("T1", "Tea One", "60.18"), ("T2", "Teo Two", "60.16")):
        cli(db, "technicians", "add", code, "--name", name, "--branch", "HEL", "--home-lat", lat, "--home-lon",
            "24.95", "--skills", "hvac:3", "--shifts", "mon-fri 07:00-16:00", "--hourly-cost", "32")  # fmt: skip
        cli(db, "stock", "move", "FLT-01", "2", "--from", "WH-HEL", "--to", f"VAN-{code}")
    cli(db, "customers", "add", "C1", "--name", "Kallio Bakery Oy", "--phone", "+358 9 123", "--contact-name",
        "Anna Asiakas", "--contact-phone", "+358 40 111")  # fmt: skip
    for code, street, lat in (("S1", "Fleminginkatu 1", "60.185"), ("S2", "Helsinginkatu 9", "60.188")):
        cli(db, "sites", "add", code, "--customer", "C1", "--branch", "HEL", "--name", street, "--address", street,
            "--lat", lat, "--lon", "24.95")  # fmt: skip
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "ref,type,status,priority,summary,description,site,skills,duration_minutes,window_start,window_end,sla_due,"
        "technician,planned_start,pinned\n"
        f"A1,repair,new,2,Heat pump noisy,,S1,hvac:2,60,{at(8).isoformat()},{at(12).isoformat()},,,,\n"
        f"A2,maintenance,new,3,Yearly service,,S2,hvac:1,60,{at(8).isoformat()},{at(15).isoformat()},,,,\n",
        encoding="utf-8",
    )
    assert cli_json(db, "import", "jobs", str(jobs))["created"] == 2
    return db


def test_a_company_runs_a_day_on_dispatch_alone(company: Database) -> None:
    db = company
    cli(db, "schedule", "--date", DAY.isoformat(), "--apply")
    planned = {r["ref"]: r for r in cli_json(db, "jobs", "list", "--date", DAY.isoformat())}
    assert planned["A1"]["technician"] and planned["A2"]["technician"], planned
    office, phone = planned["A1"], planned["A2"]

    done = cli_json(db, "jobs", "complete", "A1", "--date", DAY.isoformat(), "--start", "09:00", "--end", "10:00",
                    "--labour", "55", "--travel", "15", "--part", "FLT-01:1", "--notes", "Filter replaced")  # fmt: skip
    assert done["status"] == "completed" and done["invoice"] == "HEL-2026-000001"

    cli(db, "jobs", "status", "A2", "dispatched")
    token = cli_json(db, "tokens", "issue", phone["technician"], "--label", "phone")["token"]
    with TestClient(create_app(db)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        for step, when in (("en_route", at(12, 40)), ("on_site", at(13))):
            r = client.post("/v1/jobs/A2/status", json={"status": step, "at": when.isoformat()}, headers=auth)
            assert r.status_code == 200, r.text
        report = {"actual_start": at(13).isoformat(), "actual_end": at(13, 50).isoformat(), "labour_minutes": 50,
                  "travel_minutes": 20, "resolution_code": "SERVICED", "client_event_id": "a2-done"}  # fmt: skip
        r = client.post("/v1/jobs/A2/completion", json=report, headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["invoice_ref"] == "HEL-2026-000002"

    invoices = {i["job"]: i for i in cli_json(db, "invoices", "list", "--customer", "C1")}
    assert {invoices["A1"]["ref"], invoices["A2"]["ref"]} == {"HEL-2026-000001", "HEL-2026-000002"}
    assert all(i["status"] == "draft" and i["currency"] == "EUR" for i in invoices.values())

    sheets = cli_json(db, "timesheets", "list", "--date", DAY.isoformat())
    worked = {s["technician"]: s["worked_minutes"] for s in sheets}
    assert worked[office["technician"]] >= 55 and worked[phone["technician"]] >= 50, sheets

    cli(db, "worker", "--once")
    deliveries = cli_json(db, "deliveries", "list")
    made = sorted((d["connector"], d["event_type"]) for d in deliveries)
    assert made == [("books", "invoice.drafted")] * 2 + [("crm", "job.completed")] * 2, deliveries

    # A1 was the wrong job: reopened, its draft voided (the number stays used); A2's bill is credited.
    assert cli_json(db, "jobs", "reopen", "A1", "--reason", "wrong site")["invoice"]["action"] == "voided"
    assert cli_json(db, "invoices", "credit", "HEL-2026-000002", "--reason", "goodwill")["ref"] == "HEL-CN-2026-000001"
    cli(db, "worker", "--once")
    later = {(d["connector"], d["event_type"]) for d in cli_json(db, "deliveries", "list")}
    assert {("books", "invoice.voided"), ("books", "credit_note.issued")} <= later
    assert cli_json(db, "jobs", "show", "A1")["job"]["status"] == "scheduled"
