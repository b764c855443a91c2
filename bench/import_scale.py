"""Imports at company scale: `dispatch import customers|technicians|jobs FILE --dry-run` on 20,000+ rows.

Writes a seeded CSV and runs the real command in a child process against a fresh database, so the figures
are what a user sees: rows per second and the child's peak RSS. With `--write` the import lands instead of
a dry run. Target: 100,000 rows in 30 s or less, with memory that does not grow with the file. Writes JSON
to `bench/results/`.

- customers: one site per row; every fifth customer has a second site. The database holds the branches.
- technicians: skills, a weekly pattern, every tenth a dated exception. The database holds branches, skills.
- jobs: 98 % new jobs on 2,000 sites, 2 % scheduled with one of 50 technicians (those go one by one through
  the assignment service). The database holds branches, skills, the sites' customers and the technicians.

    ./dev run python bench/import_scale.py --rows 20000 100000 [--entities customers technicians jobs]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path

from sqlalchemy import select

from data.db import open_database
from data.models import Branch, Customer, Site, Skill, Technician
from data.models.workforce import ShiftPattern, TechnicianSkill
from data.transfer.csv_formats import CUSTOMER_COLUMNS, JOB_COLUMNS, TECHNICIAN_COLUMNS

STREETS = ("Mannerheimintie", "Aleksanterinkatu", "Hämeentie", "Mechelininkatu", "Itämerenkatu", "Kaivokatu")
CITIES = (("Helsinki", "HEL", 60.17, 24.94), ("Espoo", "ESP", 60.21, 24.66))


def write_customers(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CUSTOMER_COLUMNS)
        customer = 0
        written = 0
        while written < rows:
            customer += 1
            sites = 2 if customer % 5 == 0 else 1
            for s in range(min(sites, rows - written)):
                city, branch, lat, lon = rng.choice(CITIES)
                writer.writerow(
                    [
                        f"C{customer:07d}", f"Customer {customer} Oy", f"billing{customer}@example.fi",
                        f"+35840{customer:07d}", (14, 30, 45)[customer % 3], "" if customer % 3 else "key at reception",
                        f"S{customer:07d}-{s}", f"Site {s} of {customer}", branch,
                        f"{rng.choice(STREETS)} {rng.randint(1, 120)}", f"00{rng.randint(100, 990)}", city,
                        f"{lat + rng.uniform(-0.05, 0.05):.6f}", f"{lon + rng.uniform(-0.08, 0.08):.6f}",
                        "" if s else "door code 1234",
                    ]
                )  # fmt: skip
                written += 1


SKILLS = ("hvac", "plumbing", "electrical", "gas", "refrigeration")
JOB_SITES = 2_000
JOB_TECHNICIANS = 50


def write_technicians(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TECHNICIAN_COLUMNS)
        for n in range(1, rows + 1):
            _city, branch, lat, lon = rng.choice(CITIES)
            skills = ";".join(f"{k}:{rng.randint(1, 5)}" for k in rng.sample(SKILLS, rng.randint(1, 3)))
            writer.writerow(
                [
                    f"T{n:07d}", f"Technician {n}", branch, f"tech{n}@example.fi", f"+35850{n:07d}",
                    f"{lat + rng.uniform(-0.05, 0.05):.6f}", f"{lon + rng.uniform(-0.08, 0.08):.6f}", skills,
                    "mon-fri 07:00-15:30" if n % 3 else "mon-thu 08:00-18:00; sat 08:00-12:00 break 0",
                    "2026-12-24 off" if n % 10 == 0 else "", f"{rng.randint(30, 60)}.50", 480, "true",
                ]
            )  # fmt: skip


def write_jobs(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(JOB_COLUMNS)
        for n in range(1, rows + 1):
            scheduled = n % 50 == 0
            day = 1 + n % 28
            writer.writerow(
                [
                    f"R{n:07d}", rng.choice(("repair", "maintenance", "inspection", "install")),
                    "scheduled" if scheduled else "new", rng.randint(1, 4), f"Job {n}: {rng.choice(STREETS)}",
                    "" if n % 4 else "customer asks for a call ahead", f"JS{1 + n % JOB_SITES:05d}",
                    f"{rng.choice(SKILLS)}:{rng.randint(1, 3)}", rng.choice((30, 45, 60, 90, 120)),
                    f"2027-01-{day:02d}T08:00:00+02:00", f"2027-01-{day:02d}T16:00:00+02:00", "",
                    f"BT{1 + (n // 50) % JOB_TECHNICIANS:03d}" if scheduled else "",
                    f"2027-01-{day:02d}T09:00:00+02:00" if scheduled else "", "false",
                ]
            )  # fmt: skip


WRITERS = {"customers": write_customers, "technicians": write_technicians, "jobs": write_jobs}


def fresh_database(path: Path, entity: str = "customers") -> str:
    url = f"sqlite:///{path}"
    db = open_database(url)
    with db.write_session() as s:
        branches = []
        for name, code, lat, lon in CITIES:
            branch = Branch(code=code, name=name, timezone="Europe/Helsinki", depot_lat=lat, depot_lon=lon)
            s.add(branch)
            branches.append(branch)
        if entity != "customers":
            s.add_all(Skill(code=code, name=code.title()) for code in SKILLS)
        s.flush()
        if entity == "jobs":
            for n in range(1, JOB_SITES + 1):
                customer = Customer(code=f"JC{n:05d}", name=f"Customer {n}")
                s.add(customer)
                s.flush()
                branch = branches[n % 2]
                s.add(
                    Site(
                        code=f"JS{n:05d}", customer_id=customer.id, name=f"Site {n}", branch_id=branch.id,
                        address=f"Street {n}", lat=branch.depot_lat, lon=branch.depot_lon,
                    )
                )  # fmt: skip
            skills = list(s.scalars(select(Skill)))
            for n in range(1, JOB_TECHNICIANS + 1):
                branch = branches[n % 2]
                tech = Technician(
                    code=f"BT{n:03d}", name=f"Bench tech {n}", branch_id=branch.id,
                    home_lat=branch.depot_lat, home_lon=branch.depot_lon,
                )  # fmt: skip
                tech.skills = [TechnicianSkill(skill=skill, level=5) for skill in skills]
                tech.shifts = [ShiftPattern(weekday=d, start=dtime(7), end=dtime(18)) for d in range(7)]
                s.add(tech)
        s.commit()
    db.dispose()
    return url


def run_import(url: str, csv_path: Path, write: bool, entity: str = "customers") -> dict[str, object]:
    command = [str(Path(sys.executable).parent / "dispatch"), "--db", url]
    command += ["import", entity, str(csv_path), "--json", *([] if write else ["--dry-run"])]
    env = {**os.environ, "DISPATCH_LOG_FILE": str(csv_path.with_suffix(".log"))}
    out_path, err_path = csv_path.with_suffix(".out"), csv_path.with_suffix(".err")
    started = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS, not the largest child so far
    seconds = time.perf_counter() - started
    returncode = os.waitstatus_to_exitcode(status)
    if returncode not in (0, 2):
        raise SystemExit(f"import failed ({returncode}): {err_path.read_text()[-2000:]}")
    report = json.loads(out_path.read_text())
    return {
        "seconds": round(seconds, 2),
        "rows_per_second": round(report["rows"] / seconds),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "report": {k: report[k] for k in ("rows", "created", "updated", "unchanged", "rejected", "dry_run")},
        "exit_code": returncode,
    }


def bench_one(tmp: Path, entity: str, rows: int, write: bool) -> dict[str, object]:
    """One file of `rows` rows, imported once; prints a line and returns its figures."""
    csv_path = tmp / f"{entity}-{rows}.csv"
    WRITERS[entity](csv_path, rows)
    url = fresh_database(tmp / f"bench-{entity}-{rows}.sqlite", entity)
    load_before = os.getloadavg()
    result: dict[str, object] = {
        "entity": entity,
        "rows": rows,
        "file_mib": round(csv_path.stat().st_size / 2**20, 1),
        **run_import(url, csv_path, write, entity),
    }
    result["loadavg_before"] = [round(x, 2) for x in load_before]
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"{entity:<12}{rows:>8,} rows ({result['file_mib']} MiB): {result['seconds']:>7.1f} s, "
        f"{result['rows_per_second']:>7,} rows/s, peak RSS {result['peak_rss_mib']} MiB, "
        f"load {result['loadavg_before'][0]} -> {result['loadavg_after'][0]}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--entities", nargs="+", choices=sorted(WRITERS), default=["customers"])
    parser.add_argument("--write", action="store_true", help="land the import instead of a dry run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "import_scale.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="dispatch-import-bench-") as tmp:
        for entity in args.entities:
            for rows in sorted(args.rows):
                results.append(bench_one(Path(tmp), entity, rows, args.write))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "mode": "write" if args.write else "dry-run",
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
