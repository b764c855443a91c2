"""The one background task that tails the event log and hands batches to the console.

`LiveFeed` follows `data.feed.subscribe` (polling on SQLite, LISTEN/NOTIFY on PostgreSQL) and posts
`EventsArrived` and `FeedStateChanged` through the `post` callable it is given (the app's
`post_message`). `FakeFeed` lets tests inject events by hand and never touches the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from textual.message import Message

from data.db import Database
from data.feed import EventRecord, last_seq, subscribe
from dispatch_tui.messages import EventsArrived, FeedState, FeedStateChanged

Post = Callable[[Message], object]


class FeedSource(Protocol):
    """Something the app runs once, in the background, for as long as it lives."""

    async def run(self, post: Post) -> None: ...


class LiveFeed:
    """Tail the database's event log from `after_seq` (default: the newest event at start)."""

    def __init__(
        self, db: Database, after_seq: int | None = None, poll_interval: float = 0.1, retry_seconds: float = 2.0
    ) -> None:
        self.db = db
        self.after_seq = after_seq
        self.poll_interval = poll_interval
        self.retry_seconds = retry_seconds

    async def run(self, post: Post) -> None:
        post(FeedStateChanged(FeedState("connecting")))
        cursor = self.after_seq if self.after_seq is not None else await asyncio.to_thread(last_seq, self.db)
        while True:
            post(FeedStateChanged(FeedState("live", cursor)))
            try:
                async for batch in subscribe(self.db, cursor, self.poll_interval):
                    cursor = batch[-1].seq
                    post(EventsArrived(batch))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the database went away: say so, then retry from where we were
                post(FeedStateChanged(FeedState("error", cursor, f"{type(e).__name__}: {e}")))
                await asyncio.sleep(self.retry_seconds)


class FakeFeed:
    """A feed driven by the test: `push(events)` delivers a batch as the live feed would."""

    def __init__(self, last_seq: int = 0) -> None:
        self.last_seq = last_seq
        self._post: Post | None = None
        self._ready = asyncio.Event()

    async def run(self, post: Post) -> None:
        self._post = post
        post(FeedStateChanged(FeedState("fake", self.last_seq)))
        self._ready.set()
        await asyncio.Event().wait()

    async def push(self, events: list[EventRecord]) -> None:
        await self._ready.wait()
        assert self._post is not None
        if events:
            self.last_seq = events[-1].seq
        self._post(EventsArrived(events))
