"""The live feed wakes a subscriber on each commit, on SQLite (poll) and PostgreSQL (NOTIFY)."""

from __future__ import annotations

import asyncio

import pytest

from data import feed
from data.db import Database
from data.feed import last_seq, subscribe, tail
from data.models import JobType
from data.services.jobs import JobDraft, add_note, create_job
from tests.factories import DISPATCHER, build_world

WAIT_SECONDS = 60.0
"""How long a test waits for what must happen: long enough for any load, reached only when something is broken."""


async def test_subscriber_wakes_on_each_commit(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each commit reaches a subscriber. On PostgreSQL the safety poll is set to an hour, so an event arriving
    within the wait can only have come through NOTIFY; on SQLite the poll is the mechanism (every 0.1 s).
    The waits are on the events arriving, never a latency budget a loaded machine could blow."""
    monkeypatch.setattr(feed, "SAFETY_POLL_SECONDS", 3600.0)
    build_world(db)
    ref = (await asyncio.to_thread(create_job, db, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "No heat", 60))).ref
    start_seq = last_seq(db)
    received: list[int] = []
    arrived = asyncio.Event()

    async def listen() -> None:
        async for batch in subscribe(db, after_seq=start_seq):
            received.extend(event.seq for event in batch)
            arrived.set()
            if len(received) >= 3:
                return

    task = asyncio.create_task(listen())
    for i in range(3):
        committed = await asyncio.to_thread(add_note, db, DISPATCHER, ref, f"note {i}")
        assert committed.id
        while len(received) <= i:  # each note is seen before the next is written
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), WAIT_SECONDS)
    await asyncio.wait_for(task, WAIT_SECONDS)
    assert received == [e.seq for e in tail(db, start_seq)]


def test_tail_filters_and_pages(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    for i in range(5):
        create_job(sqlite_db, DISPATCHER, JobDraft(JobType.INSPECTION, "S2", f"Check {i}", 30))
    events = tail(sqlite_db, 0, limit=3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert all(e.type == "job.created" and e.actor == "dana" for e in tail(sqlite_db, 3))
    assert tail(sqlite_db, 0, types=["job.assigned"]) == []
