"""Assigning a job someone already assigned is a conflict unless the caller meant it (its version, or reassign)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import data.services.jobs as job_services
from data.actor import Actor
from data.db import Database
from data.errors import AlreadyAssigned, Conflict, DispatchError
from data.models import JobType, Role
from data.services.jobs import JobDraft, assign_job, create_job
from tests.factories import DISPATCHER, build_world, local

DARIO = Actor("dario", Role.DISPATCHER, "cli")


def _job(db: Database) -> str:
    return create_job(db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "No heat", 60, skills={"hvac": 1})).ref


def test_assigning_an_assigned_job_names_who_assigned_it_and_when(db: Database) -> None:
    build_world(db)
    ref = _job(db)
    first = assign_job(db, DISPATCHER, ref, "T1", local(9)).job
    with pytest.raises(AlreadyAssigned) as refused:
        assign_job(db, DARIO, ref, "T3", local(10))
    error = refused.value
    assert error.exit_code == 3
    assert error.changed_by == "dana" and error.changed_at is not None and error.version == first.version
    assert f"job {ref} is already assigned to T1 by dana at 20" in error.message
    with db.read() as s:
        assert job_services.find_job(s, ref).technician_id == first.technician_id


def test_an_expected_version_or_reassign_moves_it(db: Database) -> None:
    build_world(db)
    ref = _job(db)
    version = assign_job(db, DISPATCHER, ref, "T1", local(9)).job.version
    moved = assign_job(db, DARIO, ref, "T3", local(10), expected_version=version).job
    assert assign_job(db, DARIO, ref, "T1", local(11), reassign=True).job.version == moved.version + 1


def test_two_concurrent_assigns_of_one_job_exactly_one_wins(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both callers read the job unassigned; the loser gets a conflict (exit 3), never a silent overwrite.

    On PostgreSQL both really are inside their transactions at once (a barrier after the read); SQLite writers queue
    on the write lock, so there the second one reads the first one's assignment.
    """
    build_world(db)
    ref = _job(db)
    if db.dialect == "postgresql":
        barrier = threading.Barrier(2, timeout=30)
        real: Callable[..., Any] = job_services.find_technician

        def find_technician_after_both_read(*args: Any) -> Any:
            barrier.wait()
            return real(*args)

        monkeypatch.setattr(job_services, "find_technician", find_technician_after_both_read)
    outcomes: dict[str, object] = {}

    def assign(who: Actor, tech: str) -> None:
        try:
            outcomes[who.login] = assign_job(db, who, ref, tech, local(9)).technician.code
        except DispatchError as e:
            outcomes[who.login] = e

    threads = [threading.Thread(target=assign, args=a) for a in ((DISPATCHER, "T1"), (DARIO, "T3"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [who for who, o in outcomes.items() if isinstance(o, str)]
    lost = [o for o in outcomes.values() if not isinstance(o, str)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], Conflict) and lost[0].exit_code == 3
    assert lost[0].changed_by == won[0]
    with db.read() as s:
        assert job_services.find_job(s, ref).technician_id is not None
