"""Scheduled pulls keep a cursor per connector, run when due, and survive a failing vendor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from data.db import Database
from integrations.connectors.hubspot import HubSpotConnector
from integrations.pulls import cursor_state, pull_due, pull_interval
from tests.factories import build_world
from tests.integrations.fakes.hubspot import HubSpotState, build_app
from tests.integrations.fakes.server import serve
from tests.integrations.fakes.world import connector_config


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[HubSpotState, str]]:
    state = HubSpotState()
    with serve(build_app(state)) as url:
        yield state, url


async def test_pulls_run_when_due_and_move_the_cursor(
    sqlite_db: Database, fake: tuple[HubSpotState, str], tmp_path: Path
) -> None:
    state, url = fake
    state.reset()
    build_world(sqlite_db)
    config = connector_config(
        tmp_path, "crm", "hubspot", {"base_url": url, "token_url": f"{url}/oauth/v1/token", "pull_every_minutes": 10}
    )
    connector = HubSpotConnector(config)
    assert pull_interval(connector, config) == timedelta(minutes=10)
    state.add_crm("companies", {"name": "Acme Oy", "hs_lastmodifieddate": "2026-11-25T08:00:00Z"})
    connectors = {"crm": (connector, config)}
    now = datetime.now(UTC)
    async with httpx.AsyncClient(timeout=5) as client:
        first = await pull_due(sqlite_db, connectors, client, now)
        not_yet = await pull_due(sqlite_db, connectors, client, now + timedelta(minutes=5))
        state.inject("500")
        failed = await pull_due(sqlite_db, connectors, client, now + timedelta(minutes=30))
        cursor_after_failure, _ = cursor_state(sqlite_db, "crm")
        again = await pull_due(sqlite_db, connectors, client, now + timedelta(minutes=60))
    assert [o.created for o in first] == [1] and not_yet == []
    assert failed[0].errors and "HTTP 500" in failed[0].errors[0]
    assert cursor_after_failure == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # kept, not lost
    assert again[0].created == 0 and again[0].errors == []


def test_pull_interval_off_and_invalid(fake: tuple[HubSpotState, str], tmp_path: Path) -> None:
    from integrations.mapping import ConfigError

    url = fake[1]
    off = connector_config(tmp_path, "crm", "hubspot", {"base_url": url, "pull_every_minutes": 0})
    assert pull_interval(HubSpotConnector(off), off) is None
    bad = connector_config(tmp_path, "crm", "hubspot", {"base_url": url, "pull_every_minutes": "often"})
    with pytest.raises(ConfigError, match="pull_every_minutes"):
        pull_interval(HubSpotConnector(bad), bad)
