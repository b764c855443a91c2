"""What an operator watches: readiness, Prometheus metrics and the delivery backlog, in one place.

The field API (`/metrics`, `/readyz`), the worker (`--metrics-port`) and `dispatch status` all read the
backlog through `backlog()`, so a dashboard and a terminal never disagree about what is pending or dead.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from data.db import Database
from data.models.base import utcnow
from data.models.deliveries import Delivery, DeliveryStatus
from data.services.solves import SolveRecord, recent_solves


@dataclass(frozen=True)
class Backlog:
    """Deliveries by state, how long the oldest pending one has waited, and the dead letters."""

    by_status: dict[str, int] = field(default_factory=dict)
    oldest_pending_at: datetime | None = None
    now: datetime = field(default_factory=utcnow)

    @property
    def oldest_pending_seconds(self) -> float:
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (self.now - self.oldest_pending_at).total_seconds())

    @property
    def dead(self) -> int:
        return self.by_status.get(DeliveryStatus.DEAD.value, 0)


def backlog(db: Database) -> Backlog:
    counts = {s.value: 0 for s in DeliveryStatus}
    with db.read() as session:
        for status, n in session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)):
            counts[status.value] = int(n)
        oldest = session.scalar(
            select(func.min(Delivery.created_at)).where(
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT])
            )
        )
    return Backlog(counts, oldest)


def database_ready(db: Database) -> str | None:
    """None when the database answers; else why not (for /readyz and `dispatch status`)."""
    try:
        with db.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as e:  # any driver error means "not ready", reported, never raised
        return f"database unreachable: {type(e).__name__}"
    return None


class BacklogCollector(Collector):
    """Reads the backlog at scrape time, so every process reports the shared database's truth."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        current = backlog(self.db)
        states = GaugeMetricFamily("dispatch_deliveries", "Deliveries by state", labels=["state"])
        for state, n in sorted(current.by_status.items()):
            states.add_metric([state], n)
        yield states
        yield GaugeMetricFamily(
            "dispatch_oldest_pending_delivery_seconds",
            "Age of the oldest delivery not yet delivered",
            value=current.oldest_pending_seconds,
        )
        yield GaugeMetricFamily("dispatch_dead_letters", "Deliveries that gave up", value=current.dead)


@dataclass(frozen=True)
class BranchSolves:
    """One branch's solves over the last day: how many by status, how long, how often cut short."""

    branch: str
    by_status: dict[str, int]
    last_seconds: float
    max_seconds: float
    total_seconds: float
    cut_short: int

    @property
    def count(self) -> int:
        return sum(self.by_status.values())


def solves_by_branch(records: list[SolveRecord]) -> list[BranchSolves]:
    grouped: dict[str, list[SolveRecord]] = {}
    for record in records:
        grouped.setdefault(record.branch, []).append(record)
    result = []
    for branch, runs in sorted(grouped.items()):
        by_status: dict[str, int] = {}
        for run in runs:
            by_status[run.status] = by_status.get(run.status, 0) + 1
        result.append(
            BranchSolves(
                branch,
                by_status,
                runs[-1].seconds,
                max(r.seconds for r in runs),
                sum(r.seconds for r in runs),
                sum(1 for r in runs if r.time_limit_reached),
            )
        )
    return result


class SolveCollector(Collector):
    """Solve times from the event log, read at scrape time: solves run in short-lived processes too."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        branches = solves_by_branch(recent_solves(self.db))
        counts = GaugeMetricFamily(
            "dispatch_solves_24h", "Solves in the last 24 hours by status", labels=["branch", "status"]
        )
        total = GaugeMetricFamily(
            "dispatch_solve_seconds_24h", "Seconds spent solving in the last 24 hours", labels=["branch"]
        )
        longest = GaugeMetricFamily(
            "dispatch_solve_seconds_max_24h", "The longest solve of the last 24 hours", labels=["branch"]
        )
        last = GaugeMetricFamily("dispatch_last_solve_seconds", "How long the latest solve took", labels=["branch"])
        cut = GaugeMetricFamily(
            "dispatch_solves_cut_short_24h",
            "Solves stopped by their time limit in the last 24 hours",
            labels=["branch"],
        )
        for b in branches:
            for status, n in sorted(b.by_status.items()):
                counts.add_metric([b.branch, status], n)
            total.add_metric([b.branch], b.total_seconds)
            longest.add_metric([b.branch], b.max_seconds)
            last.add_metric([b.branch], b.last_seconds)
            cut.add_metric([b.branch], b.cut_short)
        yield from (counts, total, longest, last, cut)


def backlog_registry(db: Database) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(BacklogCollector(db))
    registry.register(SolveCollector(db))
    return registry


class RequestMetrics:
    """Request counts and latencies of an ASGI app, labelled by route template (not by raw path)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "dispatch_http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "dispatch_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


Receive = Callable[[], Awaitable[dict[str, object]]]
Send = Callable[[dict[str, object]], Awaitable[None]]


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task, unlike BaseHTTPMiddleware): time each HTTP request."""

    def __init__(self, app: Callable[..., Awaitable[None]], metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, object], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: dict[str, object]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])  # type: ignore[call-overload]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = str(getattr(route, "path", "unmatched"))
            self.metrics.observe(str(scope["method"]), template, status, time.perf_counter() - started)
