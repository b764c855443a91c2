"""Group commit for position pings: requests that arrive while a batch is being written go in the next one.

A thousand phones pinging each second would otherwise be a thousand transactions, each waiting its
turn on the event log's lock. One writer task per server process takes whatever has queued, writes it
in one transaction (data.services.positions) on a worker thread, and answers every request; nothing
waits on a timer, so a lone ping is written at once.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from data.db import Database
from data.services.positions import Outcome, PingRequest, record_ping_batch

MAX_BATCH = 1000


class PingWriter:
    def __init__(self, db: Database, lock: AbstractContextManager[Any] | None = None) -> None:
        """`lock`: what every writer of this process takes (SQLite's one-writer lock, PostgreSQL's slots)."""
        self.db = db
        self.lock = lock
        self._pending: list[tuple[PingRequest, asyncio.Future[Outcome]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ensure_running(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            # A new event loop (a test client per request, a reloaded server) gets its own writer.
            self._loop, self._wake = loop, asyncio.Event()
            self._task = loop.create_task(self._run(), name="ping-writer")
        assert self._wake is not None
        return self._wake

    async def submit(self, request: PingRequest) -> Outcome:
        wake = self._ensure_running()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        wake.set()
        return await future

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    outcomes = await asyncio.to_thread(self._write, [r for r, _ in batch])
                except Exception as err:  # the database is away: every request in the batch hears it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(err)
                    continue
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)

    def _write(self, requests: list[PingRequest]) -> list[Outcome]:
        guard: Any = self.lock if self.lock is not None else nullcontext()
        with guard:
            return record_ping_batch(self.db, requests)
