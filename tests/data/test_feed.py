"""The live feed wakes a subscriber within 250 ms of a commit, on SQLite (poll) and PostgreSQL (NOTIFY)."""

from __future__ import annotations

import asyncio
import time

from data.db import Database
from data.feed import last_seq, subscribe, tail
from data.models import JobType
from data.services.jobs import JobDraft, add_note, create_job
from tests.factories import DISPATCHER, build_world


async def test_subscriber_wakes_quickly_after_commit(db: Database) -> None:
    build_world(db)
    ref = (await asyncio.to_thread(create_job, db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "No heat", 60))).ref
    start_seq = last_seq(db)
    received: list[tuple[float, int]] = []

    async def listen() -> None:
        async for batch in subscribe(db, after_seq=start_seq):
            for event in batch:
                received.append((time.perf_counter(), event.seq))
            if len(received) >= 3:
                return

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.3)  # let the subscriber settle (LISTEN registered / first poll done)
    latencies = []
    for i in range(3):
        committed = await asyncio.to_thread(add_note, db, DISPATCHER, ref, f"note {i}")
        t_commit = time.perf_counter()
        assert committed.id
        while len(received) <= i:
            await asyncio.sleep(0.005)
        latencies.append(received[i][0] - t_commit)
        await asyncio.sleep(0.05)
    await asyncio.wait_for(task, 2)
    assert [seq for _, seq in received] == [e.seq for e in tail(db, start_seq)]
    assert max(latencies) < 0.25, latencies


def test_tail_filters_and_pages(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    for i in range(5):
        create_job(sqlite_db, DISPATCHER, JobDraft(JobType.INSPECTION, "S2", f"Check {i}", 30))
    events = tail(sqlite_db, 0, limit=3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert all(e.type == "job.created" and e.actor == "dana" for e in tail(sqlite_db, 3))
    assert tail(sqlite_db, 0, types=["job.assigned"]) == []
