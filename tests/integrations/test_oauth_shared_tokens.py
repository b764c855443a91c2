"""Several workers share one rotating, single-use refresh token through the database: none dead-letters."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from data.db import Database
from data.models.deliveries import OAuthToken
from integrations.connector import OutboundRequest, Outcome, SendResult
from integrations.connectors.xero import XeroConnector
from integrations.secrets import CredentialsError
from integrations.token_vault import KEY_ENV, load_key, share_tokens
from tests.integrations.fakes.world import FIRST_REFRESH_TOKEN, connector_config

BASE = "https://xero.example"


class Vendor:
    """Refresh tokens are single-use and rotate; access tokens are revoked at will."""

    def __init__(self) -> None:
        self.refresh_token = FIRST_REFRESH_TOKEN
        self.access_token = "token-0"
        self.issued = 0
        self.refusals = 0
        self.invoices: set[str] = set()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let other workers interleave
        if request.url.path == "/connect/token":
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            if form.get("refresh_token") != self.refresh_token:
                self.refusals += 1
                return httpx.Response(400, json={"error": "invalid_grant"})
            self.issued += 1
            self.access_token, self.refresh_token = f"token-{self.issued}", f"refresh-{self.issued}"
            return httpx.Response(
                200, json={"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_in": 1800}
            )
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return httpx.Response(401, json={"Title": "Unauthorized"})
        key = request.headers["Idempotency-Key"]
        self.invoices.add(key)
        return httpx.Response(200, json={"Invoices": [{"InvoiceID": f"inv-{key}"}]})


def invoice(n: int) -> OutboundRequest:
    return OutboundRequest(
        "POST", f"{BASE}/api.xro/2.0/Invoices", headers={"Idempotency-Key": f"k-{n}"}, json={"Invoices": [{}]}
    )


async def test_three_workers_share_single_use_refresh_tokens(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    vendor = Vendor()
    settings = {"base_url": f"{BASE}/api.xro/2.0", "token_url": f"{BASE}/connect/token", "tenant_id": "t-1"}
    config = connector_config(tmp_path, "xero", "xero", settings)
    workers = [XeroConnector(config) for _ in range(3)]  # three processes, each with its own memory
    assert share_tokens(db, workers) == 3
    results: list[SendResult] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(vendor)) as client:
        for round_ in range(9):
            vendor.access_token = f"revoked-{round_}"  # the access token expires: every worker gets a 401
            batch = [w.send(invoice(round_ * 10 + i), client) for i, w in enumerate(workers) for _ in range(3)]
            results += await asyncio.gather(*batch)
    assert [r.outcome for r in results if r.outcome is not Outcome.DELIVERED] == []
    assert len(results) == 81 and vendor.refusals == 0 and vendor.issued == 9
    with db.read() as s:
        (ciphertext,) = s.scalars(select(OAuthToken.ciphertext)).all()
    assert vendor.refresh_token not in ciphertext and "refresh" not in ciphertext  # encrypted at rest


def test_a_key_file_is_created_0600_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    first = load_key(environ={}, key_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(environ={}, key_file=path).decrypt(first.encrypt(b"x")) == b"x"  # the same key next time
    os.chmod(path, 0o644)
    with pytest.raises(CredentialsError, match="readable by others"):
        load_key(environ={}, key_file=path)


async def test_the_tokens_file_moves_into_the_database_on_first_use(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    vendor = Vendor()
    vendor.refresh_token = "refresh-from-file"
    settings = {"base_url": f"{BASE}/api.xro/2.0", "token_url": f"{BASE}/connect/token", "tenant_id": "t-1"}
    config = connector_config(tmp_path, "xero", "xero", settings)
    state = tmp_path / "xero-oauth.json"
    state.write_text(
        json.dumps(
            {
                "xero": {
                    "refresh_token": "refresh-from-file",
                    "access_token": "old",
                    "seed_refresh_token": FIRST_REFRESH_TOKEN,
                }
            }
        )
    )
    state.chmod(0o600)
    worker = XeroConnector(config)
    share_tokens(sqlite_db, [worker])
    vendor.access_token = "revoked"
    async with httpx.AsyncClient(transport=httpx.MockTransport(vendor)) as client:
        assert (await worker.send(invoice(1), client)).outcome is Outcome.DELIVERED
    assert vendor.refusals == 0
    again = XeroConnector(config)
    share_tokens(sqlite_db, [again])
    assert again.auth.vault is not None and again.auth.vault.load("xero")["refresh_token"] == "refresh-1"


async def test_integrations_check_uses_the_tokens_the_workers_rotated(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `dispatch integrations check` beside running workers must not spend the refresh token they used up."""
    from dispatch_tui.cli.commands import integrations as integrations_cli

    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    vendor = Vendor()
    settings = {"base_url": f"{BASE}/api.xro/2.0", "token_url": f"{BASE}/connect/token", "tenant_id": "t-1"}
    config = connector_config(tmp_path, "xero", "xero", settings)
    worker = XeroConnector(config)
    share_tokens(db, [worker])
    async with httpx.AsyncClient(transport=httpx.MockTransport(vendor)) as client:
        vendor.access_token = "revoked"
        assert (await worker.send(invoice(1), client)).outcome is Outcome.DELIVERED  # the worker rotated it
        monkeypatch.setattr(integrations_cli, "db", lambda: db)
        checking = XeroConnector(config)  # another process: the token file still holds the first refresh token
        assert integrations_cli.shared_tokens(checking)
        assert (await checking.send(invoice(2), client)).outcome is Outcome.DELIVERED
    assert vendor.refusals == 0 and vendor.issued == 1
