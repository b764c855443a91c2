"""`dispatch jobs assign` never silently overwrites another dispatcher's assignment."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from data.db import Database
from data.models import JobType
from data.services.jobs import JobDraft, create_job, find_job
from dispatch_tui.cli.main import app
from tests.factories import DISPATCHER, build_world

DISPATCH = str(Path(sys.executable).parent / "dispatch")
DAY = "2026-11-25"
runner = CliRunner()


def assign(database: Database, ref: str, tech: str, *extra: str, who: str = "dana") -> Result:
    args = ["--db", database.url, "--as", who, "jobs", "assign", ref, tech, "--date", DAY, *extra]
    return runner.invoke(app, args)


def _job(database: Database, summary: str = "No heat") -> str:
    draft = JobDraft(JobType.REPAIR, "S1", summary, 60, skills={"hvac": 1})
    return create_job(database, DISPATCHER, draft).ref


def test_assigning_an_assigned_job_exits_3_naming_who_and_when(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref = _job(sqlite_db)
    first = assign(sqlite_db, ref, "T1", "--start", "09:00", "--json")
    assert first.exit_code == 0, first.output
    version = json.loads(first.stdout)["version"]
    refused = assign(sqlite_db, ref, "T3", "--start", "10:00", who="ada")
    assert refused.exit_code == 3, refused.output
    message = " ".join(refused.stderr.split())
    assert re.search(rf"job {ref} is already assigned to T1 by dana at \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC", message)
    assert f"--expected-version {version} or --reassign" in message
    with sqlite_db.read() as s:
        assert find_job(s, ref).planned_start is not None and find_job(s, ref).version == version


def test_expected_version_or_reassign_moves_it_and_pins_still_work(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    ref, other = _job(sqlite_db), _job(sqlite_db, "Leak")
    version = json.loads(assign(sqlite_db, ref, "T1", "--start", "09:00", "--json").stdout)["version"]
    moved = assign(sqlite_db, ref, "T3", "--start", "13:00", "--expected-version", str(version), "--pin")
    assert moved.exit_code == 0, moved.output
    stale = assign(sqlite_db, ref, "T1", "--start", "09:00", "--expected-version", str(version))
    assert stale.exit_code == 3 and "changed by dana" in stale.stderr
    assert assign(sqlite_db, other, "T3", "--start", "15:00").exit_code == 0
    assert assign(sqlite_db, other, "T3", "--start", "13:30", "--pin").exit_code == 3
    overlapping = assign(sqlite_db, other, "T3", "--start", "13:30", "--pin", "--reassign")
    assert overlapping.exit_code == 2 and ref in overlapping.stderr  # --reassign is no licence to overlap pins
    forced = assign(sqlite_db, other, "T3", "--start", "13:30", "--pin", "--reassign", "--force")
    assert forced.exit_code == 0, forced.output


def _race(url: str, ref: str) -> list[subprocess.CompletedProcess[str]]:
    """Two dispatchers' `jobs assign` of one job started together, as separate processes."""
    procs = [
        subprocess.Popen(
            [DISPATCH, "--db", url, "--as", who, "jobs", "assign", ref, tech, "--start", "09:00", "--date", DAY],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who, tech in (("dana", "T1"), ("ada", "T3"))
    ]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def test_two_concurrent_cli_assigns_one_wins_the_other_exits_3(db: Database) -> None:
    build_world(db)
    ref = _job(db)
    results = _race(db.url, ref)
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 3], [(r.returncode, r.stderr) for r in results]
    loser = next(r for r in results if r.returncode == 3)
    assert "Traceback" not in loser.stderr and ref in loser.stderr
