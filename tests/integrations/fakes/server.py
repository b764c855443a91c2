"""Serve an ASGI fake on 127.0.0.1 in a background thread, plus what every fake vendor shares.

Shared behaviour: OAuth2 bearer tokens with a refresh endpoint (a wrong or stale token gets 401),
a queue of injected faults (500, 429, throttle, timeout, malformed body) and a log of requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

CLIENT_ID = "dispatch-client"
CLIENT_SECRET = "s3cret-client"
FIRST_REFRESH_TOKEN = "refresh-0"
HANG_SECONDS = 1.5


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` on a free local port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@dataclass
class FakeVendor:
    """State shared by every fake: tokens, faults to inject, and what was received."""

    access_token: str = "token-0"
    refresh_token: str = FIRST_REFRESH_TOKEN
    issued: int = 0
    token_ttl: int = 3600
    faults: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    refused_auth: int = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def inject(self, *faults: str) -> None:
        """Queue faults for the next API requests: 500, 429, throttle, timeout, malformed, 401.

        `X-after` (e.g. `500-after`) applies the request's effect first and then answers with X, the
        case where only idempotency keys prevent a duplicate on retry.
        """
        self.faults.extend(faults)

    def expire_token(self) -> None:
        """The vendor revokes the current access token: the next call gets 401 and must refresh."""
        self.access_token = f"revoked-{self.issued}"
        self.issued += 1
        self.access_token = f"token-{self.issued}"

    async def token_endpoint(self, request: Request) -> Response:
        from urllib.parse import parse_qs

        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_ok = form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            import base64

            pair = base64.b64decode(basic[6:]).decode()
            client_ok = pair == f"{CLIENT_ID}:{CLIENT_SECRET}"
        if not client_ok:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        self.issued += 1
        self.access_token = f"token-{self.issued}"
        self.refresh_token = f"refresh-{self.issued}"  # rotated on every use, as Xero does
        return JSONResponse(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": self.token_ttl,
                "token_type": "Bearer",
            }
        )

    def authorised(self, request: Request) -> bool:
        ok = request.headers.get("authorization") == f"Bearer {self.access_token}"
        if not ok:
            self.refused_auth += 1
        return ok

    async def fault(self, request: Request, throttle: Response | None = None) -> Response | None:
        """Pop the next injected fault, if any, as the response to send instead of the real one."""
        if not self.faults or self.faults[0].endswith("-after"):
            return None
        return await self._respond(self.faults.pop(0), throttle)

    async def after_effect(self) -> Response | None:
        """A fault queued as `500-after` / `timeout-after`: the effect happened, the answer is lost."""
        if not self.faults or not self.faults[0].endswith("-after"):
            return None
        return await self._respond(self.faults.pop(0).removesuffix("-after"), None)

    async def _respond(self, kind: str, throttle: Response | None) -> Response:
        if kind == "500":
            return JSONResponse({"message": "internal error"}, status_code=500)
        if kind == "429":
            return JSONResponse({"message": "rate limited"}, status_code=429, headers={"Retry-After": "1"})
        if kind == "throttle" and throttle is not None:
            return throttle
        if kind == "timeout":
            await asyncio.sleep(HANG_SECONDS)
            return JSONResponse({"message": "too late"}, status_code=504)
        if kind == "malformed":
            return Response(b'{"truncated": ', status_code=200, media_type="application/json")
        if kind == "401":
            self.expire_token()
            return JSONResponse({"message": "token expired"}, status_code=401)
        raise ValueError(f"unknown fault {kind!r}")

    async def record(self, request: Request) -> Any:
        body = await request.body()
        data: Any = None
        if body:
            try:
                import json

                data = json.loads(body)
            except ValueError:
                data = body.decode(errors="replace")
        entry = {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "headers": dict(request.headers),
            "json": data,
            "raw": body,
        }
        self.received.append(entry)
        return data
