"""Console benchmark: start-up, view switches, event-to-screen latency under load, memory.

500 technicians and 5,000 jobs (the demo company at that size, built once into bench/.cache).
The console runs headless (Textual's run_test) on the SQLite file with the real live feed; a
thread changes technicians' status through the data services at a steady rate, and the time from
each commit to the moment the technician's row shows the new status is recorded.

    ./dev run python bench/console.py [--rate 50] [--seconds 10] [--size 160x48]

Targets: start <= 1.5 s, view switch <= 100 ms, update latency p95 <= 250 ms, memory <= 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from data.actor import SYSTEM  # noqa: E402
from data.db import Database, open_database  # noqa: E402
from data.demo import build_demo  # noqa: E402
from data.models import Job, Technician, TechnicianStatus  # noqa: E402
from data.services.technicians import set_technician_status  # noqa: E402
from dispatch_tui.app import DispatchApp  # noqa: E402
from dispatch_tui.context import ConsoleContext  # noqa: E402
from dispatch_tui.feed_source import LiveFeed  # noqa: E402
from dispatch_tui.screens.jobs import JobsScreen  # noqa: E402
from dispatch_tui.screens.technicians import TechniciansScreen  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results" / "console.json"
DAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
TECHNICIANS, JOBS_TODAY, CUSTOMERS, HISTORY_DAYS = 500, 3150, 2500, 1
TARGETS = {"start_s": 1.5, "view_switch_ms": 100.0, "latency_p95_ms": 250.0, "memory_mb": 300.0}


def cached_database() -> Database:
    path = CACHE / f"console-{TECHNICIANS}t-{JOBS_TODAY}j.sqlite"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".building")
        partial.unlink(missing_ok=True)
        db = open_database(f"sqlite:///{partial}")
        print(f"building the demo company once into {path.name} ...", flush=True)
        summary = build_demo(
            db,
            seed=7,
            technicians=TECHNICIANS,
            customers=CUSTOMERS,
            jobs_today=JOBS_TODAY,
            history_days=HISTORY_DAYS,
            today=DAY,
            now=NOW,
        )
        db.dispose()
        partial.rename(path)
        print(f"built in {summary.seconds:.1f} s: {summary.counts}", flush=True)
    return open_database(f"sqlite:///{path}")


def counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {
            "technicians": int(s.scalar(select(func.count()).select_from(Technician)) or 0),
            "jobs": int(s.scalar(select(func.count()).select_from(Job)) or 0),
        }


def largest_branch(db: Database) -> str:
    from data.models import Branch

    with db.read() as s:
        row = s.execute(
            select(Branch.code, func.count(Technician.id))
            .join(Technician, Technician.branch_id == Branch.id)
            .group_by(Branch.code)
            .order_by(func.count(Technician.id).desc())
        ).first()
        assert row is not None
        return str(row[0])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.002) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not met")
        await asyncio.sleep(step)
    return time.perf_counter() - start


class Injector(threading.Thread):
    """Change technicians' status through the service at `rate` per second; remember each commit time."""

    CYCLE = (TechnicianStatus.AVAILABLE, TechnicianStatus.EN_ROUTE, TechnicianStatus.ON_SITE, TechnicianStatus.BREAK)

    def __init__(self, db: Database, codes: list[str], rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.db, self.codes, self.rate, self.seconds = db, codes, rate, seconds
        self.commits: list[tuple[str, str, float]] = []  # (code, status label, perf_counter after commit)
        self.lock = threading.Lock()

    def run(self) -> None:
        start = time.perf_counter()
        n = int(self.rate * self.seconds)
        for i in range(n):
            due = start + i / self.rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            code = self.codes[i % len(self.codes)]
            status = self.CYCLE[(i // len(self.codes)) % len(self.CYCLE)]
            set_technician_status(self.db, SYSTEM, code, status)
            with self.lock:
                self.commits.append((code, status.value.replace("_", " "), time.perf_counter()))


async def run(rate: float, seconds: float, size: tuple[int, int]) -> dict[str, Any]:
    db = cached_database()
    sizes = counts(db)
    branch = largest_branch(db)
    ctx = ConsoleContext(db, SYSTEM, branch, DAY, clock=lambda: NOW)
    t0, c0 = time.perf_counter(), time.process_time()
    app = DispatchApp(ctx, LiveFeed(db, poll_interval=0.05))
    result: dict[str, Any] = {"sizes": sizes, "branch": branch, "terminal": f"{size[0]}x{size[1]}"}
    async with app.run_test(size=size) as pilot:
        await wait_for(lambda: isinstance(app.screen, TechniciansScreen) and app.screen.loaded.is_set())
        await pilot.pause()
        result["start_s"] = round(time.perf_counter() - t0, 3)
        result["start_cpu_s"] = round(time.process_time() - c0, 3)
        print(f"started in {result['start_s']} s", flush=True)
        techs = app.screen
        assert isinstance(techs, TechniciansScreen)
        result["technician_rows"] = techs.table.row_count

        # View switches: the first visit to the jobs queue loads it; later switches reuse the view.
        t = time.perf_counter()
        await pilot.press("2")
        await wait_for(lambda: isinstance(app.screen, JobsScreen) and app.screen.loaded.is_set())
        await pilot.pause()
        result["first_jobs_view_ms"] = round((time.perf_counter() - t) * 1000, 1)
        jobs = app.screen
        assert isinstance(jobs, JobsScreen)
        result["job_rows"] = jobs.table.row_count
        print(f"jobs view first shown in {result['first_jobs_view_ms']} ms", flush=True)
        switches, cpu = [], []
        for key, cls in (("1", TechniciansScreen), ("2", JobsScreen)) * 5:
            t, c = time.perf_counter(), time.process_time()
            await pilot.press(key)
            await wait_for(lambda cls=cls: isinstance(app.screen, cls))  # type: ignore[misc]
            await pilot.pause()
            switches.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        result["view_switch_ms"] = {
            "median": round(statistics.median(switches), 1),
            "max": round(max(switches), 1),
            "cpu_median": round(statistics.median(cpu), 1),
        }
        print(f"view switches: {result['view_switch_ms']}", flush=True)
        await pilot.press("1")
        await wait_for(lambda: isinstance(app.screen, TechniciansScreen))

        # Event-to-screen latency with the technicians view showing, under `rate` events per second.
        table = techs.table
        # Absent technicians show "absent" whatever their status: change the others.
        codes = [k for k in table.all_keys if table.get_row(k)[1].plain != "absent"][:200]
        injector = Injector(db, codes, rate, seconds)
        latencies: list[float] = []
        pending: dict[str, tuple[str, float]] = {}
        seen = 0
        injector.start()
        deadline = time.perf_counter() + seconds + 10
        while time.perf_counter() < deadline:
            with injector.lock:
                fresh = injector.commits[seen:]
                seen = len(injector.commits)
            for code, label, at in fresh:
                pending[code] = (label, at)  # a later change of the same row supersedes the earlier
            for code, (label, at) in list(pending.items()):
                if code in table.rows and table.get_row(code)[1].plain == label:
                    latencies.append(time.perf_counter() - at)
                    del pending[code]
            if not injector.is_alive() and not pending:
                break
            await asyncio.sleep(0.002)
        injector.join()
        latencies.sort()
        result["latency"] = {
            "events": len(injector.commits),
            "rate_per_s": rate,
            "observed": len(latencies),
            "never_shown": len(pending),
            "median_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
            "max_ms": round(latencies[-1] * 1000, 1),
            "ticks": app.ticks_applied,
        }
    result["memory_mb"] = round(rss_mb(), 1)
    result["memory_kind"] = "peak RSS of the whole process (console, database driver, injector)"
    result["verdict"] = {
        "start": result["start_s"] <= TARGETS["start_s"],
        "view_switch": result["view_switch_ms"]["median"] <= TARGETS["view_switch_ms"],
        "latency_p95": result["latency"]["p95_ms"] <= TARGETS["latency_p95_ms"],
        "memory": result["memory_mb"] <= TARGETS["memory_mb"],
    }
    result["targets"] = TARGETS
    result["python"] = platform.python_version()
    result["cpus"] = os.cpu_count()
    result["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second injected")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to inject")
    parser.add_argument("--size", default="160x48", help="terminal size WxH")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    result = asyncio.run(run(args.rate, args.seconds, (width, height)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
