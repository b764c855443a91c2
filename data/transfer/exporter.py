"""Exports: technicians, customers+sites and jobs as CSV/JSON (re-importable), jobs as iCalendar, points as GeoJSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date
from typing import Any

from icalendar import Calendar
from icalendar import Event as CalendarEvent
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from data.availability import local_day_bounds
from data.db import Database
from data.errors import InvalidInput
from data.models.customers import Customer, Site
from data.models.jobs import Job
from data.models.org import Branch
from data.models.workforce import ShiftException, Technician
from data.transfer.csv_formats import COLUMNS, Entity, WeeklyShift, format_shifts, iso, write_rows

FORMATS: dict[Entity, tuple[str, ...]] = {
    Entity.TECHNICIANS: ("csv", "json", "geojson"),
    Entity.CUSTOMERS: ("csv", "json", "geojson"),
    Entity.JOBS: ("csv", "json", "ics", "geojson"),
}


def format_exceptions(rows: list[ShiftException]) -> str:
    parts = []
    for e in sorted(rows, key=lambda e: e.day):
        hours = f"{e.start:%H:%M}-{e.end:%H:%M}" if e.start and e.end else "off"
        parts.append(f"{e.day.isoformat()} {hours}")
    return "; ".join(parts)


def technician_record(tech: Technician, branch_code: str, exceptions: list[ShiftException]) -> dict[str, Any]:
    return {
        "code": tech.code,
        "name": tech.name,
        "branch": branch_code,
        "email": tech.email,
        "phone": tech.phone,
        "home_lat": tech.home_lat,
        "home_lon": tech.home_lon,
        "skills": dict(sorted(tech.skill_levels().items())),
        "shifts": format_shifts([WeeklyShift(p.weekday, p.start, p.end, p.break_minutes) for p in tech.shifts]),
        "exceptions": format_exceptions(exceptions),
        "hourly_cost": f"{tech.hourly_cost:.2f}",
        "max_daily_minutes": tech.max_daily_minutes,
        "active": tech.active,
    }


def technician_records(session: Session) -> list[dict[str, Any]]:
    branches = dict(session.execute(select(Branch.id, Branch.code)).all())
    exceptions: dict[int, list[ShiftException]] = {}
    for e in session.scalars(select(ShiftException)):
        exceptions.setdefault(e.technician_id, []).append(e)
    return [
        technician_record(t, branches[t.branch_id], exceptions.get(t.id, []))
        for t in session.scalars(select(Technician).order_by(Technician.code))
    ]


def customer_site_record(customer: Customer, site: Site | None, branch_code: str | None) -> dict[str, Any]:
    return {
        "customer_code": customer.code,
        "customer_name": customer.name,
        "customer_email": customer.email,
        "customer_phone": customer.phone,
        "payment_terms_days": customer.payment_terms_days,
        "customer_notes": customer.notes,
        "site_code": site.code if site else None,
        "site_name": site.name if site else None,
        "branch": branch_code,
        "address": site.address if site else None,
        "postcode": site.postcode if site else None,
        "city": site.city if site else None,
        "lat": site.lat if site else None,
        "lon": site.lon if site else None,
        "access_notes": site.access_notes if site else None,
    }


def customer_records(session: Session) -> list[dict[str, Any]]:
    """One row per site, customer columns repeated; a customer without sites gets one row with empty site columns."""
    branches = dict(session.execute(select(Branch.id, Branch.code)).all())
    sites: dict[int, list[Site]] = {}
    for found in session.scalars(select(Site).order_by(Site.code)):
        sites.setdefault(found.customer_id, []).append(found)
    rows = []
    for customer in session.scalars(select(Customer).order_by(Customer.code)):
        own: list[Site | None] = list(sites.get(customer.id, [])) or [None]
        for site in own:
            rows.append(customer_site_record(customer, site, branches[site.branch_id] if site else None))
    return rows


def job_record(job: Job, site_code: str, technician_code: str | None) -> dict[str, Any]:
    return {
        "ref": job.ref,
        "type": job.type.value,
        "status": job.status.value,
        "priority": job.priority,
        "summary": job.summary,
        "description": job.description,
        "site": site_code,
        "skills": dict(sorted(job.skill_requirements().items())),
        "duration_minutes": job.duration_minutes,
        "window_start": iso(job.window_start),
        "window_end": iso(job.window_end),
        "sla_due": iso(job.sla_due),
        "technician": technician_code,
        "planned_start": iso(job.planned_start),
        "pinned": job.pinned,
    }


def _jobs(session: Session, day: date | None) -> list[Job]:
    stmt = select(Job).order_by(Job.ref)
    if day is not None:
        # A day's jobs: planned that day in their branch's zone (the calendar and the map want these).
        conditions = []
        for branch in session.scalars(select(Branch)):
            start, end = local_day_bounds(day, branch.timezone)
            conditions.append((Job.branch_id == branch.id) & (Job.planned_start >= start) & (Job.planned_start < end))
        if not conditions:
            return []
        stmt = stmt.where(or_(*conditions))
    return list(session.scalars(stmt))


def job_records(session: Session, day: date | None = None) -> list[dict[str, Any]]:
    sites = dict(session.execute(select(Site.id, Site.code)).all())
    techs = dict(session.execute(select(Technician.id, Technician.code)).all())
    return [
        job_record(j, sites[j.site_id], techs.get(j.technician_id) if j.technician_id else None)
        for j in _jobs(session, day)
    ]


def records(db: Database, entity: Entity, day: date | None = None) -> list[dict[str, Any]]:
    with db.read() as session:
        if entity is Entity.TECHNICIANS:
            return technician_records(session)
        if entity is Entity.CUSTOMERS:
            return customer_records(session)
        return job_records(session, day)


def export_text(
    db: Database,
    entity: Entity,
    fmt: str,
    day: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """The whole export as text, in a stable order so two exports of the same data are identical.

    `progress`, if given, is called with (stages done, stages): reading the records, then writing them out."""
    if fmt not in FORMATS[entity]:
        raise InvalidInput(
            f"{entity.value} export supports {', '.join(FORMATS[entity])}", record="export", field="format"
        )
    report = progress or (lambda done, total: None)
    report(0, 2)
    if fmt == "ics":
        text = jobs_calendar(db, day)
    elif fmt == "geojson":
        text = geojson(db, entity, day)
    else:
        rows = records(db, entity, day)
        report(1, 2)
        text = write_rows(fmt, COLUMNS[entity], rows)
    report(2, 2)
    return text


def jobs_calendar(db: Database, day: date | None = None) -> str:
    """One VEVENT per planned job, times in UTC, UID stable per job so calendars update in place."""
    cal = Calendar()
    cal.add("prodid", "-//Dispatch//Field service jobs//EN")
    cal.add("version", "2.0")
    with db.read() as session:
        sites = {s.id: s for s in session.scalars(select(Site))}
        techs = dict(session.execute(select(Technician.id, Technician.code)).all())
        for job in _jobs(session, day):
            if job.planned_start is None or job.planned_end is None:
                continue
            site = sites[job.site_id]
            event = CalendarEvent()
            event.add("uid", f"{job.ref}@dispatch")
            event.add("dtstamp", job.updated_at.astimezone(UTC))
            event.add("dtstart", job.planned_start.astimezone(UTC))
            event.add("dtend", job.planned_end.astimezone(UTC))
            event.add("summary", f"{job.ref} {job.summary}")
            event.add("location", ", ".join(p for p in (site.address, site.postcode, site.city) if p))
            event.add("geo", (site.lat, site.lon))
            event.add("status", "CANCELLED" if job.status.value == "cancelled" else "CONFIRMED")
            tech = techs.get(job.technician_id) if job.technician_id else None
            description = [f"{job.type.value}, priority {job.priority}, {job.status.value}"]
            if tech:
                description.append(f"technician {tech}")
                event.add("categories", [tech])
            if job.description:
                description.append(job.description)
            event.add("description", "\n".join(description))
            cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def _feature(lat: float, lon: float, properties: dict[str, Any]) -> dict[str, Any]:
    # GeoJSON orders coordinates longitude first (RFC 7946).
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}


def geojson(db: Database, entity: Entity, day: date | None = None) -> str:
    features = []
    with db.read() as session:
        if entity is Entity.TECHNICIANS:
            for rec in technician_records(session):
                props = {k: v for k, v in rec.items() if k not in ("home_lat", "home_lon")}
                features.append(_feature(rec["home_lat"], rec["home_lon"], {"kind": "technician", **props}))
        elif entity is Entity.CUSTOMERS:
            for rec in customer_records(session):
                if rec["site_code"] is None:
                    continue
                props = {k: v for k, v in rec.items() if k not in ("lat", "lon")}
                features.append(_feature(rec["lat"], rec["lon"], {"kind": "site", **props}))
        else:
            coords = {s.id: (s.lat, s.lon) for s in session.scalars(select(Site))}
            site_codes = {s.id: s.code for s in session.scalars(select(Site))}
            techs = dict(session.execute(select(Technician.id, Technician.code)).all())
            for job in _jobs(session, day):
                lat, lon = coords[job.site_id]
                tech = techs.get(job.technician_id) if job.technician_id else None
                rec = job_record(job, site_codes[job.site_id], tech)
                features.append(_feature(lat, lon, {"kind": "job", **rec}))
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, indent=2, ensure_ascii=False) + "\n"
