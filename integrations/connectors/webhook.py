"""A signed webhook to any URL, per the Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature).

Settings in `[connectors.NAME]`: `url` (required), `secret_env` or a credentials file holding `secret`
(a `whsec_...` base64 secret, as the `standardwebhooks` package expects), optional `headers` (a table
of extra, non-secret headers). The body is `{"type", "timestamp", "data"}`; `data` is the whole event
unless `[connectors.NAME.mapping."<event type>"]` (or `mapping.default`) maps it. The webhook-id is
the delivery's idempotency key, so a receiver that remembers ids never applies a retry twice.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import httpx
from standardwebhooks import Webhook

from data.db import Database
from data.feed import EventRecord
from integrations.config import ConnectorConfig
from integrations.connector import MappingContext, OutboundRequest, PullResult, SendResult
from integrations.connectors.responses import classify, transport_failure
from integrations.mapping import ConfigError, apply_mapping


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


class WebhookConnector:
    idempotency_key_limit = 128

    def __init__(self, config: ConnectorConfig) -> None:
        self.name = config.name
        self.config = config
        self.url = str(config.require("url"))
        parsed = urlparse(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(config.where("url"), f"must be an http(s) URL, got {self.url!r}")
        headers = config.setting("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise ConfigError(config.where("headers"), 'must be a table of header = "value"')
        self.headers: dict[str, str] = dict(headers)
        try:
            self.signer = Webhook(config.secret("secret"))
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError(
                config.where("secret_env"), f"not a usable webhook secret (whsec_ + base64): {e}"
            ) from None

    def subscribes(self) -> frozenset[str]:
        return self.config.events

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        source = event.as_dict()
        rules = self.config.mapping(event.type) or self.config.mapping("default")
        data = apply_mapping(rules, source) if rules else source
        body = {"type": event.type, "timestamp": event.at.astimezone(UTC).isoformat(), "data": data}
        return [
            OutboundRequest(
                "POST",
                self.url,
                headers={"content-type": "application/json", **self.headers},
                json=body,
                description=f"{event.type} {event.subject_type} {event.subject_id} to {self.name}",
            )
        ]

    def prepare(self, request: OutboundRequest, now: datetime | None = None) -> OutboundRequest:
        """The request as it goes on the wire: exact body bytes and the signature headers."""
        if not request.idempotency_key:
            raise ValueError("a webhook needs its delivery's idempotency key as webhook-id")
        content = request.content if request.content is not None else canonical_json(request.json)
        when = (now or datetime.now(UTC)).astimezone(UTC)
        signature = self.signer.sign(request.idempotency_key, when, content.decode())
        headers = {
            **request.headers,
            "webhook-id": request.idempotency_key,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signature,
        }
        return replace(request, headers=headers, content=content, json=None)

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        wire = self.prepare(request)
        try:
            response = await client.request(wire.method, wire.url, headers=dict(wire.headers), content=wire.content)
        except (httpx.TimeoutException, httpx.TransportError) as e:
            return transport_failure(e)
        return classify(response)

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        return PullResult()  # a webhook only sends

    def check(self) -> str:
        return f"signs with the configured secret; posts to {self.url}"
