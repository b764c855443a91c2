"""What a vendor's HTTP answer means for a delivery: delivered, retry later (and when), or failed for good.

Each vendor connector starts from `classify` and adds its own quirks (Salesforce throttles with a
403, QuickBooks reports faults inside an HTTP 200).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from integrations.connector import OutboundRequest, Outcome, SendResult
from integrations.oauth import TokenRefreshError

BODY_KEPT_CHARS = 4000
DEFAULT_THROTTLE_SECONDS = 60.0


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header, given as seconds or as an HTTP date; None when absent or garbled."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def body_text(response: httpx.Response) -> str:
    try:
        return response.text[:BODY_KEPT_CHARS]
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return repr(response.content[:BODY_KEPT_CHARS])


def json_body(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is empty or malformed."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def classify(response: httpx.Response, *, external_id: str | None = None, what: str = "") -> SendResult:
    """The common rules: 2xx delivered; 408/429/5xx retry (honouring Retry-After); other 4xx failed."""
    status = response.status_code
    body = body_text(response)
    if 200 <= status < 300:
        return SendResult(Outcome.DELIVERED, status, body, external_id=external_id, message=what)
    if status == 429:
        wait = retry_after_seconds(response.headers)
        return SendResult(
            Outcome.RETRY,
            status,
            body,
            retry_after=wait if wait is not None else DEFAULT_THROTTLE_SECONDS,
            message="throttled by the receiver",
        )
    if status == 408 or status >= 500:
        return SendResult(
            Outcome.RETRY, status, body, retry_after=retry_after_seconds(response.headers), message="receiver error"
        )
    if status == 401:
        return SendResult(Outcome.FAILED, status, body, message="authentication refused even after a token refresh")
    return SendResult(Outcome.FAILED, status, body, message=f"request refused with HTTP {status}")


def transport_failure(err: Exception) -> SendResult:
    """Timeouts and network errors never reached a verdict: try again later."""
    kind = "timed out" if isinstance(err, httpx.TimeoutException) else "network error"
    return SendResult(Outcome.RETRY, None, None, message=f"{kind}: {type(err).__name__}: {err}")


def malformed(response: httpx.Response, what: str) -> SendResult:
    """A success status whose body cannot be read: the effect may exist, and a repeat is harmless, so retry."""
    return SendResult(Outcome.RETRY, response.status_code, body_text(response), message=f"malformed answer from {what}")


async def send_request(client: httpx.AsyncClient, request: OutboundRequest, auth: httpx.Auth | None) -> httpx.Response:
    """Put an OutboundRequest on the wire exactly as previewed."""
    return await client.request(
        request.method,
        request.url,
        headers=dict(request.headers),
        params=dict(request.params) if request.params else None,
        json=request.json if request.content is None else None,
        content=request.content,
        auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
    )


def refresh_failed(err: TokenRefreshError) -> SendResult:
    """No usable token: an outage of the token endpoint is retried, an explicit refusal is final."""
    return SendResult(Outcome.RETRY if err.transient else Outcome.FAILED, err.status_code, None, message=str(err))


async def guarded(attempt: Callable[[], Awaitable[SendResult]]) -> SendResult:
    """Run one send attempt, turning transport and token errors into a verdict instead of an exception."""
    try:
        return await attempt()
    except (httpx.TimeoutException, httpx.TransportError) as err:
        return transport_failure(err)
    except TokenRefreshError as err:
        return refresh_failed(err)


def utc_iso(value: datetime) -> str:
    """An aware datetime as `YYYY-MM-DDTHH:MM:SSZ`, the form every vendor here accepts."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
