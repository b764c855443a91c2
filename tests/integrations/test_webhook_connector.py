"""The signed webhook: Standard Webhooks signatures a verifier accepts, and how answers are classified."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from data.feed import EventRecord
from integrations.config import parse_config
from integrations.connector import MappingContext, OutboundRequest, Outcome
from integrations.connectors.webhook import WebhookConnector
from integrations.mapping import ConfigError
from tests.integrations.fake_receiver import SECRET, SECRET_ENV

EVENT = EventRecord(
    9,
    datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
    "job.completed",
    "job",
    "7",
    {"ref": "J7", "hours": "2.0"},
    "dana",
    "api",
)


def connector(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> WebhookConnector:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    table = {"type": "webhook", "url": "https://crm.example.test/hooks", "secret_env": SECRET_ENV, **extra}
    return WebhookConnector(parse_config({"connectors": {"crm": table}}).connector("crm"))


def mapped(c: WebhookConnector) -> OutboundRequest:
    from dataclasses import replace

    (request,) = c.map(EVENT, MappingContext(None, "crm", {}))  # type: ignore[arg-type]
    return replace(request, idempotency_key="dispatch-crm-9-0")


def test_signature_verifies_with_the_standard_verifier_and_a_tampered_body_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = connector(monkeypatch, events=["job.completed"], headers={"x-tenant": "acme"})
    wire = c.prepare(mapped(c))
    headers = dict(wire.headers)
    assert headers["webhook-id"] == "dispatch-crm-9-0" and headers["x-tenant"] == "acme"
    assert wire.content is not None
    payload = Webhook(SECRET).verify(wire.content, headers)
    assert payload["type"] == "job.completed" and payload["data"]["payload"]["ref"] == "J7"
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(SECRET).verify(wire.content.replace(b"J7", b"J8"), headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + "b3RoZXItc2VjcmV0LWtleS0zMi1ieXRlcy1sb25n").verify(wire.content, headers)


def test_mapping_shapes_data_and_secrets_stay_out_of_the_stored_request(monkeypatch: pytest.MonkeyPatch) -> None:
    c = connector(monkeypatch, mapping={"job.completed": {"job": "payload.ref", "source": {"const": "dispatch"}}})
    request = mapped(c)
    assert request.json["data"] == {"job": "J7", "source": "dispatch"}
    assert SECRET not in json.dumps(request.json) and SECRET not in json.dumps(dict(request.headers))


async def answer(c: WebhookConnector, handler: Any) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await c.send(mapped(c), client)


@pytest.mark.parametrize(
    ("status", "headers", "outcome", "retry_after"),
    [
        (200, {}, Outcome.DELIVERED, None),
        (204, {}, Outcome.DELIVERED, None),
        (429, {"retry-after": "12"}, Outcome.RETRY, 12.0),
        (503, {}, Outcome.RETRY, None),
        (500, {}, Outcome.RETRY, None),
        (400, {}, Outcome.FAILED, None),
        (410, {}, Outcome.FAILED, None),
    ],
)
async def test_answers_are_classified(
    monkeypatch: pytest.MonkeyPatch, status: int, headers: dict[str, str], outcome: Outcome, retry_after: float | None
) -> None:
    c = connector(monkeypatch)
    result = await answer(c, lambda request: httpx.Response(status, headers=headers, text="{not json"))
    assert (result.outcome, result.status_code, result.retry_after) == (outcome, status, retry_after)
    assert result.response_body == "{not json"


async def test_timeouts_and_refused_connections_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    c = connector(monkeypatch)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert (await answer(c, slow)).outcome is Outcome.RETRY
    assert (await answer(c, refused)).outcome is Outcome.RETRY


def test_bad_settings_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"connectors\.crm\.url: must be an http\(s\) URL"):
        connector(monkeypatch, url="ftp://x")
    monkeypatch.delenv(SECRET_ENV, raising=False)
    table = {"type": "webhook", "url": "https://x.test", "secret_env": "NOT_SET_ANYWHERE"}
    with pytest.raises(ConfigError, match=r"connectors\.crm\.secret_env: environment variable NOT_SET_ANYWHERE"):
        WebhookConnector(parse_config({"connectors": {"crm": table}}).connector("crm"))
