"""The delivery worker loop: plan new events, lease due deliveries, send them concurrently, record answers.

At-least-once: a delivery is marked delivered only after the receiver acknowledged it, so a crash
between the two means one more send, which the stable idempotency key makes harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import random
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from data.db import Database
from data.models.base import utcnow
from integrations.config import IntegrationsConfig
from integrations.connector import Outcome, SendResult
from integrations.delivery.backoff import Uniform
from integrations.delivery.breaker import RateLimit
from integrations.delivery.claims import Claimed, claim_due, extend_leases, next_due_at, record_and_claim
from integrations.delivery.codec import decode_request
from integrations.delivery.planner import PlannedConnector, plan_connector
from integrations.http_transport import keep_alive_client
from integrations.pulls import pull_due
from integrations.registry import build_connector
from integrations.token_vault import sealed_lookup, share_tokens

PULL_CHECK_SECONDS = 5.0

# httpcore tries `import sniffio` on every request; when it is not installed, each failed import
# searches the whole sys.path, which doubled the worker's CPU per delivery. Recording the module as
# absent once gives httpcore the same answer (asyncio) without the search.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]


@dataclass
class WorkerStats:
    rounds: int = 0
    planned: int = 0
    sent: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    pulls: int = 0
    pull_errors: int = 0

    def add(self, counts: Mapping[str, int]) -> None:
        for k, v in counts.items():
            self.by_status[k] = self.by_status.get(k, 0) + v


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"[:64]


def build_connectors(config: IntegrationsConfig) -> dict[str, PlannedConnector]:
    return {c.name: PlannedConnector(build_connector(c), c) for c in config.enabled()}


def rate_limits(connectors: Mapping[str, PlannedConnector]) -> dict[str, RateLimit]:
    """Each connector's rate limit: `rate_limit_per_minute` (and `rate_limit_burst`), else the vendor's quota."""
    rates: dict[str, RateLimit] = {}
    for name, p in connectors.items():
        per_minute = p.config.setting("rate_limit_per_minute", getattr(p.connector, "rate_limit_per_minute", None))
        if per_minute in (None, 0):
            continue
        burst = p.config.setting("rate_limit_burst", max(1.0, float(per_minute) / 6))
        rates[name] = RateLimit(float(per_minute), float(burst))
    return rates


class Worker:
    def __init__(
        self,
        db: Database,
        config: IntegrationsConfig,
        *,
        worker_id: str | None = None,
        concurrency: int = 8,
        connectors: Mapping[str, PlannedConnector] | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        uniform: Uniform = random.uniform,
    ) -> None:
        self.db = db
        config = config.with_sealed(sealed_lookup(db))
        self.config = config
        self.settings = config.delivery
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = max(1, concurrency)
        self.connectors = dict(connectors) if connectors is not None else build_connectors(config)
        share_tokens(db, (p.connector for p in self.connectors.values()))
        self.rates = rate_limits(self.connectors)
        self._client = client
        self.clock = clock
        self.uniform = uniform
        self.stats = WorkerStats()
        self._pulls_checked: datetime | None = None

    async def run_round(self, client: httpx.AsyncClient) -> int:
        """One plan + claim + send + record pass (until nothing is due); returns how many were sent."""
        await self._plan(client)
        sent = await self._deliver(client)
        self.stats.rounds += 1
        return sent

    async def _plan(self, client: httpx.AsyncClient) -> None:
        planned = 0
        for p in self.connectors.values():
            planned += await asyncio.to_thread(plan_connector, self.db, p, self.settings.plan_batch, self.clock())
        self.stats.planned += planned
        await self._pull_due(client)

    async def _deliver(self, client: httpx.AsyncClient) -> int:
        """Keep every send slot busy: lease one delivery per free slot, record each answer as it comes.

        Nothing waits for a slot while holding a lease, and a heartbeat extends the leases of the
        requests in flight, so a slow receiver never lets another worker take (and resend) them.
        """
        running: dict[asyncio.Task[SendResult], Claimed] = {}
        sent = 0
        since_plan = 0
        connectors = list(self.connectors)
        heartbeat = asyncio.create_task(self._heartbeat(running))
        try:
            now = self.clock()
            claimed = await asyncio.to_thread(
                claim_due, self.db, self.worker_id, connectors, now, self.concurrency, self.settings, self.rates
            )
            while True:
                for c in claimed:
                    running[asyncio.create_task(self._send(c, client))] = c
                since_plan += len(claimed)
                if since_plan >= self.settings.batch_size:
                    since_plan = 0  # a long backlog: keep planning new events meanwhile
                    await self._plan(client)
                if not running:
                    return sent
                done, _pending = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                results = [(running.pop(t), t.result()) for t in done]
                counts, claimed = await asyncio.to_thread(
                    record_and_claim,
                    self.db,
                    self.worker_id,
                    results,
                    self.clock(),
                    self.settings,
                    self.uniform,
                    connectors,
                    self.concurrency - len(running),
                    self.rates,
                )
                sent += len(results)
                self.stats.sent += len(results)
                self.stats.add(counts)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, running: Mapping[asyncio.Task[SendResult], Claimed]) -> None:
        every = max(0.05, self.settings.lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            ids = [c.id for c in running.values()]
            if ids:
                until = self.clock() + timedelta(seconds=self.settings.lease_seconds)
                await asyncio.to_thread(extend_leases, self.db, self.worker_id, ids, until)

    async def _pull_due(self, client: httpx.AsyncClient) -> None:
        """Run the connectors' scheduled pulls (integrations.pulls), looking at most every few seconds."""
        now = self.clock()
        if self._pulls_checked is not None and (now - self._pulls_checked).total_seconds() < PULL_CHECK_SECONDS:
            return
        self._pulls_checked = now
        connectors = {name: (p.connector, p.config) for name, p in self.connectors.items()}
        for outcome in await pull_due(self.db, connectors, client, now):
            self.stats.pulls += 1
            self.stats.pull_errors += len(outcome.errors)

    async def _send(self, claimed: Claimed, client: httpx.AsyncClient) -> SendResult:
        planned = self.connectors.get(claimed.connector)
        if planned is None or claimed.request is None:
            return SendResult(Outcome.FAILED, message="no request to send (connector removed or mapping failed)")
        request = decode_request(claimed.request)
        try:
            # The heartbeat keeps the lease while we wait; this bounds a connector that never answers.
            limit = self.settings.request_timeout_seconds + 5
            return await asyncio.wait_for(planned.connector.send(request, client), timeout=limit)
        except TimeoutError:
            return SendResult(Outcome.RETRY, message="timed out waiting for the receiver")
        except Exception as e:  # a connector bug must not take the worker down: retry, then dead-letter
            return SendResult(Outcome.RETRY, message=f"connector raised {type(e).__name__}: {e}")

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> WorkerStats:
        """Loop until `stop` is set; with `once`, until nothing is left to plan or due now."""
        stop = stop or asyncio.Event()
        timeout = httpx.Timeout(self.settings.request_timeout_seconds)
        # One pooled keep-alive client for every request of the run (connectors, pulls, token refreshes).
        client = self._client or keep_alive_client(timeout, self.concurrency)
        try:
            while not stop.is_set():
                before = self.stats.planned
                sent = await self.run_round(client)
                if sent or self.stats.planned > before:
                    continue
                if once:
                    break
                await self._idle(stop)
        finally:
            if self._client is None:
                await client.aclose()
        return self.stats

    async def _idle(self, stop: asyncio.Event) -> None:
        wait = self.settings.poll_seconds
        due = await asyncio.to_thread(next_due_at, self.db, list(self.connectors))
        if due is not None:
            wait = max(0.01, min(wait, (due - self.clock()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)


async def run_worker(
    db: Database,
    config: IntegrationsConfig,
    stop: asyncio.Event,
    *,
    worker_id: str | None = None,
    concurrency: int = 8,
) -> WorkerStats:
    """Deliver until `stop` is set: what `dispatch worker` and `dispatch demo` run beside the console."""
    if not config.enabled():
        await stop.wait()
        return WorkerStats()
    return await Worker(db, config, worker_id=worker_id, concurrency=concurrency).run(stop=stop)
