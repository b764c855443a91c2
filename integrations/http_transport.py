"""A lean HTTP/1.1 keep-alive transport for the delivery worker's many small requests.

httpx's default transport (httpcore over anyio) spent about 2 ms of CPU on each small request: the
pool checks every connection's socket on each request, and anyio builds its cancel scopes, events
and socket attributes anew each time. The worker sends thousands of small JSON bodies to a handful of
hosts, so this transport keeps it simple: per origin, a stack of idle connections (asyncio streams
with h11), one write per request (headers and body together), the response read whole.

It is an `httpx.AsyncBaseTransport`, so connectors see an ordinary `httpx.AsyncClient`. httpx reads proxies
from the environment only for its own transport, so `keep_alive_client` keeps httpx's transport when the
environment names a proxy. Errors are httpx's: ConnectTimeout/ReadTimeout/WriteTimeout/PoolTimeout,
ConnectError/ReadError/WriteError and RemoteProtocolError/LocalProtocolError, each carrying its request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import h11
import httpx

READ_CHUNK = 64 * 1024


class _Body(httpx.AsyncByteStream):
    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    idle_since: float = 0.0

    def usable(self, now: float, expiry: float) -> bool:
        """Still open, not closed by the other side meanwhile, and not idle past the keep-alive expiry."""
        return (
            now - self.idle_since < expiry
            and not self.writer.is_closing()
            and not self.reader.at_eof()
            and not self.reader._buffer  # type: ignore[attr-defined]  # bytes nobody asked for: not reusable
        )

    def close(self) -> None:
        self.writer.close()


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    return dict(request.extensions.get("timeout") or {})


def _error(kind: type[httpx.TransportError], e: BaseException, request: httpx.Request) -> httpx.TransportError:
    return kind(str(e) or type(e).__name__, request=request)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with keep-alive; `max_connections` requests in flight at once."""

    def __init__(
        self,
        *,
        max_connections: int = 100,
        max_keepalive_connections: int | None = None,
        keepalive_expiry: float = 5.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._keep = max_keepalive_connections if max_keepalive_connections is not None else max_connections
        self._expiry = keepalive_expiry
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}", request=request)
        timeouts = _timeouts(request)
        body = await request.aread()
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as e:
            raise _error(httpx.PoolTimeout, e, request) from None
        try:
            return await self._exchange(request, body, timeouts)
        finally:
            self._slots.release()

    async def _exchange(self, request: httpx.Request, body: bytes, timeouts: dict[str, float | None]) -> httpx.Response:
        url = request.url
        origin = (url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
        conn = self._take_idle(origin)
        if conn is None:
            conn = await self._connect(request, origin, timeouts.get("connect"))
        try:
            response = await self._send(conn, request, body, timeouts)
        except BaseException:
            conn.close()
            raise
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE and not self._closed:
            conn.h11.start_next_cycle()
            conn.idle_since = time.monotonic()
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._keep:
                idle.append(conn)
            else:
                conn.close()
        else:
            conn.close()
        return response

    def _take_idle(self, origin: tuple[bytes, bytes, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now, self._expiry):
                return conn
            conn.close()
        return None

    async def _connect(
        self, request: httpx.Request, origin: tuple[bytes, bytes, int], timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        name = host.decode("ascii")
        try:
            async with asyncio.timeout(timeout):
                if scheme == b"https":
                    reader, writer = await asyncio.open_connection(name, port, ssl=self._ssl, server_hostname=name)
                else:
                    reader, writer = await asyncio.open_connection(name, port)
        except TimeoutError as e:
            raise _error(httpx.ConnectTimeout, e, request) from None
        except (OSError, ssl.SSLError) as e:
            raise _error(httpx.ConnectError, e, request) from None
        return _Connection(reader, writer)

    async def _send(
        self, conn: _Connection, request: httpx.Request, body: bytes, timeouts: dict[str, float | None]
    ) -> httpx.Response:
        headers = list(request.headers.raw)
        try:
            data = conn.h11.send(
                h11.Request(method=request.method.encode(), target=request.url.raw_path, headers=headers)
            )
            if body:
                data = (data or b"") + (conn.h11.send(h11.Data(data=body)) or b"")
            data = (data or b"") + (conn.h11.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError as e:
            raise _error(httpx.LocalProtocolError, e, request) from None
        try:
            conn.writer.write(data)
            async with asyncio.timeout(timeouts.get("write")):
                await conn.writer.drain()
        except TimeoutError as e:
            raise _error(httpx.WriteTimeout, e, request) from None
        except OSError as e:
            raise _error(httpx.WriteError, e, request) from None
        return await self._receive(conn, request, timeouts.get("read"))

    async def _receive(self, conn: _Connection, request: httpx.Request, timeout: float | None) -> httpx.Response:
        head: h11.Response | None = None
        chunks: list[bytes] = []
        while True:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError as e:
                raise _error(httpx.RemoteProtocolError, e, request) from None
            if event is h11.NEED_DATA:
                try:
                    async with asyncio.timeout(timeout):
                        chunk = await conn.reader.read(READ_CHUNK)
                except TimeoutError as e:
                    raise _error(httpx.ReadTimeout, e, request) from None
                except OSError as e:
                    raise _error(httpx.ReadError, e, request) from None
                if not chunk and head is None and conn.h11.their_state is h11.SEND_RESPONSE:
                    raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
                conn.h11.receive_data(chunk)
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError("Server disconnected before the response ended.", request=request)
            # h11.InformationalResponse (1xx): keep reading for the final answer
        assert head is not None
        extensions: dict[str, Any] = {"http_version": b"HTTP/" + head.http_version, "reason_phrase": head.reason}
        return httpx.Response(
            head.status_code,
            headers=list(head.headers.raw_items()),
            stream=_Body(b"".join(chunks)),
            extensions=extensions,
            request=request,
        )

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def keep_alive_client(timeout: httpx.Timeout, max_connections: int) -> httpx.AsyncClient:
    """The worker's one client: this transport, or httpx's own when a proxy is configured in the environment."""
    proxies = urllib.request.getproxies()
    if any(proxies.get(scheme) for scheme in ("http", "https", "all")):
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return httpx.AsyncClient(timeout=timeout, limits=limits)
    return httpx.AsyncClient(timeout=timeout, transport=KeepAliveTransport(max_connections=max_connections))
