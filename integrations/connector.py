"""The one small interface every connector implements: what it subscribes to, map, send, pull.

Adding a connector is one module under `integrations/connectors/` plus a mapping in the TOML config.
The delivery engine (`integrations/delivery/`) owns retries, ordering and dead letters; a connector
only turns one event into requests and reports how the receiver answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from data.db import Database
from data.feed import EventRecord

if TYPE_CHECKING:
    from data.services.crm_sync import SyncCounts


class Outcome(StrEnum):
    DELIVERED = "delivered"  # the receiver acknowledged the effect
    RETRY = "retry"  # transient: 5xx, 429, timeout, network; try again later
    FAILED = "failed"  # permanent: 4xx validation, auth refused after refresh; dead-letter now


@dataclass(frozen=True)
class OutboundRequest:
    """Exactly what goes on the wire; `dispatch integrations preview` prints it."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    # Which vendor mechanism makes a repeat harmless (requestid, Idempotency-Key, upsert id, webhook-id).
    idempotency_key: str | None = None
    description: str = ""


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status_code: int | None = None
    response_body: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After or the vendor's own throttle signal
    external_id: str | None = None  # the id the receiver gave the record, stored as an ExternalRef
    message: str = ""


@dataclass(frozen=True)
class MappingContext:
    """Lookups a mapping may need beyond the event itself (external ids, the job's invoice draft, ...)."""

    db: Database
    connector: str
    settings: Mapping[str, Any]


@dataclass
class PullResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    cursor: str | None = None
    errors: list[str] = field(default_factory=list)

    def add(self, counts: SyncCounts) -> None:
        """Count what a data service applied: unchanged and skipped records both count as skipped."""
        self.created += counts.created
        self.updated += counts.updated
        self.skipped += counts.unchanged + counts.skipped
        self.errors.extend(counts.errors)


class Connector(Protocol):
    name: str

    def subscribes(self) -> frozenset[str]:
        """Event types this connector takes, as configured."""
        ...

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        """Turn one event into the requests to send, in order; [] means nothing to send."""
        ...

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        """Send one request and classify the answer (never raises for HTTP errors)."""
        ...

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        """Bring changes from the remote system in (customers, payments, absences); idempotent upserts."""
        ...
