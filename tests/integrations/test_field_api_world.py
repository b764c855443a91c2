"""A small field-day for the field API tests: tokens for T1 and T2, jobs dispatched a week before DAY."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from data.db import Database
from data.models import Contact, Customer, JobStatus, JobType, Site
from data.services.api_tokens import issue_token
from data.services.jobs import JobDraft, add_note, assign_job, change_status, create_job
from data.services.stock import move_stock
from integrations.field_api import create_app
from tests.factories import ADMIN, DAY, DISPATCHER, build_world, local

# A past Wednesday, so no client time is ever "in the future" whatever day the suite runs.
FIELD_DAY: date = DAY - timedelta(days=7)


def at(hour: int, minute: int = 0) -> datetime:
    return local(hour, minute, FIELD_DAY)


@dataclass
class FieldWorld:
    db: Database
    client: TestClient
    tokens: dict[str, str]
    token_ids: dict[str, int]
    jobs: dict[str, str]  # name -> ref

    def auth(self, tech: str = "T1") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[tech]}"}


def arrive(world: FieldWorld, ref: str, tech: str = "T1") -> None:
    """On the way at 08:40, on site at 09:00, through the API."""
    for step, when in (("en_route", at(8, 40)), ("on_site", at(9))):
        r = world.client.post(
            f"/v1/jobs/{ref}/status", json={"status": step, "at": when.isoformat()}, headers=world.auth(tech)
        )
        assert r.status_code == 200, r.text


def dispatched_job(db: Database, tech: str, hour: int, site: str = "S1", asset: str | None = None) -> str:
    job = create_job(
        db,
        DISPATCHER,
        JobDraft(JobType.REPAIR, site, f"Visit {tech} {hour}", 60, skills={}, asset_serial=asset, created_at=at(7)),
    )
    assign_job(db, DISPATCHER, job.ref, tech, at(hour))
    change_status(db, DISPATCHER, job.ref, JobStatus.DISPATCHED, at=at(7, 30))
    return job.ref


def build_field_world(db: Database) -> FieldWorld:
    build_world(db)
    with db.write_session() as s:
        customer = s.scalar(select(Customer).where(Customer.code == "C1"))
        site = s.scalar(select(Site).where(Site.code == "S1"))
        assert customer is not None and site is not None
        site.access_notes = "Back door, key box code 1234"
        s.add(Contact(customer_id=customer.id, name="Anna Asiakas", phone="+358401234567", primary=True))
        s.commit()
    jobs = {
        "t1_morning": dispatched_job(db, "T1", 9, asset="HP-001"),
        "t1_noon": dispatched_job(db, "T1", 11, site="S2"),
        "t1_afternoon": dispatched_job(db, "T1", 13, site="S3"),
        "t2_job": dispatched_job(db, "T2", 9, site="S2"),
    }
    add_note(db, DISPATCHER, jobs["t1_morning"], "Customer asks for a call 15 min ahead", at=at(7, 45))
    move_stock(db, DISPATCHER, "FLT-01", 3, from_location="WH-HEL", to_location="VAN-T1", reason="load van")
    tokens, ids = {}, {}
    for tech in ("T1", "T2"):
        issued = issue_token(db, ADMIN, tech, label=f"{tech} phone")
        tokens[tech], ids[tech] = issued.secret, issued.token_id
    return FieldWorld(db, TestClient(create_app(db)), tokens, ids, jobs)


def field_world(db: Database) -> Iterator[FieldWorld]:
    world = build_field_world(db)
    with world.client:
        yield world
