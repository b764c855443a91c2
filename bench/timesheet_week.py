"""Timesheets from the day at company scale: approving and exporting one week for a branch with months of clocking.

Builds a fresh SQLite database with one branch and N technicians (Mon-Fri 08-16), and writes D days of history
straight into the event log the way the phones would have (clock in, break, clock out, and three visits a day
with en-route and on-site status events), then times the real calls: `compute_timesheet` for one technician's
day, `approve_week` for the branch's last full week, and the payroll CSV of that week. Writes JSON to
`bench/results/`.

    ./dev run python bench/timesheet_week.py --technicians 25 --days 30 180
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from data.actor import Actor
from data.db import Database, create_database_engine
from data.migrate import upgrade_to_head
from data.models import Branch, Customer, Job, JobStatus, JobType, Role, Site
from data.models.workforce import ShiftPattern, Technician
from data.services.attendance import EVENT_TYPES, AttendanceEvent, AttendanceState, ClockAct
from data.services.timesheets import approve_week, compute_timesheet, week_label
from data.transfer.payroll_csv import payroll_csv
from data.uow import UnitOfWork

TZ = "Europe/Helsinki"
OFFICE = Actor("bench", Role.ADMIN, "cli")


def build(db: Database, technicians: int, days: int, last_day: date) -> None:
    zone = ZoneInfo(TZ)
    with db.write_session() as s:
        branch = Branch(code="HEL", name="Helsinki", timezone=TZ, depot_lat=60.17, depot_lon=24.94)
        s.add(branch)
        s.flush()
        customer = Customer(code="C1", name="Customer")
        s.add(customer)
        s.flush()
        site = Site(code="S1", customer_id=customer.id, branch_id=branch.id, name="Site", address="Street 1",
                    city="Helsinki", lat=60.18, lon=24.95)  # fmt: skip
        s.add(site)
        techs = []
        for i in range(technicians):
            t = Technician(code=f"T{i:03d}", name=f"Tech {i}", branch_id=branch.id, home_lat=60.2, home_lon=24.9)
            t.shifts = [ShiftPattern(weekday=d, start=clock(8), end=clock(16)) for d in range(5)]
            s.add(t)
            techs.append(t)
        s.commit()
        ids = [(t.id, t.code) for t in techs]
        site_id, customer_id, branch_id = site.id, customer.id, branch.id
    first = last_day - timedelta(days=days - 1)
    job_no = 0
    for day_offset in range(days):
        day = first + timedelta(days=day_offset)
        if day.weekday() >= 5:
            continue
        with UnitOfWork(db, OFFICE) as uow:
            for tech_id, code in ids:
                start = datetime.combine(day, clock(7, 50), zone)
                acts = [
                    (ClockAct.CLOCK_IN, start, AttendanceState.WORKING),
                    (ClockAct.BREAK_START, start + timedelta(hours=4), AttendanceState.ON_BREAK),
                    (ClockAct.BREAK_END, start + timedelta(hours=4, minutes=30), AttendanceState.WORKING),
                    (ClockAct.CLOCK_OUT, start + timedelta(hours=8, minutes=40), AttendanceState.OFF),
                ]
                for act, at, state in acts:
                    event = AttendanceEvent(code, tech_id, act, at.astimezone(UTC), day, start.astimezone(UTC), state)
                    uow.emit(EVENT_TYPES[act], "technician", tech_id, event.payload())
                for visit in range(3):
                    job_no += 1
                    leave = start + timedelta(hours=visit * 2 + (1 if visit == 2 else 0), minutes=10)
                    arrive, done = leave + timedelta(minutes=25), leave + timedelta(minutes=100)
                    job = Job(ref=f"J{job_no:07d}", type=JobType.REPAIR, status=JobStatus.COMPLETED, summary="Visit",
                              customer_id=customer_id, site_id=site_id, branch_id=branch_id, duration_minutes=75,
                              technician_id=tech_id, planned_start=arrive, planned_end=done, actual_start=arrive,
                              arrived_at=arrive, actual_end=done)  # fmt: skip
                    uow.session.add(job)
                    uow.session.flush()
                    for old, new, at in (("dispatched", "en_route", leave), ("en_route", "on_site", arrive),
                                         ("on_site", "completed", done)):  # fmt: skip
                        payload = {"ref": job.ref, "from": old, "to": new, "at": at, "technician_id": tech_id}
                        uow.emit("job.status_changed", "job", job.id, payload)


def run(technicians: int, days: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        db = Database(url, create_database_engine(url))
        upgrade_to_head(db)
        # The last full ISO week before a fixed Monday, so every run builds the same company.
        monday = date(2026, 11, 23)
        sunday = monday + timedelta(days=6)
        t0 = time.perf_counter()
        build(db, technicians, days, sunday)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        figures = compute_timesheet(db, "T000", monday + timedelta(days=2), now=datetime.now(UTC))
        one_day = time.perf_counter() - t0
        after = datetime.combine(sunday + timedelta(days=1), clock(1), ZoneInfo(TZ))
        t0 = time.perf_counter()
        approvals = approve_week(db, OFFICE, week_label(monday), branch="HEL", now=after)
        approve = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, rows = payroll_csv(db, week_label(monday), branch="HEL", now=after)
        export = time.perf_counter() - t0
        assert figures.paid_minutes == 490 and len(approvals) == technicians and rows == technicians * 5
        return {
            "technicians": technicians,
            "history_days": days,
            "build_s": round(built, 2),
            "compute_one_day_s": round(one_day, 3),
            "approve_week_s": round(approve, 2),
            "export_csv_s": round(export, 2),
            "rows": rows,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--technicians", type=int, default=25)
    parser.add_argument("--days", type=int, nargs="+", default=[30, 180])
    args = parser.parse_args()
    results = [run(args.technicians, d) for d in args.days]
    for r in results:
        print(json.dumps(r))
    out = Path(__file__).parent / "results" / "timesheet_week.json"
    out.parent.mkdir(exist_ok=True)
    load = os.getloadavg()
    out.write_text(
        json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "load": load, "results": results}, indent=2)
        + "\n"
    )


if __name__ == "__main__":
    main()
