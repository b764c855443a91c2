"""`dispatch integrations authorize hubspot`: the authorisation-code flow against a fake authorisation server."""

from __future__ import annotations

import json
import stat
import threading
import webbrowser
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from typer.testing import CliRunner

from dispatch_tui.cli.main import app

runner = CliRunner()


class FakeAuthServer(BaseHTTPRequestHandler):
    """Consent page that approves at once (or refuses), and a token endpoint that checks the code."""

    refuse = False
    token_requests: list[dict[str, str]] = []

    def do_GET(self) -> None:
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        answer = {"error": "access_denied"} if self.refuse else {"code": "the-code"}
        self.send_response(302)
        self.send_header("Location", f"{query['redirect_uri']}?{urlencode({**answer, 'state': query['state']})}")
        self.end_headers()

    def do_POST(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        type(self).token_requests.append(form)
        ok = form.get("code") == "the-code" and form.get("client_secret") == "s3cret"
        body = {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 1800} if ok else {"error": "bad"}
        data = json.dumps(body).encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def vendor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    FakeAuthServer.refuse = False
    FakeAuthServer.token_requests = []
    server = HTTPServer(("127.0.0.1", 0), FakeAuthServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    tokens = tmp_path / "tokens.json"
    config = tmp_path / "integrations.toml"
    config.write_text(
        f"""
[connectors.hubspot]
type = "hubspot"
authorize_url = "{base}/oauth/authorize"
token_url = "{base}/oauth/v1/token"
oauth_state_file = "{tokens}"
"""
    )
    monkeypatch.setenv("DISPATCH_HUBSPOT_CLIENT_ID", "client-1")
    monkeypatch.setenv("DISPATCH_HUBSPOT_CLIENT_SECRET", "s3cret")
    # The person at the browser approves: follow the consent page's redirect to the local callback.
    monkeypatch.setattr(webbrowser, "open", lambda url: httpx.get(url, follow_redirects=True, timeout=30))
    yield config, tokens
    server.shutdown()
    server.server_close()


def test_authorize_stores_the_refresh_token_privately(vendor: tuple[Path, Path]) -> None:
    config, tokens = vendor
    result = runner.invoke(app, ["integrations", "authorize", "hubspot", "--config", str(config), "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "hubspot authorised" in result.stdout and "client_id=client-1" in result.stderr
    [exchange] = FakeAuthServer.token_requests
    assert exchange["grant_type"] == "authorization_code" and exchange["redirect_uri"].endswith("/callback")
    stored = json.loads(tokens.read_text())["hubspot"]
    assert stored["refresh_token"] == "rt-1" and stored["access_token"] == "at-1" and stored["expires_at"] > 0
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600


def test_a_refusal_stores_nothing_and_exits_1(vendor: tuple[Path, Path]) -> None:
    config, tokens = vendor
    FakeAuthServer.refuse = True
    result = runner.invoke(app, ["integrations", "authorize", "hubspot", "--config", str(config), "--port", "0"])
    assert result.exit_code == 1 and "the vendor refused: access_denied" in result.stderr
    assert FakeAuthServer.token_requests == [] and not tokens.exists()


def test_missing_client_secret_is_a_message_not_a_traceback(vendor: tuple[Path, Path], monkeypatch: Any) -> None:
    config, _tokens = vendor
    monkeypatch.delenv("DISPATCH_HUBSPOT_CLIENT_SECRET")
    result = runner.invoke(app, ["integrations", "authorize", "hubspot", "--config", str(config), "--port", "0"])
    assert result.exit_code == 1 and "no client_secret" in result.stderr
