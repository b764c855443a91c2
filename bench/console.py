"""Console benchmark: start-up, view switches, event-to-screen latency under load, memory, and the
dispatcher's slow keys: suggestions, opening a job, keys while a re-plan computes, `dispatch console`
to its first screen.

500 technicians and 5,000 jobs (the demo company at that size, built once into bench/.cache).
The console runs headless (Textual's run_test) on the SQLite file with the real live feed; a
thread changes technicians' status through the data services at a steady rate, and the time from
each commit to the moment the technician's row shows the new status is recorded.

    ./dev run python bench/console.py [--rate 50] [--seconds 10] [--size 160x48] [--repeat 5] [--only keys]

Targets: start <= 1.5 s, view switch <= 100 ms, update latency p95 <= 250 ms, memory <= 300 MB;
suggestions dialog visible <= 100 ms and ranked answer <= 1 s, open a job <= 150 ms, key-to-screen p95
<= 50 ms while a re-plan computes, `dispatch console` to first screen <= 2 s. Each is the median of
`--repeat` runs with the CPU time of this process beside it (a search's own CPU is in the solver process).
`--only keys` measures just the slow keys and the start (`--solver thread` runs searches in a thread, as
before the solver process, for the comparison).
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
KEYS_RESULTS = ROOT / "bench" / "results" / "console_keys.json"
DAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
TECHNICIANS, JOBS_TODAY, CUSTOMERS, HISTORY_DAYS = 500, 3150, 2500, 1
TARGETS = {
    "start_s": 1.5,
    "view_switch_ms": 100.0,
    "latency_p95_ms": 250.0,
    "memory_mb": 300.0,
    "suggest_dialog_ms": 100.0,
    "suggest_answer_ms": 1000.0,
    "open_job_ms": 150.0,
    "key_during_replan_p95_ms": 50.0,
    "console_first_screen_s": 2.0,
}


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


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _median_figure(walls: list[float], cpus: list[float]) -> dict[str, float]:
    return {
        "median_ms": _ms(statistics.median(walls)),
        "max_ms": _ms(max(walls)),
        "cpu_median_ms": _ms(statistics.median(cpus)),
        "runs": len(walls),
    }


def open_jobs(db: Database, branch: str, n: int) -> list[str]:
    """Refs of `n` unassigned jobs of the branch, to ask suggestions for."""
    from data.models import Branch
    from data.models.jobs import JobStatus

    with db.read() as s:
        branch_id = s.scalar(select(Branch.id).where(Branch.code == branch))
        query = select(Job.ref).where(
            Job.branch_id == branch_id, Job.status == JobStatus.NEW, Job.technician_id.is_(None)
        )
        return list(s.scalars(query.order_by(Job.ref).limit(n)))


def _settled(dialog: Any) -> bool:
    """The dialog has its answer, or its failure, in place."""
    return bool(getattr(dialog, "settled", False) or str(dialog.query_one("#error").render()).strip())


async def _press_on(pilot: Any, jobs: JobsScreen, ref: str, key: str) -> tuple[float, float, asyncio.Task[None]]:
    """Put the cursor on `ref`, then press `key` without waiting for the console to go idle (a search in
    the background keeps it busy): returns the wall and CPU clocks at the press, and the press itself."""
    jobs.table.move_cursor(row=jobs.table.get_row_index(ref))
    await pilot.pause()
    t, c = time.perf_counter(), time.process_time()
    return t, c, asyncio.create_task(pilot.press(key))


async def keys(size: tuple[int, int], repeat: int, solver_kind: str) -> dict[str, Any]:
    """Suggestions (dialog visible, ranked answer), opening a job, and keys while a re-plan computes."""
    from dispatch_tui import actions
    from dispatch_tui.screens.job_detail import JobDetailScreen
    from dispatch_tui.screens.suggestions import SuggestionsScreen

    db = cached_database()
    branch = largest_branch(db)
    ctx = ConsoleContext(db, SYSTEM, branch, DAY, clock=lambda: NOW)
    if solver_kind == "process":
        from dispatch_tui.context import console_solver

        ctx.solver = console_solver()
    app = DispatchApp(ctx, LiveFeed(db, poll_interval=0.05), start_view="jobs")
    out: dict[str, Any] = {"solver": solver_kind}
    refs = open_jobs(db, branch, repeat)
    async with app.run_test(size=size) as pilot:
        await wait_for(lambda: isinstance(app.screen, JobsScreen) and app.screen.loaded.is_set(), timeout=120)
        jobs = app.screen
        assert isinstance(jobs, JobsScreen)
        if ctx.solver is not None:
            await asyncio.to_thread(ctx.solver.start)  # warm, as after the console's first view
        shown, answered, shown_cpu, answered_cpu = [], [], [], []
        for ref in refs:
            t, c, press = await _press_on(pilot, jobs, ref, "s")
            await wait_for(lambda: isinstance(app.screen, SuggestionsScreen) and app.screen.is_mounted)
            shown.append(time.perf_counter() - t)
            shown_cpu.append(time.process_time() - c)
            dialog = app.screen
            assert isinstance(dialog, SuggestionsScreen)
            await wait_for(lambda d=dialog: bool(d.suggestions) or _settled(d), timeout=120)  # type: ignore[misc]
            answered.append(time.perf_counter() - t)
            answered_cpu.append(time.process_time() - c)
            await press
            await pilot.press("escape")
            await wait_for(lambda: app.screen is jobs)
        out["suggest_dialog"] = _median_figure(shown, shown_cpu)
        out["suggest_answer"] = _median_figure(answered, answered_cpu)
        print(f"suggestions: dialog {out['suggest_dialog']}, answer {out['suggest_answer']}", flush=True)

        opened, opened_cpu = [], []
        for ref in refs:
            t, c, press = await _press_on(pilot, jobs, ref, "enter")
            await wait_for(lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded.is_set())
            opened.append(time.perf_counter() - t)
            opened_cpu.append(time.process_time() - c)
            await press
            await pilot.press("escape")
            await wait_for(lambda: app.screen is jobs)
        out["open_job"] = _median_figure(opened, opened_cpu)
        print(f"open a job: {out['open_job']}", flush=True)

        # Keys while a re-plan of the whole branch computes (the search as `R` runs it, here behind the
        # queue so that each key's effect, the cursor moving, can be seen).
        jobs.table.move_cursor(row=0)
        await pilot.pause()
        done = threading.Event()

        def replan() -> None:
            try:
                actions.propose_replan(ctx, None, time_limit=5.0)
            finally:
                done.set()

        threading.Thread(target=replan, daemon=True).start()
        await asyncio.sleep(1.0)  # past loading the day: into the search itself
        latencies, latency_cpu = [], []
        step = 0
        while not done.is_set() and step < 200:
            key, move = ("down", 1) if (step // 10) % 2 == 0 else ("up", -1)
            row = jobs.table.cursor_row
            t, c = time.perf_counter(), time.process_time()
            await pilot.press(key)
            await wait_for(lambda r=row, m=move: jobs.table.cursor_row == r + m)  # type: ignore[misc]
            await pilot.pause()
            latencies.append(time.perf_counter() - t)
            latency_cpu.append(time.process_time() - c)
            step += 1
        await asyncio.to_thread(done.wait)
        latencies.sort()
        out["key_during_replan"] = {
            "keys": len(latencies),
            "median_ms": _ms(statistics.median(latencies)) if latencies else None,
            "p95_ms": _ms(latencies[max(0, int(len(latencies) * 0.95) - 1)]) if latencies else None,
            "max_ms": _ms(latencies[-1]) if latencies else None,
            "cpu_median_ms": _ms(statistics.median(latency_cpu)) if latency_cpu else None,
        }
        print(f"keys while a re-plan computes: {out['key_during_replan']}", flush=True)
    if getattr(ctx, "solver", None) is not None:
        ctx.solver.close()
    db.dispose()
    return out


FIRST_SCREEN_PROBE = """
import resource, sys, asyncio
sys.path.insert(0, {root!r})
from dispatch_tui.cli import main  # what `dispatch console` imports, in its order
from dispatch_tui.cli.commands import console
from dispatch_tui.app import DispatchApp
from dispatch_tui.feed_source import LiveFeed
from dispatch_tui.screens.technicians import TechniciansScreen
from datetime import date, datetime
from data.actor import SYSTEM
from data.db import open_database
from dispatch_tui.context import ConsoleContext

