"""What connector tests share: a completed job with notes and an invoice, configs pointing at a fake, a send loop."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from data.actor import Actor
from data.db import Database
from data.feed import EventRecord, tail
from data.models import Contact, Customer, JobStatus, JobType, Role
from data.models.workforce import Technician
from data.services.completion import CompletionInput, ExpenseInput, PartInput, complete_job
from data.services.jobs import JobDraft, add_note, assign_job, change_status, create_job
from data.services.stock import move_stock
from data.services.timesheets import approve_week, close_timesheet, week_label
from integrations.config import ConnectorConfig, parse_config
from integrations.connector import Connector, MappingContext, OutboundRequest, Outcome, SendResult
from tests.factories import DAY, DISPATCHER, build_world, local
from tests.integrations.fakes.server import CLIENT_ID, CLIENT_SECRET, FIRST_REFRESH_TOKEN


@dataclass
class CompletedJob:
    ref: str
    completed: EventRecord
    drafted: EventRecord


def completed_job(db: Database, *, notes: str = "Replaced the filter; fan bearing worn") -> CompletedJob:
    """A repair at S1 (asset HP-001 under warranty) done by T1, with a part, an expense and a technician note."""
    build_world(db)
    with db.write_session() as session:
        customer = session.scalar(select(Customer).where(Customer.code == "C1"))
        assert customer is not None
        session.add(Contact(customer_id=customer.id, name="Anna Asiakas", email="anna@example.com", primary=True))
        session.commit()
    move_stock(db, DISPATCHER, "FLT-01", 2, from_location="WH-HEL", to_location="VAN-T1", reason="load van")
    job = create_job(
        db,
        DISPATCHER,
        JobDraft(
            JobType.REPAIR, "S1", "Heat pump noisy", 60, skills={"hvac": 1}, asset_serial="HP-001", created_at=local(7)
        ),
    )
    assign_job(db, DISPATCHER, job.ref, "T1", local(9))
    with db.read() as s:
        tech_id = s.scalar(select(Technician.id).where(Technician.code == "T1"))
    tech = Actor("t1", Role.TECHNICIAN, "api", technician_id=tech_id)
    change_status(db, DISPATCHER, job.ref, JobStatus.DISPATCHED, at=local(8, 30))
    change_status(db, tech, job.ref, JobStatus.EN_ROUTE, at=local(8, 40))
    change_status(db, tech, job.ref, JobStatus.ON_SITE, at=local(9))
    add_note(db, tech, job.ref, "Customer asks to check the outdoor unit next spring")
    complete_job(
        db,
        tech,
        job.ref,
        CompletionInput(
            actual_start=local(9),
            actual_end=local(10, 10),
            labour_minutes=70,
            travel_minutes=20,
            resolution_code="FIXED",
            parts=[PartInput("FLT-01", 1)],
            expenses=[ExpenseInput("parking", "Parking hall", __import__("decimal").Decimal("6.50"))],
            notes=notes,
        ),
    )
    events = list(tail(db, 0, 10_000))
    return CompletedJob(
        job.ref,
        next(e for e in events if e.type == "job.completed"),
        next(e for e in events if e.type == "invoice.drafted"),
    )


def closed_timesheet(db: Database) -> EventRecord:
    close_timesheet(db, DISPATCHER, "T1", DAY, now=local(18))
    return next(e for e in tail(db, 0, 10_000) if e.type == "timesheet.closed")


def approved_timesheet(db: Database) -> EventRecord:
    """T1's week approved (closing the day first): the event payroll connectors publish by default."""
    monday = DAY - timedelta(days=DAY.weekday())
    approve_week(db, DISPATCHER, week_label(monday), technician="T1", now=local(1, 0, monday + timedelta(days=7)))
    return next(e for e in tail(db, 0, 10_000) if e.type == "timesheet.approved")


def write_credentials(tmp_path: Path, name: str, *, access_token: str = "token-0", expires_in: int = 3600) -> Path:
    """A 0600 TOML credentials file as an operator would write it after authorising the app."""
    import time

    path = tmp_path / f"{name}-credentials.toml"
    path.write_text(
        f'client_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
        f'refresh_token = "{FIRST_REFRESH_TOKEN}"\naccess_token = "{access_token}"\n'
        f"expires_at = {int(time.time()) + expires_in}\n"
    )
    path.chmod(0o600)
    return path


def connector_config(
    tmp_path: Path, name: str, kind: str, settings: Mapping[str, Any], extra: Mapping[str, Any] | None = None, **kw: Any
) -> ConnectorConfig:
    """A connector configured the way integrations.toml would, with its secrets in a 0600 file."""
    cred = write_credentials(tmp_path, name, **kw)
    table: dict[str, Any] = {
        "type": kind,
        "credentials_file": str(cred),
        "oauth_state_file": str(tmp_path / f"{name}-oauth.json"),
        **settings,
        **(extra or {}),
    }
    return parse_config({"connectors": {name: table}}).connector(name)


def context(db: Database, config: ConnectorConfig) -> MappingContext:
    return MappingContext(db=db, connector=config.name, settings=config.settings)


async def deliver(
    connector: Connector, requests: list[OutboundRequest], client: httpx.AsyncClient, attempts: int = 8
) -> list[SendResult]:
    """Send requests in order the way the delivery engine does: retry RETRY outcomes, stop at FAILED."""
    results: list[SendResult] = []
    for request in requests:
        for _ in range(attempts):
            result = await connector.send(request, client)
            if result.outcome is not Outcome.RETRY:
                break
        results.append(result)
        if result.outcome is not Outcome.DELIVERED:
            break
    return results


def body(entry: Mapping[str, Any]) -> Any:
    return entry["json"] if not isinstance(entry["json"], str) else json.loads(entry["json"])


def at_minutes(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)
