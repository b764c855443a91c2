"""A failing token endpoint: an outage is retried later, only an explicit refusal is permanent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.connector import OutboundRequest, Outcome
from integrations.connectors.xero import XeroConnector
from tests.integrations.fakes.world import connector_config

BASE = "https://xero.example"


def xero(tmp_path: Path, **kw: Any) -> XeroConnector:
    config = connector_config(
        tmp_path,
        "xero",
        "xero",
        {"base_url": f"{BASE}/api.xro/2.0", "token_url": f"{BASE}/connect/token", "tenant_id": "t-1"},
        **kw,
    )
    return XeroConnector(config)


def invoice(n: int) -> OutboundRequest:
    return OutboundRequest(
        "POST", f"{BASE}/api.xro/2.0/Invoices", headers={"Idempotency-Key": f"k-{n}"}, json={"Invoices": [{}]}
    )


def vendor(token_answer: httpx.Response, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/connect/token":
            return token_answer
        return httpx.Response(401, json={"Title": "Unauthorized"})

    return httpx.MockTransport(handler)


async def test_an_outage_of_the_token_endpoint_is_retried_not_dead_lettered(tmp_path: Path) -> None:
    connector = xero(tmp_path, expires_in=-600)  # the access token expired ten minutes ago
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=vendor(httpx.Response(500, text="oops"), seen)) as client:
        results = [await connector.send(invoice(n), client) for n in range(65)]
    assert [r.outcome for r in results] == [Outcome.RETRY] * 65
    assert all("token" in (r.message or "") for r in results)
    # The expired token is never sent: the request waits for a working token endpoint.
    assert all(r.url.path == "/connect/token" for r in seen)


async def test_a_network_error_at_the_token_endpoint_is_retried(tmp_path: Path) -> None:
    connector = xero(tmp_path, expires_in=-600)

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await connector.send(invoice(1), client)
    assert result.outcome is Outcome.RETRY


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(400, json={"error": "invalid_grant"}),
        httpx.Response(400, json={"error": "invalid_client"}),
        httpx.Response(400, json={"error": "unauthorized_client"}),
        httpx.Response(401, json={"error": "nope"}),
    ],
)
async def test_an_explicit_refusal_is_permanent(tmp_path: Path, answer: httpx.Response) -> None:
    connector = xero(tmp_path, expires_in=-600)
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=vendor(answer, seen)) as client:
        result = await connector.send(invoice(1), client)
    assert result.outcome is Outcome.FAILED
    assert "authentication refused" in (result.message or "")


async def test_no_empty_bearer_header_after_a_refused_refresh(tmp_path: Path) -> None:
    connector = xero(tmp_path, access_token="", expires_in=3600)
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=vendor(httpx.Response(400, json={"error": "invalid_grant"}), seen)) as c:
        result = await connector.send(invoice(1), c)
    assert result.outcome is Outcome.FAILED and "authentication refused" in (result.message or "")
    assert all(r.url.path == "/connect/token" for r in seen)