async def first_screen():
    db = open_database({url!r})
    now = datetime.fromisoformat({now!r})
    ctx = ConsoleContext(db, SYSTEM, {branch!r}, date.fromisoformat({day!r}), clock=lambda: now)
    try:  # the console makes its solver process before the app (absent before there was one)
        from dispatch_tui.context import console_solver
        ctx.solver = console_solver()
    except ImportError:
        pass
    app = DispatchApp(ctx, LiveFeed(db))
    async with app.run_test(size=(160, 48)) as pilot:
        while not (isinstance(app.screen, TechniciansScreen) and app.screen.loaded.is_set()):
            await asyncio.sleep(0.005)
        await pilot.pause()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print("ready", usage.ru_utime + usage.ru_stime, flush=True)
        app.exit()

asyncio.run(first_screen())
"""


def console_first_screen(runs: int) -> dict[str, Any]:
    """`dispatch console` to its first filled screen: a fresh interpreter importing what the command does,
    the app headless (no terminal), timed from the process's launch to the technicians view filled."""
    import subprocess

    db = cached_database()
    branch, url = largest_branch(db), db.url
    db.dispose()
    probe = FIRST_SCREEN_PROBE.format(root=str(ROOT), url=url, branch=branch, day=DAY.isoformat(), now=NOW.isoformat())
    walls, cpus = [], []
    for _ in range(runs):
        t = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", probe],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("ready"):
                walls.append(time.perf_counter() - t)
                cpus.append(float(line.split()[1]))
                break
        child.wait()
    return {
        "median_s": round(statistics.median(walls), 3),
        "max_s": round(max(walls), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second injected")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to inject")
    parser.add_argument("--size", default="160x48", help="terminal size WxH")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each slow key (medians)")
    parser.add_argument("--only", choices=("all", "keys"), default="all", help="keys: the slow keys and the start")
    parser.add_argument("--solver", choices=("process", "thread"), default="process", help="where searches run")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    load_before = round(os.getloadavg()[0], 2)
    result: dict[str, Any] = {}
    if args.only == "all":
        result = asyncio.run(run(args.rate, args.seconds, (width, height)))
    result["keys"] = asyncio.run(keys((width, height), args.repeat, args.solver))
    result["console_first_screen"] = console_first_screen(max(3, args.repeat // 2))
    print(f"dispatch console to first screen: {result['console_first_screen']}", flush=True)
    k = result["keys"]
    result.setdefault("verdict", {}).update(
        {
            "suggest_dialog": k["suggest_dialog"]["median_ms"] <= TARGETS["suggest_dialog_ms"],
            "suggest_answer": k["suggest_answer"]["median_ms"] <= TARGETS["suggest_answer_ms"],
            "open_job": k["open_job"]["median_ms"] <= TARGETS["open_job_ms"],
            "key_during_replan": (k["key_during_replan"]["p95_ms"] or 0) <= TARGETS["key_during_replan_p95_ms"],
            "console_first_screen": result["console_first_screen"]["median_s"] <= TARGETS["console_first_screen_s"],
        }
    )
    result["targets"] = TARGETS
    result["load_average_1m_before"] = load_before
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    result["cpus"] = os.cpu_count()
    target = RESULTS if args.only == "all" else KEYS_RESULTS.with_name(f"console_keys_{args.solver}.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"written to {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
