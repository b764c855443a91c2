"""A small hand-made company for tests: one branch, a few skills, technicians, customers and sites."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select

from data.actor import Actor
from data.db import Database
from data.models import (
    Asset,
    Branch,
    Contract,
    Customer,
    Part,
    PriceList,
    Role,
    ShiftPattern,
    Site,
    Skill,
    StockLevel,
    StockLocation,
    StockLocationKind,
    Technician,
    TechnicianSkill,
    User,
)
from data.services.crm_sync import link_external
from data.services.users import os_login

TZ = "Europe/Helsinki"
DAY = date(2026, 11, 25)  # a Wednesday
DISPATCHER = Actor("dana", Role.DISPATCHER, "cli")
SUPERVISOR = Actor("sam", Role.SUPERVISOR, "cli")
ADMIN = Actor("ada", Role.ADMIN, "cli")


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(TZ))


@dataclass
class World:
    branch_id: int
    technician_ids: dict[str, int]
    site_codes: list[str]


def build_world(db: Database) -> World:
    """Branch HEL; T1 (hvac 3, electrical 1), T2 (plumbing 2), T3 (hvac 1) work 08-16 Mon-Fri."""
    with db.write_session() as s:
        branch = Branch(
            code="HEL",
            name="Helsinki",
            timezone=TZ,
            depot_lat=60.17,
            depot_lon=24.94,
            tax_rate=Decimal("0.255"),
            currency="EUR",
        )
        s.add(branch)
        skills = {c: Skill(code=c, name=c.title()) for c in ("hvac", "plumbing", "electrical")}
        s.add_all(skills.values())
        s.flush()
        techs: dict[str, Technician] = {}
        spec = {"T1": {"hvac": 3, "electrical": 1}, "T2": {"plumbing": 2}, "T3": {"hvac": 1}}
        for i, (code, levels) in enumerate(spec.items()):
            t = Technician(
                code=code,
                name=f"Tech {code}",
                branch_id=branch.id,
                home_lat=60.16 + i * 0.01,
                home_lon=24.93 + i * 0.01,
                hourly_cost=Decimal("38.50"),
            )
            t.skills = [TechnicianSkill(skill=skills[k], level=v) for k, v in levels.items()]
            t.shifts = [ShiftPattern(weekday=d, start=time(8), end=time(16)) for d in range(5)]
            s.add(t)
            techs[code] = t
        s.flush()
        for code, t in techs.items():
            s.add(
                StockLocation(code=f"VAN-{code}", kind=StockLocationKind.VAN, branch_id=branch.id, technician_id=t.id)
            )
        wh = StockLocation(code="WH-HEL", kind=StockLocationKind.WAREHOUSE, branch_id=branch.id)
        s.add(wh)
        part = Part(sku="FLT-01", name="Air filter", unit_cost=Decimal("4.10"), list_price=Decimal("12.90"))
        s.add(part)
        s.flush()
        s.add(StockLevel(location_id=wh.id, part_id=part.id, quantity=10))
        pl = PriceList(code="STD", name="Standard", labour_rate=Decimal("78.00"), callout_fee=Decimal("45.00"))
        s.add(pl)
        customer = Customer(code="C1", name="Kallio Bakery Oy", email="info@kallio.example")
        s.add(customer)
        s.flush()
        sites = []
        for i in range(3):
            site = Site(
                code=f"S{i + 1}",
                customer_id=customer.id,
                branch_id=branch.id,
                name=f"Site {i + 1}",
                address=f"Fleminginkatu {i + 1}",
                city="Helsinki",
                lat=60.18 + i * 0.005,
                lon=24.95,
            )
            s.add(site)
            sites.append(site)
        s.flush()
        s.add(
            Asset(
                site_id=sites[0].id,
                kind="heat pump",
                model="NIBE F2120",
                serial="HP-001",
                install_date=date(2025, 5, 1),
                warranty_end=date(2027, 5, 1),
            )
        )
        s.add(
            Contract(
                code="K1",
                customer_id=customer.id,
                name="Gold",
                sla_response_hours=8,
                covered_job_types=["repair", "maintenance"],
                price_list_id=None,
                valid_from=date(2026, 1, 1),
                valid_to=date(2036, 12, 31),
            )
        )
        for login, role in (("dana", Role.DISPATCHER), ("sam", Role.SUPERVISOR), ("ada", Role.ADMIN)):
            # The OS account running the tests is ada's, an admin's, so `--as LOGIN` works as it would for her.
            mapped = os_login() if role is Role.ADMIN else None
            s.add(User(login=login, name=login.title(), role=role, os_login=mapped))
        s.commit()
        return World(branch.id, {c: t.id for c, t in techs.items()}, [x.code for x in sites])


def statements_during(db: Database, call: Callable[[], Any]) -> int:
    """How many SQL statements `call` sends: read models and imports must not grow them with the rows."""
    seen = 0

    def count(*_args: object) -> None:
        nonlocal seen
        seen += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return seen


def link_customer(db: Database, code: str = "C1", system: str = "crm", external_id: str = "CO1") -> None:
    """Customer `code` is known to the outside `system` as `external_id` (what a pull would have recorded)."""
    with db.read() as s:
        customer_id = s.scalar(select(Customer.id).where(Customer.code == code))
    assert customer_id is not None
    link_external(db, ADMIN, "customer", customer_id, system, external_id)
