"""The see_money permission: a role without it sees no prices, costs, totals or hourly costs, in any surface."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from data.db import Database
from data.demo import build_demo
from data.models import Role
from data.models.field import InvoiceDraft
from data.models.jobs import Job, JobStatus
from data.permissions import Permission
from data.services.jobs import change_status
from data.services.roles import add_role, give_role
from data.services.users import add_user
from dispatch_tui.cli.main import app
from tests.data.test_demo_company import SMALL
from tests.factories import ADMIN

runner = CliRunner()
REASON = "hidden: pat's role planner cannot see money (needs the see_money permission)"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from data.db import open_database

    db = open_database(f"sqlite:///{tmp_path_factory.mktemp('money')}/demo.sqlite")
    build_demo(db, seed=5, **SMALL)
    add_role(db, ADMIN, "planner", frozenset({Permission.ASSIGN, Permission.REPLAN}))
    add_user(db, ADMIN, "pat", "Pat Planner", Role.DISPATCHER)
    give_role(db, ADMIN, "pat", "planner")
    yield db
    db.dispose()


def _job_with_invoice(db: Database) -> str:
    with db.read() as s:
        ref = s.scalar(select(Job.ref).join(InvoiceDraft, InvoiceDraft.job_id == Job.id).limit(1))
    assert ref is not None
    return ref


def _cli(db: Database, who: str | None, *args: str) -> str:
    res = runner.invoke(app, ["--db", db.url, *(["--as", who] if who else []), *args])
    assert res.exit_code == 0, res.output
    return res.stdout


def _money_values(value: Any, keys: set[str]) -> list[Any]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k in keys] + [x for v in value.values() for x in _money_values(v, keys)]
    if isinstance(value, list):
        return [x for v in value for x in _money_values(v, keys)]
    return []


def test_invoices_hide_their_amounts_in_json_and_tables(demo_db: Database) -> None:
    ref = _job_with_invoice(demo_db)
    shown = json.loads(_cli(demo_db, "pat", "invoices", "show", ref, "--json"))
    values = _money_values(shown, {"total", "subtotal", "tax", "unit_price", "amount", "tax_amount"})
    assert values and set(values) == {REASON}
    listed = json.loads(_cli(demo_db, "pat", "invoices", "list", "--json"))
    assert listed and {row["total"] for row in listed} == {REASON}
    assert REASON in _cli(demo_db, "pat", "invoices", "list")
    # The admin still sees the figures.
    mine = json.loads(_cli(demo_db, None, "invoices", "show", ref, "--json"))
    assert mine["total"] != REASON and float(mine["total"]) >= 0


def test_a_technicians_hourly_cost_is_hidden(demo_db: Database) -> None:
    detail = json.loads(_cli(demo_db, "pat", "techs", "show", "T001", "--json"))
    assert detail["technician"]["hourly_cost"] == REASON
    text = _cli(demo_db, "pat", "techs", "show", "T001")
    assert "EUR/h" not in text and "cannot see money" in text


def test_customer_balances_and_report_revenue_and_visit_invoice_are_hidden(demo_db: Database) -> None:
    profile = json.loads(_cli(demo_db, "pat", "customers", "show", "C00001", "--json"))
    assert set(_money_values(profile, {"total", "balance", "balance_due"})) <= {REASON, None}
    kpis = json.loads(_cli(demo_db, "pat", "report", "kpis", "--json"))
    assert {g["values"]["revenue"] for g in kpis["groups"]} == {REASON}
    table = _cli(demo_db, "pat", "report", "kpis")
    assert "cannot see money" in table
    ref = _job_with_invoice(demo_db)
    visit = _cli(demo_db, "pat", "report", "visit", ref)
    assert "cannot see money" in visit and "subtotal" not in visit


def test_a_quote_proposed_by_a_role_without_money_shows_no_total(demo_db: Database) -> None:
    with demo_db.read() as s:
        ref = s.scalar(
            select(Job.ref)
            .where(Job.technician_id.is_not(None), Job.status.in_([JobStatus.SCHEDULED, JobStatus.DISPATCHED]))
            .order_by(Job.id)
            .limit(1)
        )
    assert ref is not None
    if _status(demo_db, ref) is JobStatus.SCHEDULED:
        change_status(demo_db, ADMIN, ref, JobStatus.DISPATCHED)
    change_status(demo_db, ADMIN, ref, JobStatus.ON_SITE)
    proposed = _cli(demo_db, "pat", "quotes", "propose", ref, "--summary", "New valve", "--line", "Valve;1;120.00")
    assert "120" not in proposed and "cannot see money" in proposed
    listed = json.loads(_cli(demo_db, "pat", "quotes", "list", "--json"))
    assert listed and {q["total"] for q in listed} == {REASON}
    assert "120.00" in _cli(demo_db, None, "quotes", "list")


def _status(db: Database, ref: str) -> JobStatus:
    with db.read() as s:
        found = s.scalar(select(Job.status).where(Job.ref == ref))
    assert found is not None
    return found
