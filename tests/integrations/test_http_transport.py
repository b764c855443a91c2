"""The worker's keep-alive transport: reuse, framing, and httpx's errors for every way a request fails."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from integrations.http_transport import KeepAliveTransport, keep_alive_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A raw TCP server on 127.0.0.1; yields its base URL and a list counting accepted connections."""
    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    srv = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", accepted
    finally:
        srv.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """One request's head and body (Content-Length framing); None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


def keep_alive_echo(extra: bytes = b"") -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            _head, body = request
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body))
            await writer.drain()

    return handle


async def test_sequential_requests_share_one_connection() -> None:
    transport = KeepAliveTransport(max_connections=4)
    async with server(keep_alive_echo()) as (url, accepted), httpx.AsyncClient(transport=transport) as client:
        bodies = [(await client.post(f"{url}/x", content=f"body {i}".encode())).text for i in range(5)]
    assert bodies == [f"body {i}" for i in range(5)]
    assert len(accepted) == 1


async def test_concurrent_requests_stay_within_the_connection_limit() -> None:
    transport = KeepAliveTransport(max_connections=3)
    async with server(keep_alive_echo()) as (url, accepted), httpx.AsyncClient(transport=transport) as client:
        answers = await asyncio.gather(*(client.post(url, content=b"%d" % i) for i in range(30)))
    assert [a.text for a in answers] == [str(i) for i in range(30)]
    assert len(accepted) <= 3


async def test_connection_close_and_chunked_answers_are_read_whole_and_not_reused() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await read_request(reader) is None:
            return
        writer.write(
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
            b"X-Id: 42\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        await writer.drain()

    async with server(handle) as (url, accepted), httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        first = await client.get(url)
        second = await client.get(url)
    assert (first.status_code, first.text, first.headers["x-id"]) == (201, "hello world", "42")
    assert second.text == "hello world"
    assert len(accepted) == 2


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    closed = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if request is None:
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # keep-alive expired on the server's side, without saying so
        await writer.wait_closed()
        closed.set()

    transport = KeepAliveTransport()
    async with server(handle) as (url, accepted), httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(url)).text == "ok"
        await closed.wait()
        [idle] = [c for conns in transport._idle.values() for c in conns]
        while not idle.reader.at_eof():  # the client's loop takes the FIN in
            await asyncio.sleep(0)
        assert (await client.get(url)).text == "ok"
    assert len(accepted) == 2


async def test_a_server_that_hangs_up_without_answering_is_a_remote_protocol_error() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with server(handle) as (url, _accepted), httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(url, content=b"x")


async def test_a_server_that_never_answers_is_a_read_timeout() -> None:
    never = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await never.wait()

    async with server(handle) as (url, _accepted):
        async with httpx.AsyncClient(transport=KeepAliveTransport(), timeout=httpx.Timeout(5, read=0.05)) as client:
            with pytest.raises(httpx.ReadTimeout) as caught:
                await client.get(url)
        never.set()
    assert caught.value.request.url == httpx.URL(url)


async def test_nothing_listening_is_a_connect_error() -> None:
    async with server(keep_alive_echo()) as (url, _accepted):
        pass  # the port is free again
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)


async def test_a_header_h11_refuses_is_a_local_protocol_error() -> None:
    transport = KeepAliveTransport()
    async with server(keep_alive_echo()) as (url, accepted), httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.LocalProtocolError):
            await client.get(url, headers={"authorization": "Bearer "})
    assert accepted in ([], [1])


async def test_a_gzip_answer_is_decoded_like_httpx_does() -> None:
    import gzip

    payload = gzip.compress(b'{"id": "ext-1"}')

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)
        )
        await writer.drain()

    async with server(handle) as (url, _accepted), httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        assert (await client.get(url)).json() == {"id": "ext-1"}


async def test_the_worker_client_keeps_httpx_transport_when_the_environment_names_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with keep_alive_client(httpx.Timeout(5), 4) as direct:
        assert isinstance(direct._transport, KeepAliveTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    async with keep_alive_client(httpx.Timeout(5), 4) as proxied:
        assert not isinstance(proxied._transport, KeepAliveTransport)
        assert any(mount is not None for mount in proxied._mounts.values())  # httpx routes https through it


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, PEM files (what a test vendor over HTTPS presents)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_https_is_verified_against_the_trusted_certificates(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(cert, key)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await keep_alive_echo()(reader, writer)
        except (ConnectionError, ssl.SSLError):
            pass  # the untrusting client hangs up during the handshake
        finally:
            writer.close()

    srv = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=server_ssl)
    url = f"https://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    try:
        trusting = KeepAliveTransport(verify=ssl.create_default_context(cafile=str(cert)))
        async with httpx.AsyncClient(transport=trusting) as client:
            assert [(await client.post(url, content=b"over tls")).text for _ in range(2)] == ["over tls"] * 2
        async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(url)  # a certificate no trusted authority signed
    finally:
        srv.close()
