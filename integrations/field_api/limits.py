"""Request bodies are bounded per route and refused before they are read: a 40 MB upload without a token
must not keep a technician's ping waiting. Runs outside FastAPI, ahead of parsing and authentication."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from integrations.field_api.problems import error_json

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class RouteLimit:
    method: str
    pattern: re.Pattern[str]
    max_bytes: int


def route(method: str, pattern: str, max_bytes: int) -> RouteLimit:
    return RouteLimit(method, re.compile(pattern), max_bytes)


# Small for the hot paths, larger for an offline batch, largest for a photo.
DEFAULT_LIMIT = 64 * KB
LIMITS: tuple[RouteLimit, ...] = (
    route("POST", r"^/v1/positions$", 64 * KB),
    route("POST", r"^/v1/sync$", 2 * MB),
    route("POST", r"^/v1/jobs/[^/]+/completion$", 256 * KB),
    route("POST", r"^/v1/jobs/[^/]+/files$", 12 * MB),
)
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def limit_for(method: str, path: str, limits: Sequence[RouteLimit] = LIMITS) -> int:
    for rule in limits:
        if rule.method == method and rule.pattern.match(path):
            return rule.max_bytes
    return DEFAULT_LIMIT


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class BodyLimits:
    """ASGI middleware: 401 for a `/v1` write without a token and 413 for a declared length over the limit,
    both before one byte is read; a chunked body is cut off (413) as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, protected_prefix: str = "/v1/") -> None:
        self.app = app
        self.protected_prefix = protected_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODYLESS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(self.protected_prefix) and not _header(scope, b"authorization"):
            response = error_json(401, "unauthenticated", "missing API token: send 'Authorization: Bearer <token>'")
            await response(scope, receive, send)
            return
        limit = limit_for(scope["method"], path)
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await error_json(400, "invalid_input", "Content-Length is not a number")(scope, receive, send)
                return
            if length > limit:
                await _too_large(limit)(scope, receive, send)
                return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        seen = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's own answer to a cut-off body is replaced by the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return error_json(413, "too_large", f"the request body is over this route's limit of {limit} bytes")
