"""Scheduled pulls: each connector brings in what changed since its cursor, at its own interval.

The cursor and the time of the last pull live in `connector_cursors` (`pull_cursor`, `pulled_at`),
beside the planner's `last_seq`, so any worker can run the pulls that are due. A pull that reports
errors keeps the cursor it was given unless the connector moved it past what it did manage to read;
the upserts behind every pull are idempotent, so reading an overlap again changes nothing.
Interval: the connector's `pull_every_minutes` setting (0 turns pulls off), else the connector's
`default_pull_minutes` (15 for the CRM, accounting and payroll connectors, 0 for the others).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.exc import IntegrityError

from data.actor import SYSTEM
from data.db import Database
from data.models.base import utcnow
from data.models.deliveries import ConnectorCursor
from data.uow import UnitOfWork
from integrations.config import ConnectorConfig
from integrations.connector import Connector

log = logging.getLogger(__name__)


@dataclass
class PullOutcome:
    connector: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    cursor: str | None = None
    errors: list[str] = field(default_factory=list)


def pull_interval(connector: Connector, config: ConnectorConfig) -> timedelta | None:
    """How often this connector pulls; None when it does not."""
    minutes = config.setting("pull_every_minutes", getattr(connector, "default_pull_minutes", 0))
    try:
        value = float(minutes)
    except (TypeError, ValueError):
        from integrations.mapping import ConfigError

        raise ConfigError(config.where("pull_every_minutes"), f"must be a number of minutes, got {minutes!r}") from None
    return timedelta(minutes=value) if value > 0 else None


def cursor_state(db: Database, connector: str) -> tuple[datetime | None, datetime | None]:
    """(cursor as a time, when the last pull ran) for one connector."""
    with db.read() as s:
        row = s.get(ConnectorCursor, connector)
        if row is None:
            return None, None
        cursor = datetime.fromisoformat(row.pull_cursor) if row.pull_cursor else None
        return cursor, row.pulled_at


def save_cursor(db: Database, connector: str, cursor: str | None, at: datetime) -> None:
    for attempt in range(2):
        try:
            with UnitOfWork(db, SYSTEM) as uow:
                row = uow.session.get(ConnectorCursor, connector, with_for_update=db.dialect == "postgresql")
                if row is None:
                    row = ConnectorCursor(connector=connector)
                    uow.session.add(row)
                row.pull_cursor = cursor
                row.pulled_at = at
            return
        except IntegrityError:  # the planner created the row at the same moment: update it instead
            if attempt:
                raise


async def pull_once(db: Database, name: str, connector: Connector, client: httpx.AsyncClient) -> PullOutcome:
    """One pull from the stored cursor; the new cursor is stored even when some records were refused."""
    since, _ = cursor_state(db, name)
    started = utcnow()
    try:
        result = await connector.pull(db, since, client)
    except Exception as err:  # one connector's failure must not stop the others' pulls
        log.exception("pull of %s failed", name)
        return PullOutcome(name, cursor=since.isoformat() if since else None, errors=[f"{type(err).__name__}: {err}"])
    save_cursor(db, name, result.cursor, started)
    return PullOutcome(name, result.created, result.updated, result.skipped, result.cursor, list(result.errors))


async def pull_due(
    db: Database,
    connectors: Mapping[str, tuple[Connector, ConnectorConfig]],
    client: httpx.AsyncClient,
    now: datetime | None = None,
) -> list[PullOutcome]:
    """Run every pull whose interval has passed since its last run."""
    now = now or utcnow()
    outcomes = []
    for name, (connector, config) in connectors.items():
        interval = pull_interval(connector, config)
        if interval is None:
            continue
        _, last = cursor_state(db, name)
        if last is not None and last + interval > now:
            continue
        outcomes.append(await pull_once(db, name, connector, client))
    return outcomes
