"""The Dynamics 365 connector in real worker processes: killed with SIGKILL mid-run, restarted, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data.actor import Actor
from data.db import Database
from data.models import JobStatus, JobType, Role
from data.models.deliveries import Delivery, DeliveryStatus
from data.models.workforce import Technician
from data.services.completion import CompletionInput, complete_job
from data.services.jobs import JobDraft, add_note, assign_job, change_status, create_job
from tests.factories import DISPATCHER, build_world, local
from tests.integrations.fakes.dynamics365 import DataverseState, running, write_config

DISPATCH = str(Path(sys.executable).parent / "dispatch")
JOBS = 16


def completed_jobs(db: Database, count: int) -> list[str]:
    """`count` short repairs at S1 done by T1 one after another, each with a technician note."""
    build_world(db)
    with db.read() as s:
        tech_id = s.scalar(select(Technician.id).where(Technician.code == "T1"))
    tech = Actor("t1", Role.TECHNICIAN, "api", technician_id=tech_id)
    refs = []
    for n in range(count):
        start = local(8) + timedelta(minutes=25 * n)
        job = create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", f"Repair {n}", 15, created_at=local(7)))
        assign_job(db, DISPATCHER, job.ref, "T1", start)
        change_status(db, DISPATCHER, job.ref, JobStatus.DISPATCHED, at=start)
        change_status(db, tech, job.ref, JobStatus.EN_ROUTE, at=start)
        change_status(db, tech, job.ref, JobStatus.ON_SITE, at=start)
        add_note(db, tech, job.ref, f"note {n}")
        complete_job(
            db,
            tech,
            job.ref,
            CompletionInput(start, start + timedelta(minutes=15), 15, 0, "FIXED", notes=f"done {n}"),
        )
        refs.append(job.ref)
    return refs


def worker(db_url: str, config: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [DISPATCH, "--db", db_url, "worker", "--config", str(config), *args],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if "--once" in args else subprocess.DEVNULL,
    )


def count(db: Database, status: DeliveryStatus) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == status)) or 0)


@pytest.fixture
def slow_dataverse() -> Iterator[tuple[DataverseState, str]]:
    with running(DataverseState(delay=0.02)) as served:
        yield served


def test_worker_killed_mid_run_leaves_one_case_its_notes_once_and_one_close_per_job(
    sqlite_db: Database, slow_dataverse: tuple[DataverseState, str], tmp_path: Path
) -> None:
    state, url = slow_dataverse
    refs = completed_jobs(sqlite_db, JOBS)
    config = write_config(tmp_path, url)
    first = worker(sqlite_db.url, config, "--concurrency", "4", "--worker-id", "doomed")
    deadline = time.time() + 180  # process start-up is slow on a busy machine
    while len(state.rows("incidentresolutions")) < JOBS // 4 and time.time() < deadline:
        assert first.poll() is None, first.communicate()[1].decode()[-3000:]
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    closed_before = len(state.rows("incidentresolutions"))
    assert 0 < closed_before < JOBS, "the kill must land mid-run"
    total = 4 * JOBS  # account, case, note, close per job
    deadline = time.time() + 300
    while count(sqlite_db, DeliveryStatus.DELIVERED) < total and time.time() < deadline:
        time.sleep(0.3)  # dead worker's leases expire; each pass takes what is due
        heir = worker(sqlite_db.url, config, "--once", "--concurrency", "4", "--worker-id", "heir")
        _out, errors = heir.communicate(timeout=180)
        assert heir.returncode == 0, errors.decode()
    assert count(sqlite_db, DeliveryStatus.DELIVERED) == total
    cases = state.rows("incidents")
    assert sorted(c["dsp_jobref"] for c in cases) == sorted(refs)  # one case per job, none twice
    assert all((c["statecode"], c["statuscode"]) == (1, 5) for c in cases)
    assert len(state.rows("accounts")) == 1
    notes = state.rows("annotations")
    # Two notes per job (the technician's and the report's), sent as one change set: both once, never one alone.
    assert sorted(n["_objectid_value"] for n in notes) == sorted(c["incidentid"] for c in cases for _ in (1, 2))
    assert len(state.rows("incidentresolutions")) == JOBS
