"""Store an OutboundRequest as JSON on its delivery and read it back exactly, bytes included."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from integrations.connector import OutboundRequest

DEFAULT_KEY_LIMIT = 128  # Xero's Idempotency-Key limit; QuickBooks' requestid allows 50


def idempotency_key(connector: str, event_seq: int, index: int, limit: int = DEFAULT_KEY_LIMIT, replay: int = 0) -> str:
    """Stable per delivery, so every retry carries the same key; shortened with a hash past the vendor's limit."""
    key = f"dispatch-{connector}-{event_seq}-{index}" + (f"-r{replay}" if replay else "")
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return f"{key[: limit - 11]}-{digest}"


def encode_request(request: OutboundRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "headers": dict(request.headers),
        "json": request.json,
        "content": base64.b64encode(request.content).decode() if request.content is not None else None,
        "params": dict(request.params),
        "idempotency_key": request.idempotency_key,
        "description": request.description,
    }


def decode_request(data: dict[str, Any]) -> OutboundRequest:
    content = data.get("content")
    return OutboundRequest(
        method=data["method"],
        url=data["url"],
        headers=dict(data.get("headers") or {}),
        json=data.get("json"),
        content=base64.b64decode(content) if content is not None else None,
        params=dict(data.get("params") or {}),
        idempotency_key=data.get("idempotency_key"),
        description=data.get("description") or "",
    )
